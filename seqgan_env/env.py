"""SeqGAN as a Gymnasium environment: :class:`SeqGANEnv` and its native batched twin :class:`SeqGANVectorEnv`.

Laid out like Gymnasium's ``cartpole.py`` (``CartPoleEnv`` beside ``CartPoleVectorEnv``). Registered at
``import seqgan_env`` as ``SeqGAN-v0`` (the paper's oracle task) and ``SeqGAN-tiny-v0`` (a small one), with
``gym.make`` building :class:`SeqGANEnv` and ``gym.make_vec`` building :class:`SeqGANVectorEnv`. The models and the
reward come from :func:`seqgan_env.task.build_task`; the reward of a step is computed by the same helpers in both
classes (:func:`_values` batches the prefixes into one :meth:`RolloutReward.prefix_values` call, :func:`_rewards`
turns the values into the mode's rewards). User documentation: ``docs/env.md``.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from torch import Tensor

from .discriminator import Discriminator
from .generator import Generator
from .rewards import RolloutReward
from .task import build_task

__all__ = ["SeqGANEnv", "SeqGANVectorEnv", "REWARD_MODES", "OBSERVATION_MODES", "sync_models"]

REWARD_MODES: tuple[str, ...] = ("shaped", "mc", "terminal")
OBSERVATION_MODES: tuple[str, ...] = ("ids", "dict")
RENDER_MODES: list[str] = ["ansi", "rgb_array"]
_SEED_BOUND = 2**62  # every rollout seed is int(np_random.integers(2**62))

RewardMode = Literal["shaped", "mc", "terminal"]
ObservationMode = Literal["ids", "dict"]


# ---------------------------------------------------------------------------------------------- shared helpers
def _check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r}; choose one of {list(choices)}.")


def _check_render_mode(render_mode: str | None) -> None:
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise ValueError(f"render_mode={render_mode!r} is not supported; use one of {RENDER_MODES} or None.")


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


def _check_actions(actions: Any, num_envs: int, vocab_size: int) -> np.ndarray:
    """Validate a batch of actions (num_envs,) and return it as int64."""
    hint = f"pass an integer array of shape ({num_envs},) with ids in [0, {vocab_size})"
    if isinstance(actions, torch.Tensor):
        actions = actions.detach().cpu().numpy()
    a = np.asarray(actions)
    if a.dtype.kind == "f" and np.isnan(a).any():
        raise ValueError(f"actions contain NaN at envs {np.flatnonzero(np.isnan(a)).tolist()}; {hint}.")
    if a.dtype.kind not in "iu":
        raise ValueError(f"actions have dtype {a.dtype}; {hint}.")
    if a.shape != (num_envs,):
        raise ValueError(f"actions have shape {a.shape}; {hint}.")
    bad = np.flatnonzero((a < 0) | (a >= vocab_size))
    if bad.size:
        raise ValueError(
            f"actions {a[bad].tolist()} at envs {bad.tolist()} are outside Discrete({vocab_size}); {hint}."
        )
    return a.astype(np.int64)


def _text(tokens: np.ndarray, vocab: list[str] | None, char: bool) -> str:
    """The tokens as text: vocabulary entries joined (without spaces for a character vocabulary), else the ids."""
    ids = [int(x) for x in tokens]
    if vocab is not None:
        return ("" if char else " ").join(vocab[i] for i in ids)
    return " ".join(str(i) for i in ids)


def _render_row(tokens: np.ndarray, position: int, seq_len: int, vocab: list[str] | None, char: bool) -> str:
    body = _text(tokens[:position], vocab, char)
    rest = " ".join("_" * (seq_len - position))
    return f"[{position}/{seq_len}] {body}{' ' if body and rest else ''}{rest}"


def _text_image(lines: Sequence[str]) -> np.ndarray:
    """``lines`` drawn in a monospace font: an (H, W, 3) uint8 RGB array (matplotlib's Agg canvas, no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width = max(2.0, 0.105 * max(len(x) for x in lines) + 0.3)
    fig = Figure(figsize=(width, 0.28 * len(lines) + 0.2), dpi=80, facecolor="white")
    canvas = FigureCanvasAgg(fig)
    fig.text(0.01, 0.98, "\n".join(lines), family="monospace", fontsize=11, va="top", ha="left")
    canvas.draw()
    return np.ascontiguousarray(np.asarray(canvas.buffer_rgba())[..., :3])


def _values(
    reward_fn: RolloutReward, tokens: np.ndarray, lengths: np.ndarray, seeds: np.ndarray, pad: int, device: torch.device
) -> np.ndarray:
    """One batched :meth:`RolloutReward.prefix_values` call: (R, T) padded tokens -> (R,) float64 values."""
    ids = torch.from_numpy(np.where(tokens == pad, 0, tokens)).to(device)
    q = reward_fn.prefix_values(
        ids, torch.from_numpy(lengths.astype(np.int64)).to(device), row_seeds=torch.from_numpy(seeds.astype(np.int64))
    )
    return q.detach().to("cpu", torch.float64).numpy()


def _needs_value(mode: str, terminated: np.ndarray) -> np.ndarray:
    """Which stepped prefixes need Q (one rollout batch each): all of them, or only the finished ones in "terminal"."""
    return np.ones_like(terminated) if mode != "terminal" else terminated.copy()


def _rewards(mode: str, q: np.ndarray, q_prev: np.ndarray, terminated: np.ndarray) -> np.ndarray:
    """The step rewards of envs that wrote a token, from their new Q (q), the previous Q (q_prev) and whether the
    sequence finished: "mc" Q_t, "terminal" D(Y) at T else 0, "shaped" Q_t - Q_{t-1}."""
    if mode == "mc":
        return q.copy()
    if mode == "terminal":
        return np.where(terminated, q, 0.0)
    return q - q_prev


def _load_into(module: torch.nn.Module, new: Any, what: str) -> None:
    if new is None or new is module:
        return
    state = new.state_dict() if isinstance(new, torch.nn.Module) else new
    if not isinstance(state, Mapping):
        raise ValueError(f"{what} must be a module or its state_dict, got {type(new).__name__}.")
    bad = [k for k, v in state.items()
           if isinstance(v, Tensor) and v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise ValueError(f"the {what} weights pushed to the env have non-finite values in {bad}; not loaded.")
    module.load_state_dict(state)


def sync_models(envs: Any, generator: Any = None, discriminator: Any = None) -> None:
    """Push the current weights of ``generator`` and ``discriminator`` to every env of ``envs``.

    Needed when the envs hold *copies* of the models: Gymnasium's ``AsyncVectorEnv`` and SB3's ``SubprocVecEnv``
    (each worker unpickled its own), or several ``gym.make`` envs that each built their own. Envs whose models are
    the very objects passed are left alone (no copy), so calling it on the native ``SeqGANVectorEnv`` or the SB3
    adapter costs nothing. Works for a single env, a Gymnasium vector env (``call``) and an SB3 ``VecEnv``
    (``env_method``). :class:`~seqgan_env.agents.sb3.DiscriminatorCallback` calls it after every retraining.
    """
    kwargs = {"generator": generator, "discriminator": discriminator}
    if hasattr(envs, "env_method"):  # SB3 VecEnv
        envs.env_method("set_model_states", **kwargs)
    elif isinstance(envs, SeqGANVectorEnv) or isinstance(getattr(envs, "unwrapped", None), SeqGANVectorEnv):
        envs.unwrapped.set_model_states(**kwargs)
    elif hasattr(envs, "call"):  # Gymnasium SyncVectorEnv / AsyncVectorEnv
        envs.call("set_model_states", **kwargs)
    else:
        envs.unwrapped.set_model_states(**kwargs)


_WORKER_WARNED = False


def _warn_if_worker(passed_models: bool) -> None:
    """Models passed to an env built in a worker process are copies: say so once per process."""
    global _WORKER_WARNED
    if passed_models and not _WORKER_WARNED and multiprocessing.parent_process() is not None:
        _WORKER_WARNED = True
        gym.logger.warn(
            "SeqGAN env built in a subprocess with generator/discriminator passed in: they are copies, so retraining "
            "the originals does not change this env's rewards. Push the new weights after each update with "
            "seqgan_env.env.sync_models(envs, G, D) (DiscriminatorCallback does it), or use the native batched env "
            "gym.make_vec(..., vectorization_mode='vector_entry_point'), which shares the models."
        )


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
            discriminator, N, rollout policy, backend and scorer are used and ``num_rollouts``, ``rollout_policy``,
            ``reward_backend``, ``score_fn`` and ``score_precision`` must be left at their defaults.
        num_rollouts: N, Monte Carlo completions per reward (paper: 16).
        reward_mode: ``"shaped"`` (default: Q_t - Q_{t-1}, the return is D(Y) - Q_0), ``"mc"`` (Q_t each step,
            the weights of the paper's REINFORCE loss) or ``"terminal"`` (D(Y) at T, 0 before); see the class
            docstring.
        observation_mode: ``"ids"`` (default: a ``Box`` of token ids) or ``"dict"`` (``{"input_ids",
            "attention_mask"}``, as text-generation RL libraries use).
        rollout_policy: ``"current"`` (rollouts from G's live weights, as the paper and the reference code) or
            ``"delayed"`` (a copy beta updated by ``env.reward_fn.update_rollout_policy()`` as
            beta <- 0.8 beta + 0.2 theta; the env never updates it itself).
        reward_backend: the ``RolloutReward`` backend: ``"auto"`` (the fused Triton kernel on CUDA when triton is
            installed, else ``"torch"``), ``"triton"`` (a ``ValueError`` where it cannot run) or ``"torch"`` (the
            kernel's Philox-exact PyTorch twin). ``env.reward_fn.backend`` names the one that runs.
        score_fn: a custom score replacing D's, ``tokens (R, T) long -> (R,) float`` (for example D plus a bonus,
            or your own reward model); the discriminator then only fixes the sizes.
        score_precision: D's scoring precision: ``"fp32"`` (default, exact), ``"tf32"`` or ``"bf16"``.
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
            ``seqgan_env.text`` vocabularies; ``.char=True`` joins tokens without spaces), for ``render`` and
            ``info["text"]``.
        render_mode: ``None``, ``"ansi"`` (a string) or ``"rgb_array"`` (the same text drawn as an image).
"""


def _spaces(vocab_size: int, seq_len: int, observation_mode: str) -> spaces.Space:
    ids = spaces.Box(low=0, high=vocab_size, shape=(seq_len,), dtype=np.int64)
    if observation_mode == "ids":
        return ids
    return spaces.Dict({"input_ids": ids, "attention_mask": spaces.Box(0, 1, (seq_len,), np.int64)})


# ---------------------------------------------------------------------------------------------- single env
class SeqGANEnv(gym.Env[np.ndarray, int]):
    """SeqGAN's generation MDP: write a sequence of T tokens one at a time, rewarded by the discriminator.

    **Episode.** ``reset`` starts an empty sequence; each ``step(action)`` appends the token ``action``. The
    episode terminates after the T-th token (``terminated=True`` at t = T; ``truncated`` is always ``False``: the
    ids are registered without ``max_episode_steps``, so no ``TimeLimit`` wrapper can cut an episode before D's
    reward). There is no EOS and no padding inside a sequence.

    **Action space.** ``Discrete(V)``: the next token id. Anything else (out of range, a float, NaN, an array of
    shape other than ``()``, a bool) raises ``ValueError`` and leaves the env unchanged. ``action_masks()`` returns
    an all-True (V,) mask (every token is always allowed), for MaskablePPO.

    **Observation space.** ``observation_mode="ids"`` (default): ``Box(low=0, high=V, shape=(T,),
    dtype=np.int64)``, the token ids written so far at positions ``0..t-1`` and the pad value **V**
    (``== vocab_size``, never a real token) at positions ``t..T-1``. The position t is ``info["position"]`` and
    equals ``(obs != V).sum()``. A ``Box`` of ids keeps SB3 from one-hot encoding the observation (a
    ``MultiDiscrete`` would become V*T = 100,000 inputs); SB3 hands it to policies as floats, so a features
    extractor should ``.long()`` it and embed the ids, and ``VecNormalize`` must not normalise it
    (``norm_obs=False``). ``observation_mode="dict"``: ``Dict(input_ids=<that Box>, attention_mask=Box(0, 1, (T,),
    int64))``, 1 at written positions.

    **Reward** for the token y_t written at step t, a Python ``float``. With Q_t the paper's action value (the mean
    over N rollouts of D(Y_{1:t} + completion) for t < T, Q_T = D(Y_{1:T}); computed by ``env.reward_fn``, a
    :class:`~seqgan_env.rewards.RolloutReward`):

    * ``"shaped"`` (default): r_t = Q_t - Q_{t-1}, with Q_0 the value of the empty prefix (N full rollouts at
      ``reset``). Potential-based: the undiscounted return from step t is D(Y) - Q_{t-1} and the whole episode
      returns D(Y) - Q_0, so agents that sum rewards (PPO, A2C, DQN-style, gamma = 1) maximise E[D(Y)], the paper's
      objective J(theta), with the paper's Monte Carlo Q as a dense baseline. Use gamma = 1, or the shaping is no
      longer exact. Costs N rollouts every step (and at reset).
    * ``"mc"``: r_t = Q_t. The per-token weights of the paper's REINFORCE loss (sum_t log G(y_t) Q_t), **not** a
      reward to sum: an agent maximising the sum of ``"mc"`` rewards maximises sum_t Q_t. Costs N rollouts.
    * ``"terminal"``: r_t = 0 for t < T and r_T = D(Y): the paper's R_T alone. Sparse; no rollouts at all.

    The rollouts run through ``env.reward_fn`` on the backend it names (``reward_fn.backend``): the fused Triton
    kernel (``"auto"`` on CUDA) or its Philox-exact PyTorch twin (CPU), and D scores them in GEMM form. A NaN or inf
    in G's weights or in D's scores raises :class:`~seqgan_env.kernels.NonFiniteError` (a ``ValueError``).

    **Info.** ``{"position": t}`` after every ``reset``/``step``; ``"q_value"``: Q_t after a step (modes
    ``"shaped"`` and ``"mc"``) and Q_0 after a reset (mode ``"shaped"``); ``"text"``: the prefix decoded with
    ``vocab`` when one is given.

    **Determinism.** ``reset(seed=s)`` seeds ``self.np_random``. Every ``reset`` and every ``step`` draws exactly
    one rollout seed ``int(self.np_random.integers(2**62))`` (used or not), and the rollouts of that call depend
    only on it (``RolloutReward.prefix_values(..., row_seeds=[seed])``), so equal seeds and actions give equal
    observations, rewards and infos.

    **The models** are shared by reference: training them in place changes the rewards. In another process (an
    ``AsyncVectorEnv`` or ``SubprocVecEnv`` worker) they are copies: push new weights with
    :func:`sync_models` / ``set_model_states`` (``DiscriminatorCallback`` does it), or use the native vector env.

    **Errors.** ``ValueError`` naming the value and the fix for: bad actions; ``step`` before ``reset`` or after
    the episode ended; generator and discriminator vocabulary or length mismatches; unknown presets or modes.

    **Rendering.** ``render_mode="ansi"``: ``render()`` returns ``"[t/T] ids-or-text _ _ ..."``, the token ids or,
    with ``vocab``, their text; ``_`` marks positions not yet written. ``"rgb_array"``: that line drawn as an
    (H, W, 3) uint8 image.

    **No arguments** (``gym.make("SeqGAN-v0")``): the paper's oracle task: V = 5000, T = 20, the reference oracle if
    ``$SEQGAN_ORACLE_PARAMS`` names it else the seeded random oracle, a freshly initialised (untrained) generator
    and discriminator (seed 0), N = 16, ``"shaped"`` rewards from the current generator, on CPU. An untrained D's
    scores are arbitrary and mostly saturated (the median score of the untrained G's samples is 0.004 for this
    env's D and 0.995 for ``Discriminator(seed=0)``), so the rewards carry no signal until a trainer pretrains G
    and D.

    Attributes:
        generator, discriminator, reward_fn, oracle (``None`` possible, see ``oracle_params``), vocab_size, seq_len,
        reward_mode, observation_mode, pad_id (= vocab_size), device.
    """

    __doc__ = (__doc__ or "") + _KWARGS_DOC
    metadata = {"render_modes": RENDER_MODES, "render_fps": 4}

    def __init__(
        self,
        preset: str = "oracle",
        vocab_size: int | None = None,
        seq_len: int | None = None,
        generator: Generator | None = None,
        discriminator: Discriminator | None = None,
        num_rollouts: int = 16,
        reward_mode: RewardMode = "shaped",
        rollout_policy: Literal["current", "delayed"] = "current",
        reward_backend: str = "auto",
        device: str | torch.device = "cpu",
        seed: int | None = None,
        oracle_params: Any = None,
        vocab: Sequence[str] | Any | None = None,
        render_mode: str | None = None,
        reward_fn: RolloutReward | None = None,
        observation_mode: ObservationMode = "ids",
        score_fn: Callable[[Tensor], Tensor] | None = None,
        score_precision: str = "fp32",
    ) -> None:
        _check_choice("reward_mode", reward_mode, REWARD_MODES)
        _check_choice("observation_mode", observation_mode, OBSERVATION_MODES)
        _check_render_mode(render_mode)
        _warn_if_worker(generator is not None or discriminator is not None or reward_fn is not None)
        task = build_task(
            preset=preset, vocab_size=vocab_size, seq_len=seq_len, generator=generator, discriminator=discriminator,
            reward_fn=reward_fn, num_rollouts=num_rollouts, rollout_policy=rollout_policy,
            reward_backend=reward_backend, score_fn=score_fn, score_precision=score_precision, device=device,
            seed=seed, oracle_params=oracle_params, vocab=vocab,
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
        self.observation_mode: ObservationMode = observation_mode
        self.render_mode = render_mode
        self.observation_space = _spaces(self.vocab_size, self.seq_len, observation_mode)
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

    def _obs(self, tokens: np.ndarray) -> np.ndarray | dict[str, np.ndarray]:
        if self.observation_mode == "ids":
            return tokens.copy()
        return {"input_ids": tokens.copy(), "attention_mask": (tokens != self.pad_id).astype(np.int64)}

    def _info(self, tokens: np.ndarray, position: int) -> dict[str, Any]:
        info: dict[str, Any] = {"position": position}
        if self.vocab is not None:
            info["text"] = _text(tokens[:position], self.vocab, self._char_vocab)
        return info

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        """Start an empty sequence. Returns (obs: all pad, {"position": 0[, "q_value": Q_0][, "text": ""]})."""
        if seed is None and self._position is None and self._init_seed is not None and self._np_random is None:
            seed = int(self._init_seed)
        super().reset(seed=seed)
        rollout_seed = int(self.np_random.integers(_SEED_BOUND))
        tokens = np.full(self.seq_len, self.pad_id, dtype=np.int64)
        info = self._info(tokens, 0)
        q0 = 0.0
        if self.reward_mode == "shaped":
            q0 = self._value(tokens, 0, rollout_seed)
            info["q_value"] = q0
        self._tokens, self._position, self._q_prev = tokens, 0, q0
        return self._obs(tokens), info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        """Append token ``action``. Returns (obs, reward float, terminated bool, False, info)."""
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
        terminated = np.array([t == self.seq_len])
        info = self._info(tokens, t)
        q = np.zeros(1)
        if _needs_value(self.reward_mode, terminated)[0]:
            q[0] = self._value(tokens, t, rollout_seed)
        reward = float(_rewards(self.reward_mode, q, np.array([self._q_prev]), terminated)[0])
        q_prev = self._q_prev
        if self.reward_mode != "terminal":
            info["q_value"] = float(q[0])
            q_prev = float(q[0])
        self._tokens, self._position, self._q_prev = tokens, t, q_prev
        return self._obs(tokens), reward, bool(terminated[0]), False, info

    def action_masks(self) -> np.ndarray:
        """(V,) bool, all True: every token is allowed at every step (MaskablePPO's ``action_masks`` hook)."""
        return np.ones(self.vocab_size, dtype=bool)

    def set_model_states(self, generator: Any = None, discriminator: Any = None) -> None:
        """Load new weights into this env's generator and/or discriminator (modules or state dicts; a module that
        is already this env's is left alone). See :func:`sync_models`."""
        _load_into(self.generator, generator, "generator")
        _load_into(self.discriminator, discriminator, "discriminator")

    def render(self) -> str | np.ndarray | None:
        """The current sequence as text (``"ansi"``) or as an image (``"rgb_array"``); ``None`` without a mode."""
        if self.render_mode is None:
            gym.logger.warn("render() called without render_mode; pass render_mode='ansi' to the constructor.")
            return None
        line = _render_row(self._tokens, self._position or 0, self.seq_len, self.vocab, self._char_vocab)
        return line if self.render_mode == "ansi" else _text_image([line])

    def decode(self, tokens: Sequence[int] | np.ndarray) -> str:
        """Text of an observation (pad positions dropped) with the attached ``vocab``, else the ids."""
        ids = np.asarray(tokens)
        return _text(ids[ids != self.pad_id], self.vocab, self._char_vocab)


# ---------------------------------------------------------------------------------------------- vector env
class SeqGANVectorEnv(VectorEnv):
    """``num_envs`` copies of :class:`SeqGANEnv` stepped as one batch, with one reward call per step.

    Spaces: ``single_observation_space`` as :class:`SeqGANEnv`'s, ``observation_space`` its batched form
    (``Box(0, V, (num_envs, T), int64)``, or a ``Dict`` of such arrays), ``single_action_space`` = ``Discrete(V)``,
    ``action_space`` = ``MultiDiscrete([V] * num_envs)``. ``step(actions)`` takes an integer array (num_envs,) and
    returns (obs, rewards (num_envs,) float64, terminated (num_envs,) bool, truncated (num_envs,) bool (always
    False), infos). Rewards, modes and errors are those of :class:`SeqGANEnv`.

    **One batched reward.** Each ``step`` (and ``reset`` in mode ``"shaped"``) gathers every prefix that needs a
    value (every env's new prefix; in ``"terminal"`` mode only the finished ones; in ``"shaped"`` mode also the
    empty prefixes of envs being reset) into one :meth:`RolloutReward.prefix_values` call.

    **Infos** are a dict of arrays with boolean ``_key`` masks: ``"position"`` (int64, every env), ``"q_value"``
    (float64, where the single env would report it) and ``"text"`` (object, with ``vocab``).

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

    **Models** are shared by all envs (and by reference with whoever passed them): one G, one D, one reward.

    Extra arguments: ``num_envs``; ``max_episode_steps`` (passed by ``gym.make_vec``; must be ``None`` or
    >= T since episodes end at T by themselves); ``autoreset_mode``.
    """

    __doc__ = (__doc__ or "") + _KWARGS_DOC
    metadata = {"render_modes": RENDER_MODES, "render_fps": 4, "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        preset: str = "oracle",
        vocab_size: int | None = None,
        seq_len: int | None = None,
        generator: Generator | None = None,
        discriminator: Discriminator | None = None,
        num_rollouts: int = 16,
        reward_mode: RewardMode = "shaped",
        rollout_policy: Literal["current", "delayed"] = "current",
        reward_backend: str = "auto",
        device: str | torch.device = "cpu",
        seed: int | None = None,
        oracle_params: Any = None,
        vocab: Sequence[str] | Any | None = None,
        render_mode: str | None = None,
        reward_fn: RolloutReward | None = None,
        observation_mode: ObservationMode = "ids",
        score_fn: Callable[[Tensor], Tensor] | None = None,
        score_precision: str = "fp32",
        max_episode_steps: int | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs={num_envs!r} must be a positive int.")
        _check_choice("reward_mode", reward_mode, REWARD_MODES)
        _check_choice("observation_mode", observation_mode, OBSERVATION_MODES)
        _check_render_mode(render_mode)
        try:
            mode = AutoresetMode(autoreset_mode)
        except ValueError:
            raise ValueError(
                f"autoreset_mode={autoreset_mode!r}; use AutoresetMode.NEXT_STEP or AutoresetMode.SAME_STEP."
            ) from None
        if mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
            raise ValueError(f"autoreset_mode={mode} is not supported; use NEXT_STEP or SAME_STEP.")
        _warn_if_worker(generator is not None or discriminator is not None or reward_fn is not None)
        task = build_task(
            preset=preset, vocab_size=vocab_size, seq_len=seq_len, generator=generator, discriminator=discriminator,
            reward_fn=reward_fn, num_rollouts=num_rollouts, rollout_policy=rollout_policy,
            reward_backend=reward_backend, score_fn=score_fn, score_precision=score_precision, device=device,
            seed=seed, oracle_params=oracle_params, vocab=vocab,
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
        self.observation_mode: ObservationMode = observation_mode
        self.single_observation_space = _spaces(self.vocab_size, self.seq_len, observation_mode)
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

    # ------------------------------------------------------------------ seeding and helpers
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

    def _obs(self, tokens: np.ndarray) -> np.ndarray | dict[str, np.ndarray]:
        if self.observation_mode == "ids":
            return tokens.copy()
        return {"input_ids": tokens.copy(), "attention_mask": (tokens != self.pad_id).astype(np.int64)}

    def _texts(self, tokens: np.ndarray, positions: np.ndarray) -> np.ndarray:
        out = np.empty(len(positions), dtype=object)
        for i, p in enumerate(positions):
            out[i] = _text(tokens[i, : int(p)], self.vocab, self._char_vocab)
        return out

    # ------------------------------------------------------------------ gym API
    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset all envs (or those in ``options["reset_mask"]``). Returns (obs, infos)."""
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
        tokens = self._tokens.copy()
        tokens[idx] = self.pad_id
        q_prev = self._q_prev.copy()
        q_prev[idx] = 0.0
        infos: dict[str, Any] = {"position": np.where(mask, 0, self._positions), "_position": mask.copy()}
        if self.reward_mode == "shaped":
            q0 = _values(self.reward_fn, tokens[idx], np.zeros(len(idx), np.int64), q_seeds, self.pad_id, self.device)
            q_prev[idx] = q0
            infos["q_value"] = np.where(mask, q_prev, 0.0)
            infos["_q_value"] = mask.copy()
        if self.vocab is not None:
            infos["text"] = np.where(mask, "", None).astype(object)
            infos["_text"] = mask.copy()
        self._tokens, self._q_prev = tokens, q_prev
        self._positions[idx] = 0
        self._needs_reset[idx] = False
        self._started = True
        return self._obs(self._tokens), infos

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Append ``actions[i]`` to env i (see the class docstring for autoreset). One reward call."""
        a = _check_actions(actions, self.num_envs, self.vocab_size)
        if not self._started:
            raise ValueError("step() called before reset(); call envs.reset(seed=...) first.")
        b, t_len, pad = self.num_envs, self.seq_len, self.pad_id
        same_step = self.autoreset_mode == AutoresetMode.SAME_STEP
        resetting = self._needs_reset.copy()  # NEXT_STEP autoreset: these ignore their action
        stepping = ~resetting
        # Each env draws its seeds in the single env's order: step seed, then (SAME_STEP) the reset's seed.
        step_seeds = np.zeros(b, dtype=np.int64)
        reset_seeds = np.zeros(b, dtype=np.int64)
        new_tokens = self._tokens.copy()
        new_pos = self._positions.copy()
        for i in range(b):
            if resetting[i]:
                reset_seeds[i] = self._draw(i)
                continue
            step_seeds[i] = self._draw(i)
            new_tokens[i, new_pos[i]] = a[i]
            new_pos[i] += 1
            if same_step and new_pos[i] == t_len:
                reset_seeds[i] = self._draw(i)
        terminated = stepping & (new_pos == t_len)
        restart = resetting | (terminated if same_step else np.zeros(b, bool))

        # One batched value call: the stepped prefixes that need Q, then (shaped) the empty prefixes of restarts.
        valued = stepping & _needs_value(self.reward_mode, terminated)
        fresh = restart if self.reward_mode == "shaped" else np.zeros(b, bool)
        rows = np.concatenate([new_tokens[valued], np.full((int(fresh.sum()), t_len), pad, dtype=np.int64)])
        lengths = np.concatenate([new_pos[valued], np.zeros(int(fresh.sum()), np.int64)])
        seeds = np.concatenate([step_seeds[valued], reset_seeds[fresh]])
        q_step = np.zeros(b, dtype=np.float64)
        q_reset = np.zeros(b, dtype=np.float64)
        if len(rows):
            vals = _values(self.reward_fn, rows, lengths, seeds, pad, self.device)
            q_step[valued] = vals[: int(valued.sum())]
            q_reset[fresh] = vals[int(valued.sum()) :]

        rewards = np.zeros(b, dtype=np.float64)
        rewards[stepping] = _rewards(self.reward_mode, q_step[stepping], self._q_prev[stepping], terminated[stepping])
        has_q = stepping.copy() if self.reward_mode != "terminal" else np.zeros(b, bool)
        q_info = np.where(has_q, q_step, 0.0)

        infos: dict[str, Any] = {}
        if same_step and terminated.any():
            final_obs = np.full(b, None, dtype=object)
            final_info: dict[str, Any] = {"position": np.where(terminated, t_len, 0), "_position": terminated.copy()}
            for i in np.flatnonzero(terminated):
                final_obs[i] = self._obs(new_tokens[i])
            if self.reward_mode != "terminal":
                final_info["q_value"] = np.where(terminated, q_step, 0.0)
                final_info["_q_value"] = terminated.copy()
            if self.vocab is not None:
                final_info["text"] = np.where(terminated, self._texts(new_tokens, new_pos), None).astype(object)
                final_info["_text"] = terminated.copy()
            infos.update(final_obs=final_obs, _final_obs=terminated.copy(), final_info=final_info,
                         _final_info=terminated.copy())
            has_q = has_q & ~terminated

        # Commit the new state.
        q_prev = self._q_prev.copy()
        q_prev[stepping] = q_step[stepping]
        new_tokens[restart] = pad
        new_pos[restart] = 0
        q_prev[restart] = q_reset[restart]
        if self.reward_mode == "shaped":
            q_info = np.where(restart, q_reset, q_info)
            has_q = has_q | restart
        self._tokens, self._positions, self._q_prev = new_tokens, new_pos, q_prev
        self._needs_reset = terminated.copy() if not same_step else np.zeros(b, bool)

        infos["position"] = new_pos.copy()
        infos["_position"] = np.ones(b, dtype=bool)
        if has_q.any():
            infos["q_value"] = np.where(has_q, q_info, 0.0)
            infos["_q_value"] = has_q
        if self.vocab is not None:
            infos["text"] = self._texts(new_tokens, new_pos)
            infos["_text"] = np.ones(b, dtype=bool)
        return self._obs(new_tokens), rewards, terminated.copy(), np.zeros(b, dtype=bool), infos

    def action_masks(self) -> np.ndarray:
        """(num_envs, V) bool, all True: every token is allowed (MaskablePPO's ``action_masks`` hook)."""
        return np.ones((self.num_envs, self.vocab_size), dtype=bool)

    def set_model_states(self, generator: Any = None, discriminator: Any = None) -> None:
        """Load new weights into the shared generator and/or discriminator (see :meth:`SeqGANEnv.set_model_states`)."""
        _load_into(self.generator, generator, "generator")
        _load_into(self.discriminator, discriminator, "discriminator")

    def render(self) -> tuple[str, ...] | tuple[np.ndarray, ...] | None:
        """One ``"ansi"`` string (or ``"rgb_array"`` image) per env; ``None`` without a render mode."""
        if self.render_mode is None:
            gym.logger.warn("render() called without render_mode; pass render_mode='ansi'.")
            return None
        lines = tuple(
            _render_row(self._tokens[i], int(self._positions[i]), self.seq_len, self.vocab, self._char_vocab)
            for i in range(self.num_envs)
        )
        return lines if self.render_mode == "ansi" else tuple(_text_image([x]) for x in lines)
