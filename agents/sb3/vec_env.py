"""The SB3 ``VecEnv`` adapter over the native SeqGAN vector env: :class:`SB3VecEnvAdapter` and
:func:`make_sb3_env`."""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvStepReturn

__all__ = ["SB3VecEnvAdapter", "make_sb3_env"]


def _copy_obs(obs: Any) -> Any:
    """A copy of an observation (an int64 array, or a dict of them in ``observation_mode="dict"``)."""
    if isinstance(obs, Mapping):
        return {k: np.array(v, dtype=np.int64, copy=True) for k, v in obs.items()}
    return np.array(obs, dtype=np.int64, copy=True)


def _index_info(infos: Mapping[str, Any], i: int) -> dict[str, Any]:
    """Env ``i``'s entries of a Gymnasium vector ``infos`` dict (arrays with ``_key`` boolean masks)."""
    out: dict[str, Any] = {}
    for key, value in infos.items():
        if key.startswith("_") or key in ("final_obs", "final_info"):
            continue
        mask = infos.get("_" + key)
        if mask is not None and not bool(np.asarray(mask)[i]):
            continue
        if isinstance(value, Mapping):
            out[key] = _index_info(value, i)
        else:
            v = value[i]
            out[key] = v.item() if isinstance(v, np.generic) else v
    return out


class SB3VecEnvAdapter(VecEnv):
    """An SB3 :class:`VecEnv` over a native Gymnasium vector env in ``AutoresetMode.SAME_STEP``.

    ``step_wait`` returns ``(obs (n, T) int64, rewards (n,) float32, dones (n,) bool, infos: list of n dicts)``.
    A done env's observation is already the first observation of its next episode; its info carries
    ``"terminal_observation"`` (the finished (T,) sequence) and ``"TimeLimit.truncated"`` (truncated and not
    terminated), plus the final step's info entries. The reset info of such an env is in ``reset_infos[i]``.

    The native SeqGAN vector env is one batched object, not n separate envs, so ``get_attr``/``set_attr``/
    ``env_method`` act on it and replicate the result for each requested index. ``action_masks`` (for MaskablePPO)
    is the env's own method when it has one, else all actions are allowed.

    **Episode statistics.** A done env's info also carries ``"episode": {"r": return, "l": length, "t": seconds}``,
    as SB3's ``Monitor``/``VecMonitor`` write it, so SB3 logs ``rollout/ep_rew_mean`` and ``ep_len_mean`` without a
    wrapper (a ``VecMonitor`` on top writes the same numbers again).

    **Actions** go to the env unconverted: a float, NaN or out-of-range action raises the env's ``ValueError``
    (3.7 never silently becomes token 3). **Observations** are token ids: do not normalise them
    (``VecNormalize(env, norm_obs=False)``); :class:`TokenSequenceExtractor` refuses non-integer ones.

    Args:
        venv: the native vector env (e.g. ``SeqGANVectorEnv(..., autoreset_mode=AutoresetMode.SAME_STEP)``).
        env_kwargs: the keyword arguments the env was built with (kept for :func:`save_setup`).
    """

    def __init__(self, venv: gym.vector.VectorEnv, env_kwargs: Mapping[str, Any] | None = None) -> None:
        mode = venv.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        if AutoresetMode(mode) != AutoresetMode.SAME_STEP:
            raise ValueError(
                f"SB3VecEnvAdapter needs a vector env in AutoresetMode.SAME_STEP (SB3 resets in the done step), got "
                f"{mode}; build it with autoreset_mode=gymnasium.vector.AutoresetMode.SAME_STEP."
            )
        self.venv = venv
        self.env_kwargs: dict[str, Any] = dict(env_kwargs or {})
        self._actions: np.ndarray | None = None
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self._ep_return = np.zeros(self.num_envs, dtype=np.float64)
        self._ep_length = np.zeros(self.num_envs, dtype=np.int64)
        self._t_start = time.time()

    @property
    def unwrapped(self) -> gym.vector.VectorEnv:
        """The native vector env (``.generator``, ``.discriminator``, ``.rollout_reward``, ``.oracle`` ...)."""
        return self.venv.unwrapped

    # ------------------------------------------------------------------ stepping
    def reset(self) -> np.ndarray:
        """Reset all envs; returns the observations (n, T). Seeds from :meth:`seed` apply to this reset only."""
        seed = self._seeds[0] if self._seeds and self._seeds[0] is not None else None
        options = self._options[0] or None
        obs, infos = self.venv.reset(seed=seed, options=options)
        self.reset_infos = [_index_info(infos, i) for i in range(self.num_envs)]
        self._reset_seeds()
        self._reset_options()
        self._ep_return[:] = 0.0
        self._ep_length[:] = 0
        return _copy_obs(obs)

    def step_async(self, actions: np.ndarray) -> None:
        """Store the actions (n,) (or (n, 1)) for :meth:`step_wait`; the env validates them (dtype and range)."""
        a = np.asarray(actions)
        if a.size != self.num_envs:
            raise ValueError(f"got {a.size} actions for {self.num_envs} envs; pass an integer array of shape "
                             f"({self.num_envs},).")
        self._actions = a.reshape(self.num_envs)

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() called without step_async(actions); call step(actions) instead.")
        obs, rewards, terminated, truncated, infos = self.venv.step(self._actions)
        self._actions = None
        terminated, truncated = np.asarray(terminated, bool), np.asarray(truncated, bool)
        dones = terminated | truncated
        self._ep_return += np.asarray(rewards, dtype=np.float64)
        self._ep_length += 1
        out_infos = [_index_info(infos, i) for i in range(self.num_envs)]
        final_info = infos.get("final_info", {})
        for i in np.flatnonzero(dones):
            self.reset_infos[i] = out_infos[i]
            info = _index_info(final_info, int(i)) if isinstance(final_info, Mapping) else dict(final_info[i] or {})
            info["terminal_observation"] = _copy_obs(infos["final_obs"][i])
            info["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
            info["episode"] = {"r": round(float(self._ep_return[i]), 6), "l": int(self._ep_length[i]),
                               "t": round(time.time() - self._t_start, 6)}
            self._ep_return[i], self._ep_length[i] = 0.0, 0
            out_infos[i] = info
        return _copy_obs(obs), np.asarray(rewards, dtype=np.float32), dones, out_infos

    def close(self) -> None:
        self.venv.close()

    # ------------------------------------------------------------------ attributes and methods
    def _n(self, indices: VecEnvIndices) -> int:
        return len(list(self._get_indices(indices)))

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        if attr_name == "action_masks" and not hasattr(self.unwrapped, "action_masks"):
            return [self._all_actions_mask] * self._n(indices)
        if attr_name == "render_mode":
            return [getattr(self.venv, "render_mode", None)] * self._n(indices)
        return [getattr(self.unwrapped, attr_name)] * self._n(indices)

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self.unwrapped, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any):
        idx = list(self._get_indices(indices))
        if method_name == "action_masks":
            if hasattr(self.unwrapped, "action_masks"):
                masks = np.asarray(self.unwrapped.action_masks(*method_args, **method_kwargs))
                return [masks[i] for i in idx]
            return [self._all_actions_mask() for _ in idx]
        result = getattr(self.unwrapped, method_name)(*method_args, **method_kwargs)
        return [result] * len(idx)

    def _all_actions_mask(self) -> np.ndarray:
        return np.ones(int(self.action_space.n), dtype=bool)

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        """True only for SB3's ``Monitor``: the adapter writes its ``info["episode"]`` statistics itself (so
        ``evaluate_policy`` and ``EvalCallback`` read true episode returns without a wrapper)."""
        from stable_baselines3.common.monitor import Monitor

        return [wrapper_class is Monitor] * self._n(indices)

    def get_images(self) -> Sequence[np.ndarray | None]:
        """One ``rgb_array`` frame per env (build the env with ``render_mode="rgb_array"``), for ``render()`` and
        ``VecVideoRecorder``."""
        frames = self.venv.render()
        return [None] * self.num_envs if frames is None else list(frames)

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Seeds for the next :meth:`reset` (env i gets ``seed + i``; the native env takes ``seed``)."""
        return super().seed(seed)


def make_sb3_env(num_envs: int = 8, **env_kwargs: Any) -> SB3VecEnvAdapter:
    """``SeqGANVectorEnv(num_envs=..., autoreset_mode=SAME_STEP, **env_kwargs)`` under :class:`SB3VecEnvAdapter`.

    ``env_kwargs`` are the env's (``preset``, ``reward_mode``, ``num_rollouts``, ``seed``, ``oracle_params``,
    ``generator``, ``discriminator`` ...); they are remembered for :func:`save_setup`. SB3's algorithms maximise the
    sum of rewards, so keep the env's default ``reward_mode="shaped"`` (or ``"terminal"``); ``"mc"`` draws a
    warning (its rewards sum to sum_t Q_t, not the paper's objective).
    """
    from seqgan_env.env import SeqGANVectorEnv

    if env_kwargs.get("reward_mode") == "mc":
        warnings.warn(
            "reward_mode='mc' pays Q_t every step; SB3 algorithms sum rewards, so they would maximise sum_t Q_t "
            "instead of the paper's E[D(Y)]. Use reward_mode='shaped' (same Q, as Q_t - Q_{t-1}) or 'terminal'.",
            stacklevel=2,
        )

    venv = SeqGANVectorEnv(num_envs=num_envs, autoreset_mode=AutoresetMode.SAME_STEP, **env_kwargs)
    return SB3VecEnvAdapter(venv, {"num_envs": num_envs, **env_kwargs})
