"""SeqGAN as a Gymnasium environment: :class:`SeqGANEnv`, here, and its native batched twin
:class:`~seqgan_env.vector_env.SeqGANVectorEnv` (re-exported here).

Laid out like Gymnasium's ``cartpole.py`` (``CartPoleEnv`` beside ``CartPoleVectorEnv``), with the batched class in
``seqgan_env/vector_env.py`` and what both share in ``seqgan_env/_env_common.py``. Registered at ``import
seqgan_env`` as ``SeqGAN-v0`` (the paper's oracle task) and ``SeqGAN-tiny-v0`` (a small one), with ``gym.make``
building :class:`SeqGANEnv` and ``gym.make_vec`` building :class:`SeqGANVectorEnv` (entry points
``seqgan_env.env:SeqGANEnv`` and ``seqgan_env.env:SeqGANVectorEnv``). The models and the reward come from
:func:`seqgan_env.task.build_task`; the reward of a step is computed by one function in both classes,
:func:`seqgan_env._env_common.reward_step` (one batched :meth:`RolloutReward.prefix_values` call for the prefixes
that need a value, then the mode's rewards). User documentation: ``docs/env.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor

from ._compat import alias_property, renamed_kwarg
from ._env_common import (
    _KWARGS_DOC,
    _SEED_BOUND,
    OBSERVATION_MODES,
    RENDER_MODES,
    REWARD_MODES,
    ObservationMode,
    RewardMode,
    RewardStep,
    _action_to_int,
    _check_choice,
    _check_render_mode,
    _load_into,
    _render_row,
    _spaces,
    _text,
    _text_image,
    _warn_if_worker,
    reward_step,
    sync_models,
)
from .discriminator import Discriminator
from .generator import Generator
from .rewards import RolloutReward
from .task import build_task
from .vector_env import SeqGANVectorEnv

__all__ = ["SeqGANEnv", "SeqGANVectorEnv", "REWARD_MODES", "OBSERVATION_MODES", "sync_models"]


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
    over N rollouts of D(Y_{1:t} + completion) for t < T, Q_T = D(Y_{1:T}); computed by ``env.rollout_reward``, a
    :class:`~seqgan_env.rewards.RolloutReward`):

    * ``"shaped"`` (default): r_t = Q_t - Q_{t-1}, with Q_0 the value of the empty prefix (N full rollouts at
      ``reset``). Potential-based: the undiscounted return from step t is D(Y) - Q_{t-1} and the whole episode
      returns D(Y) - Q_0, so agents that sum rewards (PPO, A2C, DQN-style, gamma = 1) maximise E[D(Y)], the paper's
      objective J(theta), with the paper's Monte Carlo Q as a dense baseline. Use gamma = 1, or the shaping is no
      longer exact. Costs N rollouts every step (and at reset).
    * ``"mc"``: r_t = Q_t. The per-token weights of the paper's REINFORCE loss (sum_t log G(y_t) Q_t), **not** a
      reward to sum: an agent maximising the sum of ``"mc"`` rewards maximises sum_t Q_t. Costs N rollouts.
    * ``"terminal"``: r_t = 0 for t < T and r_T = D(Y): the paper's R_T alone. Sparse; no rollouts at all.

    The rollouts run through ``env.rollout_reward`` on the backend it names (``rollout_reward.backend``): the fused
    Triton kernel (``"auto"`` on CUDA) or its Philox-exact PyTorch twin (CPU), and D scores them in GEMM form. A NaN or
    inf in G's weights or in D's scores raises :class:`~seqgan_env.kernels.NonFiniteError` (a ``ValueError``).

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

    **Example** (the tiny task: V = 32, T = 8; N = 4 rollouts per reward):

    >>> import gymnasium as gym
    >>> import seqgan_env  # registers the ids
    >>> env = gym.make("SeqGAN-tiny-v0", num_rollouts=4)
    >>> env.observation_space, env.action_space
    (Box(0, 32, (8,), int64), Discrete(32))
    >>> obs, info = env.reset(seed=0)
    >>> obs, info["position"], round(info["q_value"], 3)  # all pad (V = 32), t = 0, Q_0
    (array([32, 32, 32, 32, 32, 32, 32, 32]), 0, 0.487)
    >>> q0 = info["q_value"]
    >>> obs, reward, terminated, truncated, info = env.step(5)
    >>> obs, info["position"], terminated, truncated
    (array([ 5, 32, 32, 32, 32, 32, 32, 32]), 1, False, False)
    >>> type(reward), round(reward, 3), round(info["q_value"] - q0, 3)  # "shaped": r_1 = Q_1 - Q_0
    (<class 'float'>, 0.046, 0.046)
    >>> total = reward
    >>> for token in [1, 2, 3, 4, 5, 6, 7]:
    ...     obs, reward, terminated, truncated, info = env.step(token)
    ...     total += reward
    >>> obs, info["position"], terminated
    (array([5, 1, 2, 3, 4, 5, 6, 7]), 8, True)
    >>> abs(total - (info["q_value"] - q0)) < 1e-9  # the return is D(Y) - Q_0 (at T, info["q_value"] is D(Y))
    True

    Attributes:
        generator, discriminator, rollout_reward, oracle (``None`` possible, see ``oracle_params``), vocab_size,
        seq_len, reward_mode, observation_mode, pad_id (= vocab_size), device.
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
        rollout_reward: RolloutReward | None = None,
        observation_mode: ObservationMode = "ids",
        score_fn: Callable[[Tensor], Tensor] | None = None,
        score_precision: str = "fp32",
        reward_fn: RolloutReward | None = None,
    ) -> None:
        _check_choice("reward_mode", reward_mode, REWARD_MODES)
        _check_choice("observation_mode", observation_mode, OBSERVATION_MODES)
        _check_render_mode(render_mode)
        rollout_reward = renamed_kwarg("SeqGANEnv", "reward_fn", reward_fn, "rollout_reward", rollout_reward)
        _warn_if_worker(generator is not None or discriminator is not None or rollout_reward is not None)
        task = build_task(
            preset=preset, vocab_size=vocab_size, seq_len=seq_len, generator=generator, discriminator=discriminator,
            rollout_reward=rollout_reward, num_rollouts=num_rollouts, rollout_policy=rollout_policy,
            reward_backend=reward_backend, score_fn=score_fn, score_precision=score_precision, device=device,
            seed=seed, oracle_params=oracle_params, vocab=vocab,
        )
        self.generator = task.generator
        self.discriminator = task.discriminator
        self.rollout_reward = task.rollout_reward
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
    def _reward_step(self, tokens: np.ndarray, position: int, seed: int, *, restart: bool = False) -> RewardStep:
        """:func:`reward_step` for this one env: the step that wrote ``tokens[:position]`` (or, ``restart``, the
        fresh sequence of a reset)."""
        return reward_step(
            self.rollout_reward, self.reward_mode, tokens[None], np.array([position], np.int64),
            np.array([position == self.seq_len]), np.array([self._q_prev], np.float64),
            np.array([seed], np.int64), pad=self.pad_id, device=self.device, stepped=np.array([not restart]),
            restart=np.array([restart]), restart_seeds=np.array([seed], np.int64),
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
        out = self._reward_step(tokens, 0, rollout_seed, restart=True)
        if out.has_q_info[0]:
            info["q_value"] = float(out.q_info[0])
        self._tokens, self._position, self._q_prev = tokens, 0, float(out.values[0])
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
        info = self._info(tokens, t)
        out = self._reward_step(tokens, t, rollout_seed)
        if out.has_q_info[0]:
            info["q_value"] = float(out.q_info[0])
        self._tokens, self._position, self._q_prev = tokens, t, float(out.values[0])
        return self._obs(tokens), float(out.rewards[0]), t == self.seq_len, False, info

    reward_fn = alias_property("SeqGANEnv", "reward_fn", "rollout_reward")

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

    def decode(self, tokens: Sequence[int] | np.ndarray | Mapping[str, np.ndarray]) -> str:
        """Text of an observation (pad positions dropped) with the attached ``vocab``, else the ids. A dict
        observation (``observation_mode="dict"``) is decoded from its ``"input_ids"``."""
        if isinstance(tokens, Mapping):
            tokens = tokens["input_ids"]
        ids = np.asarray(tokens)
        return _text(ids[ids != self.pad_id], self.vocab, self._char_vocab)
