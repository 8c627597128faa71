"""The native batched SeqGAN env, :class:`SeqGANVectorEnv`: ``num_envs`` copies of
:class:`~seqgan_env.env.SeqGANEnv` stepped as one batch, with one reward call per step.

``gym.make_vec("SeqGAN-v0", num_envs=n)`` builds it (entry point ``seqgan_env.env:SeqGANVectorEnv``; the class is
re-exported there). Its rewards come from :func:`seqgan_env._env_common.reward_step`, the same function the single
env's step calls. User documentation: ``docs/env.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
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
    _check_actions,
    _check_choice,
    _check_render_mode,
    _load_into,
    _render_row,
    _spaces,
    _text,
    _text_image,
    _warn_if_worker,
    reward_step,
)
from .discriminator import Discriminator
from .generator import Generator
from .rewards import RolloutReward
from .task import build_task

__all__ = ["SeqGANVectorEnv"]


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

    **Example** (the tiny task, two envs; env 0 matches a ``SeqGANEnv`` reset with the same seed):

    >>> import gymnasium as gym
    >>> import numpy as np
    >>> import seqgan_env  # registers the ids
    >>> envs = gym.make_vec("SeqGAN-tiny-v0", num_envs=2, num_rollouts=4)
    >>> envs.single_observation_space, envs.observation_space
    (Box(0, 32, (8,), int64), Box(0, 32, (2, 8), int64))
    >>> envs.single_action_space, envs.action_space
    (Discrete(32), MultiDiscrete([32 32]))
    >>> obs, infos = envs.reset(seed=0)  # env i is seeded with 0 + i
    >>> obs.shape, infos["position"], np.round(infos["q_value"], 3)
    ((2, 8), array([0, 0]), array([0.487, 0.564]))
    >>> obs, rewards, terminated, truncated, infos = envs.step(np.array([5, 6]))
    >>> obs[:, :3]
    array([[ 5, 32, 32],
           [ 6, 32, 32]])
    >>> rewards.dtype, np.round(rewards, 3), terminated, truncated
    (dtype('float64'), array([ 0.046, -0.015]), array([False, False]), array([False, False]))
    >>> env = gym.make("SeqGAN-tiny-v0", num_rollouts=4)
    >>> _ = env.reset(seed=0)
    >>> abs(env.step(5)[1] - float(rewards[0])) < 1e-6  # the single env's reward, up to float rounding
    True
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
        rollout_reward: RolloutReward | None = None,
        observation_mode: ObservationMode = "ids",
        score_fn: Callable[[Tensor], Tensor] | None = None,
        score_precision: str = "fp32",
        max_episode_steps: int | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        reward_fn: RolloutReward | None = None,
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
        rollout_reward = renamed_kwarg("SeqGANVectorEnv", "reward_fn", reward_fn, "rollout_reward", rollout_reward)
        _warn_if_worker(generator is not None or discriminator is not None or rollout_reward is not None)
        task = build_task(
            preset=preset, vocab_size=vocab_size, seq_len=seq_len, generator=generator, discriminator=discriminator,
            rollout_reward=rollout_reward, num_rollouts=num_rollouts, rollout_policy=rollout_policy,
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
        self._was_reset = np.zeros(b, dtype=bool)  # env i has been reset at least once

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
        first = ~self._was_reset
        if seed is None and first.all() and self._init_seed is not None:
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
            s = seeds[i]
            if s is None and first[i] and self._init_seed is not None:
                s = int(self._init_seed) + int(i)  # first reset of env i after a partial first reset: seed + i
            if s is not None:
                self._rngs[i], _ = seeding.np_random(int(s))
        idx = np.flatnonzero(mask)
        reset_seeds = np.zeros(b, dtype=np.int64)
        reset_seeds[idx] = [self._draw(int(i)) for i in idx]
        tokens = self._tokens.copy()
        tokens[idx] = self.pad_id
        none = np.zeros(b, dtype=bool)
        out = reward_step(
            self.rollout_reward, self.reward_mode, tokens, self._positions, none, self._q_prev, reset_seeds,
            pad=self.pad_id, device=self.device, stepped=none, restart=mask, restart_seeds=reset_seeds,
        )
        infos: dict[str, Any] = {"position": np.where(mask, 0, self._positions), "_position": mask.copy()}
        if out.has_q_info.any():
            infos["q_value"] = out.q_info
            infos["_q_value"] = out.has_q_info
        if self.vocab is not None:
            infos["text"] = np.where(mask, "", None).astype(object)
            infos["_text"] = mask.copy()
        self._tokens, self._q_prev = tokens, out.values
        self._positions[idx] = 0
        self._needs_reset[idx] = False
        self._was_reset[idx] = True
        return self._obs(self._tokens), infos

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Append ``actions[i]`` to env i (see the class docstring for autoreset). One reward call."""
        a = _check_actions(actions, self.num_envs, self.vocab_size)
        if not self._was_reset.all():
            never = np.flatnonzero(~self._was_reset).tolist()
            which = "" if len(never) == self.num_envs else f" of envs {never}"
            raise ValueError(f"step() called before reset(){which}; call envs.reset(seed=...) (every env) first.")
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

        out = reward_step(
            self.rollout_reward, self.reward_mode, new_tokens, new_pos, terminated, self._q_prev, step_seeds,
            pad=pad, device=self.device, stepped=stepping, restart=restart, restart_seeds=reset_seeds,
        )

        infos: dict[str, Any] = {}
        if same_step and terminated.any():
            final_obs = np.full(b, None, dtype=object)
            final_info: dict[str, Any] = {"position": np.where(terminated, t_len, 0), "_position": terminated.copy()}
            for i in np.flatnonzero(terminated):
                final_obs[i] = self._obs(new_tokens[i])
            if self.reward_mode != "terminal":
                final_info["q_value"] = np.where(terminated, out.q, 0.0)
                final_info["_q_value"] = terminated.copy()
            if self.vocab is not None:
                final_info["text"] = np.where(terminated, self._texts(new_tokens, new_pos), None).astype(object)
                final_info["_text"] = terminated.copy()
            infos.update(final_obs=final_obs, _final_obs=terminated.copy(), final_info=final_info,
                         _final_info=terminated.copy())

        # Commit the new state.
        new_tokens[restart] = pad
        new_pos[restart] = 0
        self._tokens, self._positions, self._q_prev = new_tokens, new_pos, out.values
        self._needs_reset = terminated.copy() if not same_step else np.zeros(b, bool)

        infos["position"] = new_pos.copy()
        infos["_position"] = np.ones(b, dtype=bool)
        if out.has_q_info.any():
            infos["q_value"] = out.q_info
            infos["_q_value"] = out.has_q_info
        if self.vocab is not None:
            infos["text"] = self._texts(new_tokens, new_pos)
            infos["_text"] = np.ones(b, dtype=bool)
        return self._obs(new_tokens), out.rewards, terminated.copy(), np.zeros(b, dtype=bool), infos

    reward_fn = alias_property("SeqGANVectorEnv", "reward_fn", "rollout_reward")

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
