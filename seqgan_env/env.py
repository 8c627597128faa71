"""SeqGAN as a Gymnasium environment: :class:`SeqGANEnv` and its native batched twin :class:`SeqGANVectorEnv`.

Laid out like Gymnasium's ``cartpole.py`` (``CartPoleEnv`` beside ``CartPoleVectorEnv``). Registered at
``import seqgan_env`` as ``SeqGAN-v0`` (the paper's oracle task) and ``SeqGAN-tiny-v0`` (a small one), with
``gym.make`` building :class:`SeqGANEnv` and ``gym.make_vec`` building :class:`SeqGANVectorEnv`.
User documentation: ``docs/env.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from .discriminator import Discriminator
from .generator import Generator
from .oracle import make_oracle
from .presets import ORACLE_SEED, PRESETS
from .rewards import RolloutReward

__all__ = ["SeqGANEnv", "SeqGANVectorEnv", "REWARD_MODES"]

REWARD_MODES: tuple[str, ...] = ("mc", "terminal", "shaped")
_SEED_BOUND = 2**62  # every rollout seed is int(np_random.integers(2**62))

RewardMode = Literal["mc", "terminal", "shaped"]


# ---------------------------------------------------------------------------------------------- shared set-up
@dataclass
class _Task:
    generator: Generator
    discriminator: Discriminator
    reward_fn: RolloutReward
    oracle: Generator | None
    vocab_size: int
    seq_len: int
    device: torch.device
    vocab: list[str] | None
    char_vocab: bool


def _pick(name: str, given: int | None, *found: tuple[str, int]) -> int | None:
    """The size a model fixes (all must agree with each other and with the kwarg), or the kwarg."""
    for what, value in found:
        if given is not None and value != given:
            raise ValueError(
                f"{name}={given} but the {what} has {name} {value}; drop {name}= or pass a {what} built for {given}."
            )
        given = value
    return given


def _build_task(
    *,
    preset: str,
    vocab_size: int | None,
    seq_len: int | None,
    generator: Generator | None,
    discriminator: Discriminator | None,
    reward_fn: RolloutReward | None,
    num_rollouts: int,
    rollout_policy: str,
    reward_backend: str,
    device: str | torch.device,
    seed: int | None,
    oracle_params: Any,
    vocab: Any,
) -> _Task:
    if preset not in PRESETS:
        raise ValueError(f"preset={preset!r} is unknown; choose one of {sorted(PRESETS)}.")
    p = PRESETS[preset]
    if reward_fn is not None:
        if not isinstance(reward_fn, RolloutReward):
            raise ValueError(f"reward_fn must be a seqgan_env.rewards.RolloutReward, got {type(reward_fn).__name__}.")
        for what, given, own in (
            ("generator", generator, reward_fn.generator),
            ("discriminator", discriminator, reward_fn.discriminator),
        ):
            if given is not None and given is not own:
                raise ValueError(
                    f"both reward_fn and a different {what} were passed; pass only reward_fn (its {what} is used)."
                )
        generator, discriminator = reward_fn.generator, reward_fn.discriminator
    if generator is not None and discriminator is not None and generator.vocab_size != discriminator.vocab_size:
        raise ValueError(
            f"generator vocab_size {generator.vocab_size} != discriminator vocab_size {discriminator.vocab_size}; "
            "build both with the same vocabulary."
        )
    found_v = [(w, m.vocab_size) for w, m in (("generator", generator), ("discriminator", discriminator)) if m]
    found_t = [(w, m.seq_len) for w, m in (("generator", generator), ("discriminator", discriminator)) if m]
    v = _pick("vocab_size", vocab_size, *found_v)
    t = _pick("seq_len", seq_len, *found_t)
    v = p.vocab_size if v is None else int(v)
    t = p.seq_len if t is None else int(t)
    dev = torch.device(device)
    for what, m in (("generator", generator), ("discriminator", discriminator)):
        if m is not None and m.device != dev:
            raise ValueError(
                f"the {what} is on {m.device} but device={str(dev)!r}; pass device={str(m.device)!r} "
                f"or move the {what} with .to({str(dev)!r})."
            )
    gen_cfg = p.generator_config(v, t)

    oracle = None
    if generator is None or oracle_params is not None:
        use_env = p.use_oracle_env_var and v == PRESETS["oracle"].vocab_size
        oracle = make_oracle(oracle_params, config=gen_cfg, seed=ORACLE_SEED, use_env=use_env).to(dev)
    gen_seed, disc_seed = (int(x) for x in np.random.SeedSequence(0 if seed is None else int(seed)).generate_state(2))
    if generator is None:
        generator = Generator(gen_cfg, seed=gen_seed).to(dev)
    if discriminator is None:
        discriminator = Discriminator(p.discriminator_config(v, t), seed=disc_seed).to(dev)
    if reward_fn is None:
        reward_fn = RolloutReward(
            generator, discriminator, num_rollouts, rollout_policy=rollout_policy, backend=reward_backend  # type: ignore[arg-type]
        )

    char_vocab = False
    if vocab is not None:
        char_vocab = bool(getattr(vocab, "char", False))
        table = getattr(vocab, "tokens", vocab)
        if isinstance(table, str) or not isinstance(table, Sequence) or not all(isinstance(x, str) for x in table):
            raise ValueError("vocab must be a sequence of strings (id -> token text) or an object with .tokens.")
        if len(table) != v:
            raise ValueError(f"vocab has {len(table)} entries but vocab_size is {v}; give one string per token id.")
        vocab = list(table)
    return _Task(generator, discriminator, reward_fn, oracle, v, t, dev, vocab, char_vocab)


def _check_reward_mode(reward_mode: str) -> None:
    if reward_mode not in REWARD_MODES:
        raise ValueError(f"reward_mode={reward_mode!r}; choose one of {list(REWARD_MODES)}.")


def _check_render_mode(render_mode: str | None, modes: list[str]) -> None:
    if render_mode is not None and render_mode not in modes:
        raise ValueError(f"render_mode={render_mode!r} is not supported; use one of {modes} or None.")


def _action_to_int(action: Any, vocab_size: int) -> int:
    """Validate one action (int, numpy integer, 0-d integer array or tensor) and return it as int."""
    hint = f"pass one token id, an int in [0, {vocab_size})"
    if isinstance(action, torch.Tensor):
        action = action.detach().cpu().numpy()
    if isinstance(action, (bool, np.bool_)):
        raise ValueError(f"action {action!r} is a bool, not a token id; {hint}.")
    if isinstance(action, (int, np.integer)):
        value = int(action)
    elif isinstance(action, (float, np.floating)):
        what = "NaN" if math.isnan(action) else f"the float {action!r}"
        raise ValueError(f"action is {what}; {hint} (e.g. int(action) for an integral float).")
    elif isinstance(action, np.ndarray):
        if action.dtype.kind == "f" and np.isnan(action).any():
            raise ValueError(f"action {action!r} contains NaN; {hint}.")
        if action.dtype.kind not in "iu":
            raise ValueError(f"action has dtype {action.dtype}; {hint} (integer dtype).")
        if action.shape != ():
            raise ValueError(
                f"action has shape {action.shape}; {hint}: a scalar, e.g. int(action.item()) for a 1-element array "
                "(batches of actions go to SeqGANVectorEnv)."
            )
        value = int(action)
    else:
        raise ValueError(f"action {action!r} of type {type(action).__name__} is not a token id; {hint}.")
    if not 0 <= value < vocab_size:
        raise ValueError(f"action {value} is outside the action space Discrete({vocab_size}); {hint}.")
    return value


def _render_row(tokens: np.ndarray, position: int, seq_len: int, vocab: list[str] | None, char: bool) -> str:
    ids = [int(x) for x in tokens[:position]]
    if vocab is not None:
        body = ("" if char else " ").join(vocab[i] for i in ids)
    else:
        body = " ".join(str(i) for i in ids)
    rest = " ".join("_" * (seq_len - position))
    return f"[{position}/{seq_len}] {body}{' ' if body and rest else ''}{rest}"


def _values(
    reward_fn: RolloutReward, tokens: np.ndarray, lengths: np.ndarray, seeds: np.ndarray, pad: int, device: torch.device
) -> np.ndarray:
    """One batched :meth:`RolloutReward.prefix_values` call: (R, T) padded tokens -> (R,) float64 values."""
    ids = torch.from_numpy(np.where(tokens == pad, 0, tokens)).to(device)
    q = reward_fn.prefix_values(
        ids, torch.from_numpy(lengths.astype(np.int64)).to(device), row_seeds=torch.from_numpy(seeds.astype(np.int64))
    )
    return q.detach().to("cpu", torch.float64).numpy()


_KWARGS_DOC = """
    Args:
        preset: ``"oracle"`` (default; the paper's synthetic task, V = 5000, T = 20, the paper's generator and
            discriminator) or ``"tiny"`` (V = 32, T = 8, small networks; for tests and quick runs). See
            :mod:`seqgan_env.presets`. The preset only supplies what the other arguments leave open.
        vocab_size: V; overrides the preset. Must match the generator/discriminator when those are passed.
        seq_len: T, the episode length; overrides the preset. Must match passed models.
        generator: G_theta, the policy the rollouts sample from (shared by reference: train it in place and the
            rewards follow). Default: a fresh ``Generator`` for the preset's sizes, seeded from ``seed``.
        discriminator: D_phi (shared by reference). Default: a fresh ``Discriminator`` (preset sizes, seeded).
        reward_fn: a :class:`~seqgan_env.rewards.RolloutReward` to share with a trainer; its generator,
            discriminator, N, rollout policy and backend are used and ``num_rollouts``, ``rollout_policy`` and
            ``reward_backend`` are then ignored. Passing a different generator/discriminator beside it is an error.
        num_rollouts: N, Monte Carlo completions per reward (paper: 16).
        reward_mode: ``"mc"`` (paper, Q_t each step), ``"terminal"`` (D(Y) at T, 0 before) or ``"shaped"``
            (Q_t - Q_{t-1}); see the class docstring.
        rollout_policy: ``"current"`` (rollouts from G's live weights, what the reference code does) or
            ``"delayed"`` (a copy beta updated by ``env.reward_fn.update_rollout_policy()`` as
            beta <- 0.8 beta + 0.2 theta, the paper's text; the env never updates it itself).
        reward_backend: the ``RolloutReward`` backend: ``"auto"`` (the fused Triton kernel on CUDA when triton is
            installed, else ``"torch"``), ``"triton"`` (a ``ValueError`` where it cannot run) or ``"torch"`` (the
            kernel's Philox-exact PyTorch twin). ``env.reward_fn.backend`` names the one that runs.
        device: where the env builds its models and computes rewards; passed models must already be there.
        seed: seeds the models the env builds (generator and discriminator via ``np.random.SeedSequence(seed)``;
            ``None`` means 0, so the no-argument env is reproducible) and, if ``reset`` is first called without a
            seed, the episode stream. The oracle is the same whatever the seed (random oracle seed 0).
        oracle_params: path of the reference oracle (``.npz``/``.pkl``). ``None``: ``$SEQGAN_ORACLE_PARAMS`` when
            set and V = 5000 with the ``"oracle"`` preset, else the seeded random oracle. An oracle is built when
            the env builds its own generator or when this is given; with a passed generator and no
            ``oracle_params``, ``env.oracle`` is ``None`` (the env does not need it: the oracle only provides real
            data and NLL-oracle to trainers).
        vocab: optional id -> token text table (a sequence of V strings, or an object with ``.tokens`` such as
            ``seqgan_env.text`` vocabularies; ``.char=True`` joins tokens without spaces) for ``render``.
        render_mode: ``None`` or ``"ansi"``.
"""


# ---------------------------------------------------------------------------------------------- single env
class SeqGANEnv(gym.Env[np.ndarray, int]):
    """SeqGAN's generation MDP: write a sequence of T tokens one at a time, rewarded by the discriminator.

    **Episode.** ``reset`` starts an empty sequence; each ``step(action)`` appends the token ``action``. The
    episode terminates after the T-th token (``terminated=True`` at t = T, ``truncated`` always ``False``; the
    registered ids also carry ``max_episode_steps=T``, so ``gym.make``'s ``TimeLimit`` additionally sets
    ``truncated=True`` on that same last step, as for CartPole). There is no EOS and no padding inside a sequence.

    **Action space.** ``Discrete(V)``: the next token id. Anything else (out of range, a float, NaN, an array of
    shape other than ``()``, a bool) raises ``ValueError`` and leaves the env unchanged.

    **Observation space.** ``Box(low=0, high=V, shape=(T,), dtype=np.int64)``: the token ids written so far at
    positions ``0..t-1`` and the pad value **V** (``== vocab_size``, never a real token) at positions ``t..T-1``.
    The position t is ``info["position"]`` and equals ``(obs != V).sum()``. A ``Box`` of ids keeps SB3 from
    one-hot encoding the observation (a ``MultiDiscrete`` would become V*T = 100,000 inputs); SB3 hands it to
    policies as floats, so a features extractor should ``.long()`` it and embed the ids.

    **Reward** for the token y_t written at step t (the paper's Q, computed by ``env.reward_fn``, a
    :class:`~seqgan_env.rewards.RolloutReward`), a Python ``float``:

    * ``"mc"`` (default, the paper): r_t = Q_t = mean over N rollouts of D(Y_{1:t} + completion) for t < T and
      r_T = D(Y_{1:T}). For the paper's REINFORCE (sum_t log G(y_t) Q_t). Costs N rollouts every step.
    * ``"terminal"``: r_t = 0 for t < T and r_T = D(Y). Sparse; no rollouts at all (cheapest). For baselines
      that do their own credit assignment, or to check what the rollouts buy.
    * ``"shaped"``: r_t = Q_t - Q_{t-1}, with Q_0 the value of the empty prefix (N full rollouts at ``reset``).
      Potential-based: the undiscounted return from step t is D(Y) - Q_{t-1}, the whole episode returns
      D(Y) - Q_0, so agents that sum rewards (PPO, A2C with GAE, gamma = 1) optimise the paper's objective with a
      baseline. Use gamma = 1, or the shaping is no longer exact.

    The rollouts run through ``env.reward_fn`` on the backend it names (``reward_fn.backend``): the fused Triton
    kernel (``"auto"`` on CUDA) or its Philox-exact PyTorch twin (CPU), and D scores them in GEMM form. A NaN or inf
    in G's weights or in D's scores raises :class:`~seqgan_env.kernels.NonFiniteError` (a ``ValueError``).

    **Info.** ``{"position": t}`` after every ``reset``/``step``, plus ``"q_value"``: Q_t after a step (modes
    ``"mc"`` and ``"shaped"``) and Q_0 after a reset (mode ``"shaped"``).

    **Determinism.** ``reset(seed=s)`` seeds ``self.np_random``. Every ``reset`` and every ``step`` draws exactly
    one rollout seed ``int(self.np_random.integers(2**62))`` (used or not), and the rollouts of that call depend
    only on it (``RolloutReward.prefix_values(..., row_seeds=[seed])``), so equal seeds and actions give equal
    observations, rewards and infos. The models are shared by reference: training them changes the rewards.

    **Errors.** ``ValueError`` naming the value and the fix for: bad actions; ``step`` before ``reset`` or after
    the episode ended; generator/discriminator vocabulary or length mismatches; unknown presets or modes.
    ``gym.make(id, seq_len=L)`` with L above the id's T also needs ``max_episode_steps=L``: the ``TimeLimit``
    wrapper sits outside this class, which cannot see it, and would cut episodes before the final reward.

    **Rendering.** ``render_mode="ansi"``: ``render()`` returns ``"[t/T] ids-or-text _ _ ..."``, the token ids or,
    with ``vocab``, their text; ``_`` marks positions not yet written.

    **No arguments** (``gym.make("SeqGAN-v0")``): the paper's oracle task: V = 5000, T = 20, the reference oracle if
    ``$SEQGAN_ORACLE_PARAMS`` names it else the seeded random oracle, a freshly initialised (untrained) generator
    and discriminator (seed 0), N = 16, ``"mc"`` rewards from the current generator, on CPU. An untrained D scores
    everything about the same, so its rewards carry little signal until a trainer pretrains G and D.

    Attributes:
        generator, discriminator, reward_fn, oracle (``None`` possible, see ``oracle_params``), vocab_size, seq_len,
        reward_mode, pad_id (= vocab_size), device.
    """

    __doc__ = (__doc__ or "") + _KWARGS_DOC
    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        preset: str = "oracle",
        vocab_size: int | None = None,
        seq_len: int | None = None,
        generator: Generator | None = None,
        discriminator: Discriminator | None = None,
        num_rollouts: int = 16,
        reward_mode: RewardMode = "mc",
        rollout_policy: Literal["current", "delayed"] = "current",
        reward_backend: str = "auto",
        device: str | torch.device = "cpu",
        seed: int | None = None,
        oracle_params: Any = None,
        vocab: Sequence[str] | Any | None = None,
        render_mode: str | None = None,
        reward_fn: RolloutReward | None = None,
    ) -> None:
        _check_reward_mode(reward_mode)
        _check_render_mode(render_mode, self.metadata["render_modes"])
        task = _build_task(
            preset=preset, vocab_size=vocab_size, seq_len=seq_len, generator=generator, discriminator=discriminator,
            reward_fn=reward_fn, num_rollouts=num_rollouts, rollout_policy=rollout_policy,
            reward_backend=reward_backend, device=device, seed=seed, oracle_params=oracle_params, vocab=vocab,
        )
        self.generator = task.generator
        self.discriminator = task.discriminator
        self.reward_fn = task.reward_fn
        self.oracle = task.oracle
        self.vocab_size = task.vocab_size
        self.seq_len = task.seq_len
        self.pad_id = task.vocab_size
        self.device = task.device
        self.vocab = task.vocab
        self._char_vocab = task.char_vocab
        self.reward_mode: RewardMode = reward_mode
        self.render_mode = render_mode
        self.observation_space = spaces.Box(low=0, high=self.pad_id, shape=(self.seq_len,), dtype=np.int64)
        self.action_space = spaces.Discrete(self.vocab_size)
        self._init_seed = seed
        self._tokens = np.full(self.seq_len, self.pad_id, dtype=np.int64)
        self._position: int | None = None  # None until the first reset
        self._q_prev = 0.0

    # ------------------------------------------------------------------ helpers
    def _value(self, tokens: np.ndarray, length: int, seed: int) -> float:
        return float(
            _values(self.reward_fn, tokens[None], np.array([length]), np.array([seed]), self.pad_id, self.device)[0]
        )

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Start an empty sequence. Returns (obs (T,) int64 all pad, {"position": 0[, "q_value": Q_0]})."""
        if seed is None and self._position is None and self._init_seed is not None and self._np_random is None:
            seed = int(self._init_seed)
        super().reset(seed=seed)
        rollout_seed = int(self.np_random.integers(_SEED_BOUND))
        tokens = np.full(self.seq_len, self.pad_id, dtype=np.int64)
        info: dict[str, Any] = {"position": 0}
        q0 = 0.0
        if self.reward_mode == "shaped":
            q0 = self._value(tokens, 0, rollout_seed)
            info["q_value"] = q0
        self._tokens, self._position, self._q_prev = tokens, 0, q0
        return tokens.copy(), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Append token ``action``. Returns (obs (T,) int64, reward float, terminated bool, False, info)."""
        a = _action_to_int(action, self.vocab_size)
        if self._position is None:
            raise ValueError("step() called before reset(); call env.reset(seed=...) first.")
        if self._position >= self.seq_len:
            raise ValueError(
                f"the episode already ended (all seq_len={self.seq_len} tokens written); call env.reset() to start "
                "a new sequence."
            )
        rollout_seed = int(self.np_random.integers(_SEED_BOUND))
        tokens = self._tokens.copy()
        tokens[self._position] = a
        t = self._position + 1
        terminated = t == self.seq_len
        info: dict[str, Any] = {"position": t}
        q_prev = self._q_prev
        if self.reward_mode == "terminal":
            reward = self._value(tokens, t, rollout_seed) if terminated else 0.0
        else:
            q = self._value(tokens, t, rollout_seed)
            info["q_value"] = q
            reward = q if self.reward_mode == "mc" else q - q_prev
            q_prev = q
        self._tokens, self._position, self._q_prev = tokens, t, q_prev
        return tokens.copy(), float(reward), bool(terminated), False, info

    def render(self) -> str | None:
        """The current sequence as text (``render_mode="ansi"``); ``None`` without a render mode."""
        if self.render_mode is None:
            gym.logger.warn("render() called without render_mode; pass render_mode='ansi' to the constructor.")
            return None
        return _render_row(self._tokens, self._position or 0, self.seq_len, self.vocab, self._char_vocab)

    def decode(self, tokens: Sequence[int] | np.ndarray) -> str:
        """Text of an observation (pad positions dropped) with the attached ``vocab``, else the ids."""
        ids = np.asarray(tokens)
        ids = ids[ids != self.pad_id]
        return _render_row(ids, len(ids), len(ids), self.vocab, self._char_vocab).split("] ", 1)[-1]


# ---------------------------------------------------------------------------------------------- vector env
class SeqGANVectorEnv(VectorEnv):
    """``num_envs`` copies of :class:`SeqGANEnv` stepped as one batch, with one reward call per step.

    Spaces: ``single_observation_space`` = ``Box(0, V, (T,), int64)`` (pad V as in :class:`SeqGANEnv`),
    ``observation_space`` = ``Box(0, V, (num_envs, T), int64)``, ``single_action_space`` = ``Discrete(V)``,
    ``action_space`` = ``MultiDiscrete([V] * num_envs)``. ``step(actions)`` takes an integer array (num_envs,)
    and returns (obs (num_envs, T) int64, rewards (num_envs,) float64, terminated (num_envs,) bool, truncated
    (num_envs,) bool, infos). Rewards, modes and errors are those of :class:`SeqGANEnv`.

    **One batched reward.** Each ``step`` (and ``reset`` in mode ``"shaped"``) gathers every prefix that needs a
    value (every env's new prefix; in ``"terminal"`` mode only the finished ones; in ``"shaped"`` mode also the
    empty prefixes of envs being reset) into one :meth:`RolloutReward.prefix_values` call.

    **Infos** are a dict of arrays with boolean ``_key`` masks: ``"position"`` (int64, every env) and
    ``"q_value"`` (float64, where the single env would report it).

    **Autoreset.** ``autoreset_mode=AutoresetMode.NEXT_STEP`` (default): the step after an env's last token
    returns that env's reset observation, reward 0, ``terminated=False``, and ignores its action.
    ``AutoresetMode.SAME_STEP``: the last step itself returns the reset observation, with the finished sequence in
    ``infos["final_obs"]`` (object array, ``None`` elsewhere) and its info in ``infos["final_info"]`` (masks
    ``_final_obs``/``_final_info``). ``reset(options={"reset_mask": mask})`` resets only the masked envs.

    **Seeding.** Env i has its own generator ``np_random_i``: ``reset(seed=s)`` seeds env i with ``s + i``
    (a list seeds env i with ``seed[i]``; ``None`` keeps the streams, or seeds them fresh the first time — from the
    constructor's ``seed`` + i when given). Env i draws its rollout seeds from ``np_random_i`` exactly as a single
    env does (one per reset, one per step), and ``row_seeds`` makes its rollouts independent of the other envs.
    So env i of the vector env reproduces ``SeqGANEnv`` reset with seed ``s + i`` and fed the same actions:
    identical observations and rewards (up to float rounding of the batched discriminator).

    Extra arguments: ``num_envs``; ``max_episode_steps`` (passed by ``gym.make_vec``; must be ``None`` or
    >= T since episodes end at T by themselves, so ``truncated`` is always ``False``); ``autoreset_mode``.
    """

    __doc__ = (__doc__ or "") + _KWARGS_DOC
    metadata = {"render_modes": ["ansi"], "render_fps": 4, "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        preset: str = "oracle",
        vocab_size: int | None = None,
        seq_len: int | None = None,
        generator: Generator | None = None,
        discriminator: Discriminator | None = None,
        num_rollouts: int = 16,
        reward_mode: RewardMode = "mc",
        rollout_policy: Literal["current", "delayed"] = "current",
        reward_backend: str = "auto",
        device: str | torch.device = "cpu",
        seed: int | None = None,
        oracle_params: Any = None,
        vocab: Sequence[str] | Any | None = None,
        render_mode: str | None = None,
        reward_fn: RolloutReward | None = None,
        max_episode_steps: int | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs={num_envs!r} must be a positive int.")
        _check_reward_mode(reward_mode)
        _check_render_mode(render_mode, self.metadata["render_modes"])
        try:
            mode = AutoresetMode(autoreset_mode)
        except ValueError:
            raise ValueError(
                f"autoreset_mode={autoreset_mode!r}; use AutoresetMode.NEXT_STEP or AutoresetMode.SAME_STEP."
            ) from None
        if mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
            raise ValueError(f"autoreset_mode={mode} is not supported; use NEXT_STEP or SAME_STEP.")
        task = _build_task(
            preset=preset, vocab_size=vocab_size, seq_len=seq_len, generator=generator, discriminator=discriminator,
            reward_fn=reward_fn, num_rollouts=num_rollouts, rollout_policy=rollout_policy,
            reward_backend=reward_backend, device=device, seed=seed, oracle_params=oracle_params, vocab=vocab,
        )
        if max_episode_steps is not None and max_episode_steps < task.seq_len:
            raise ValueError(
                f"max_episode_steps={max_episode_steps} < seq_len={task.seq_len} would cut every episode before its "
                f"discriminator reward; pass max_episode_steps={task.seq_len} (or None)."
            )
        self.num_envs = int(num_envs)
        self.max_episode_steps = max_episode_steps
        self.autoreset_mode = mode
        self.metadata = {**type(self).metadata, "autoreset_mode": mode}
        self.render_mode = render_mode
        self.generator = task.generator
        self.discriminator = task.discriminator
        self.reward_fn = task.reward_fn
        self.oracle = task.oracle
        self.vocab_size = task.vocab_size
        self.seq_len = task.seq_len
        self.pad_id = task.vocab_size
        self.device = task.device
        self.vocab = task.vocab
        self._char_vocab = task.char_vocab
        self.reward_mode: RewardMode = reward_mode
        self.single_observation_space = spaces.Box(low=0, high=self.pad_id, shape=(self.seq_len,), dtype=np.int64)
        self.single_action_space = spaces.Discrete(self.vocab_size)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._init_seed = seed
        b = self.num_envs
        self._rngs: list[np.random.Generator | None] = [None] * b
        self._tokens = np.full((b, self.seq_len), self.pad_id, dtype=np.int64)
        self._positions = np.zeros(b, dtype=np.int64)
        self._q_prev = np.zeros(b, dtype=np.float64)
        self._needs_reset = np.zeros(b, dtype=bool)  # NEXT_STEP: finished last step
        self._started = False

    # ------------------------------------------------------------------ seeding
    @property
    def np_randoms(self) -> tuple[np.random.Generator | None, ...]:
        """The per-env random generators (env i's rollout seeds come from ``np_randoms[i]``)."""
        return tuple(self._rngs)

    def _draw(self, i: int) -> int:
        rng = self._rngs[i]
        if rng is None:
            rng, _ = seeding.np_random(None)
            self._rngs[i] = rng
        return int(rng.integers(_SEED_BOUND))

    # ------------------------------------------------------------------ gym API
    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset all envs (or those in ``options["reset_mask"]``). Returns (obs (num_envs, T) int64, infos)."""
        b = self.num_envs
        mask = np.ones(b, dtype=bool)
        if options and "reset_mask" in options:
            mask = np.asarray(options["reset_mask"])
            if mask.dtype != np.bool_ or mask.shape != (b,) or not mask.any():
                raise ValueError(
                    f"options['reset_mask'] must be a bool array of shape ({b},) with a True entry, got {mask!r}."
                )
        if seed is None and not self._started and self._init_seed is not None:
            seed = int(self._init_seed)
        if seed is None:
            seeds: list[int | None] = [None] * b
        elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            seeds = [int(seed) + i for i in range(b)]
            self._np_random, self._np_random_seed = seeding.np_random(int(seed))
        else:
            seeds = list(seed)
            if len(seeds) != b:
                raise ValueError(f"seed is a list of {len(seeds)} seeds; pass num_envs={b} seeds, an int or None.")
        for i in np.flatnonzero(mask):
            if seeds[i] is not None:
                self._rngs[i], _ = seeding.np_random(int(seeds[i]))  # type: ignore[arg-type]
        idx = np.flatnonzero(mask)
        q_seeds = np.array([self._draw(int(i)) for i in idx], dtype=np.int64)
        self._tokens[idx] = self.pad_id
        self._positions[idx] = 0
        self._needs_reset[idx] = False
        self._q_prev[idx] = 0.0
        infos: dict[str, Any] = {"position": self._positions.copy(), "_position": mask.copy()}
        if self.reward_mode == "shaped":
            q0 = _values(
                self.reward_fn, self._tokens[idx], np.zeros(len(idx), np.int64), q_seeds, self.pad_id, self.device
            )
            self._q_prev[idx] = q0
            infos["q_value"] = np.where(mask, self._q_prev, 0.0)
            infos["_q_value"] = mask.copy()
        self._started = True
        return self._tokens.copy(), infos

    def _check_actions(self, actions: Any) -> np.ndarray:
        hint = f"pass an integer array of shape ({self.num_envs},) with ids in [0, {self.vocab_size})"
        if isinstance(actions, torch.Tensor):
            actions = actions.detach().cpu().numpy()
        a = np.asarray(actions)
        if a.dtype.kind == "f" and np.isnan(a).any():
            raise ValueError(f"actions contain NaN at envs {np.flatnonzero(np.isnan(a)).tolist()}; {hint}.")
        if a.dtype.kind not in "iu":
            raise ValueError(f"actions have dtype {a.dtype}; {hint}.")
        if a.shape != (self.num_envs,):
            raise ValueError(f"actions have shape {a.shape}; {hint}.")
        bad = np.flatnonzero((a < 0) | (a >= self.vocab_size))
        if bad.size:
            raise ValueError(
                f"actions {a[bad].tolist()} at envs {bad.tolist()} are outside Discrete({self.vocab_size}); {hint}."
            )
        return a.astype(np.int64)

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Append ``actions[i]`` to env i (see the class docstring for autoreset). One reward call."""
        a = self._check_actions(actions)
        if not self._started:
            raise ValueError("step() called before reset(); call envs.reset(seed=...) first.")
        b, t_len, pad = self.num_envs, self.seq_len, self.pad_id
        resetting = self._needs_reset.copy()  # NEXT_STEP autoreset: these ignore their action
        stepping = ~resetting
        # Each env draws its seeds in the single env's order: step seed, then (SAME_STEP) the reset's seed.
        step_seeds = np.zeros(b, dtype=np.int64)
        reset_seeds = np.zeros(b, dtype=np.int64)
        new_tokens = self._tokens.copy()
        new_pos = self._positions.copy()
        rows_tok, rows_len, rows_seed, rows_env, rows_kind = [], [], [], [], []
        for i in range(b):
            if resetting[i]:
                reset_seeds[i] = self._draw(i)
                continue
            step_seeds[i] = self._draw(i)
            new_tokens[i, new_pos[i]] = a[i]
            new_pos[i] += 1
            if self.autoreset_mode == AutoresetMode.SAME_STEP and new_pos[i] == t_len:
                reset_seeds[i] = self._draw(i)
        terminated = stepping & (new_pos == t_len)
        same_step_reset = terminated if self.autoreset_mode == AutoresetMode.SAME_STEP else np.zeros(b, bool)
        for i in range(b):
            if stepping[i] and (self.reward_mode != "terminal" or terminated[i]):
                rows_tok.append(new_tokens[i])
                rows_len.append(new_pos[i])
                rows_seed.append(step_seeds[i])
                rows_env.append(i)
                rows_kind.append(0)
        if self.reward_mode == "shaped":
            for i in np.flatnonzero(resetting | same_step_reset):
                rows_tok.append(np.full(t_len, pad, dtype=np.int64))
                rows_len.append(0)
                rows_seed.append(reset_seeds[i])
                rows_env.append(int(i))
                rows_kind.append(1)
        q_step = np.zeros(b, dtype=np.float64)
        q_reset = np.zeros(b, dtype=np.float64)
        if rows_tok:
            vals = _values(
                self.reward_fn, np.stack(rows_tok), np.array(rows_len), np.array(rows_seed), pad, self.device
            )
            for v, i, kind in zip(vals, rows_env, rows_kind):
                (q_reset if kind else q_step)[i] = v

        rewards = np.zeros(b, dtype=np.float64)
        if self.reward_mode == "mc":
            rewards[stepping] = q_step[stepping]
        elif self.reward_mode == "terminal":
            rewards[terminated] = q_step[terminated]
        else:
            rewards[stepping] = q_step[stepping] - self._q_prev[stepping]
        has_q = stepping.copy() if self.reward_mode != "terminal" else np.zeros(b, bool)
        q_info = np.where(has_q, q_step, 0.0)

        infos: dict[str, Any] = {}
        if self.autoreset_mode == AutoresetMode.SAME_STEP and terminated.any():
            final_obs = np.full(b, None, dtype=object)
            for i in np.flatnonzero(terminated):
                final_obs[i] = new_tokens[i].copy()
            final_info: dict[str, Any] = {"position": np.where(terminated, t_len, 0), "_position": terminated.copy()}
            if self.reward_mode != "terminal":
                final_info["q_value"] = np.where(terminated, q_step, 0.0)
                final_info["_q_value"] = terminated.copy()
            infos.update(final_obs=final_obs, _final_obs=terminated.copy(), final_info=final_info,
                         _final_info=terminated.copy())
            has_q = has_q & ~terminated

        # Commit the new state.
        q_prev = self._q_prev.copy()
        q_prev[stepping] = q_step[stepping]
        restart = resetting | same_step_reset
        new_tokens[restart] = pad
        new_pos[restart] = 0
        q_prev[restart] = q_reset[restart]
        if self.reward_mode == "shaped":
            q_info = np.where(restart, q_reset, q_info)
            has_q = has_q | restart
        self._tokens, self._positions, self._q_prev = new_tokens, new_pos, q_prev
        self._needs_reset = terminated.copy() if self.autoreset_mode == AutoresetMode.NEXT_STEP else np.zeros(b, bool)

        infos["position"] = new_pos.copy()
        infos["_position"] = np.ones(b, dtype=bool)
        if has_q.any():
            infos["q_value"] = np.where(has_q, q_info, 0.0)
            infos["_q_value"] = has_q
        return new_tokens.copy(), rewards, terminated.copy(), np.zeros(b, dtype=bool), infos

    def render(self) -> tuple[str, ...] | None:
        """One ``"ansi"`` string per env (see :meth:`SeqGANEnv.render`); ``None`` without a render mode."""
        if self.render_mode is None:
            gym.logger.warn("render() called without render_mode; pass render_mode='ansi'.")
            return None
        return tuple(
            _render_row(self._tokens[i], int(self._positions[i]), self.seq_len, self.vocab, self._char_vocab)
            for i in range(self.num_envs)
        )
