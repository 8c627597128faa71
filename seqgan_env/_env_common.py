"""What :class:`~seqgan_env.env.SeqGANEnv` and :class:`~seqgan_env.vector_env.SeqGANVectorEnv` share.

The spaces, the action checks, the text rendering, :func:`sync_models`, the constructor arguments' documentation
(``_KWARGS_DOC``, appended to both class docstrings) and :func:`reward_step`, the one place a step's rewards are
computed: the single env calls it with one row, the vector env with ``num_envs`` rows, both for ``step`` and (for
Q_0 in mode ``"shaped"``) ``reset``. Import the public names from :mod:`seqgan_env.env`.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor

from .rewards import RolloutReward

__all__ = [
    "REWARD_MODES", "OBSERVATION_MODES", "RENDER_MODES", "RewardMode", "ObservationMode", "RewardStep", "reward_step",
    "sync_models",
]

REWARD_MODES: tuple[str, ...] = ("shaped", "mc", "terminal")
OBSERVATION_MODES: tuple[str, ...] = ("ids", "dict")
RENDER_MODES: list[str] = ["ansi", "rgb_array"]
_SEED_BOUND = 2**62  # every rollout seed is int(np_random.integers(2**62))

RewardMode = Literal["shaped", "mc", "terminal"]
ObservationMode = Literal["ids", "dict"]


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
    rollout_reward: RolloutReward, tokens: np.ndarray, lengths: np.ndarray, seeds: np.ndarray, pad: int,
    device: torch.device,
) -> np.ndarray:
    """One batched :meth:`RolloutReward.prefix_values` call: (R, T) padded tokens -> (R,) float64 values."""
    ids = torch.from_numpy(np.where(tokens == pad, 0, tokens)).to(device)
    q = rollout_reward.prefix_values(
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


class RewardStep(NamedTuple):
    """What :func:`reward_step` returns, one (B,) array per field."""

    rewards: np.ndarray  #: float64: the step's reward of each row that wrote a token, 0 for the others
    q: np.ndarray  #: float64: Q of each stepped row's new prefix (0 where the mode needs none)
    values: np.ndarray  #: float64: the Q each row carries into its next step (Q_0 for restarted rows)
    q_info: np.ndarray  #: float64: what ``info["q_value"]`` reports (0 where ``has_q_info`` is False)
    has_q_info: np.ndarray  #: bool: the rows whose info reports a ``"q_value"``


def reward_step(
    rollout_reward: RolloutReward,
    mode: str,
    tokens: np.ndarray,
    positions: np.ndarray,
    terminated: np.ndarray,
    q_prev: np.ndarray,
    seeds: np.ndarray,
    *,
    pad: int,
    device: torch.device,
    stepped: np.ndarray | None = None,
    restart: np.ndarray | None = None,
    restart_seeds: np.ndarray | None = None,
) -> RewardStep:
    """The rewards and values of one step of B envs, with at most one :meth:`RolloutReward.prefix_values` call.

    Args:
        rollout_reward: the envs' reward.
        mode: ``"shaped"``, ``"mc"`` or ``"terminal"``.
        tokens: (B, T) int64, each row's sequence after the step (pad id ``pad`` after its position).
        positions: (B,) int64, each row's length after the step.
        terminated: (B,) bool, the rows whose step wrote the T-th token.
        q_prev: (B,) float64, each row's Q before the step (Q_{t-1}; Q_0 after a reset).
        seeds: (B,) int64, the rollout seed of each row's step.
        pad: the pad id (= V).
        device: where ``rollout_reward`` computes.
        stepped: (B,) bool, the rows that wrote a token (default: all). The others get reward 0 and keep
            ``q_prev`` unless restarted.
        restart: (B,) bool, the rows that start a fresh sequence in this call (a ``reset``, or an autoreset);
            default none. In mode ``"shaped"`` each gets Q_0, the value of the empty prefix, keyed by
            ``restart_seeds`` (B,) int64.

    The prefixes that need a value (the stepped ones; in mode ``"terminal"`` only the finished ones; in mode
    ``"shaped"`` also the empty prefixes of restarted rows, after them) go to one batched
    :meth:`RolloutReward.prefix_values` call, no call when none does. Rewards: ``"mc"`` Q_t, ``"terminal"`` D(Y)
    at T else 0, ``"shaped"`` Q_t - Q_{t-1}. A NaN or inf score raises
    :class:`~seqgan_env.kernels.NonFiniteError` there (``RolloutReward.score``), before any reward is paid.

    >>> import gymnasium as gym
    >>> import seqgan_env  # registers the ids
    >>> u = gym.make("SeqGAN-tiny-v0", num_rollouts=4).unwrapped
    >>> tokens = np.full((2, 8), u.pad_id)
    >>> tokens[:, 0] = [5, 6]  # two rows that just wrote their first token
    >>> out = reward_step(u.rollout_reward, "shaped", tokens, np.array([1, 1]), np.array([False, False]),
    ...                   np.array([0.5, 0.25]), np.array([11, 12]), pad=u.pad_id, device=u.device)
    >>> out.rewards.shape, out.has_q_info
    ((2,), array([ True,  True]))
    >>> bool(np.allclose(out.rewards, out.q - [0.5, 0.25])) and bool((out.values == out.q).all())
    True
    """
    b = len(positions)
    stepped = np.ones(b, dtype=bool) if stepped is None else np.asarray(stepped, dtype=bool)
    restart = np.zeros(b, dtype=bool) if restart is None else np.asarray(restart, dtype=bool)
    valued = stepped & _needs_value(mode, terminated)
    fresh = restart if mode == "shaped" else np.zeros(b, dtype=bool)
    n_valued, n_fresh = int(valued.sum()), int(fresh.sum())
    q = np.zeros(b, dtype=np.float64)
    q_reset = np.zeros(b, dtype=np.float64)
    if n_valued + n_fresh:
        rows = np.concatenate([tokens[valued], np.full((n_fresh, tokens.shape[1]), pad, dtype=np.int64)])
        lengths = np.concatenate([positions[valued], np.zeros(n_fresh, np.int64)])
        row_seeds = np.concatenate([seeds[valued], restart_seeds[fresh] if n_fresh else np.zeros(0, np.int64)])
        vals = _values(rollout_reward, rows, lengths, row_seeds, pad, device)
        q[valued] = vals[:n_valued]
        q_reset[fresh] = vals[n_valued:]
    rewards = np.zeros(b, dtype=np.float64)
    rewards[stepped] = _rewards(mode, q[stepped], q_prev[stepped], terminated[stepped])
    values = np.where(restart, q_reset, np.where(stepped, q, q_prev))
    has_q_info = np.where(restart, mode == "shaped", stepped & (mode != "terminal"))
    q_info = np.where(has_q_info, np.where(restart, q_reset, q), 0.0)
    return RewardStep(rewards, q, values, q_info, has_q_info)


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
    from .vector_env import SeqGANVectorEnv  # here: vector_env imports this module

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
        rollout_reward: a :class:`~seqgan_env.rewards.RolloutReward` to share with a trainer; its generator,
            discriminator, N, rollout policy, backend and scorer are used and ``num_rollouts``, ``rollout_policy``,
            ``reward_backend``, ``score_fn`` and ``score_precision`` must be left at their defaults.
        num_rollouts: N, Monte Carlo completions per reward (paper: 16).
        reward_mode: ``"shaped"`` (default: Q_t - Q_{t-1}, the return is D(Y) - Q_0), ``"mc"`` (Q_t each step,
            the weights of the paper's REINFORCE loss) or ``"terminal"`` (D(Y) at T, 0 before); see the class
            docstring.
        observation_mode: ``"ids"`` (default: a ``Box`` of token ids) or ``"dict"`` (``{"input_ids",
            "attention_mask"}``, as text-generation RL libraries use).
        rollout_policy: ``"current"`` (rollouts from G's live weights, as the paper and the reference code) or
            ``"delayed"`` (a copy beta updated by ``env.rollout_reward.update_rollout_policy()`` as
            beta <- 0.8 beta + 0.2 theta; the env never updates it itself).
        reward_backend: the ``RolloutReward`` backend: ``"auto"`` (the fused Triton kernel on CUDA when triton is
            installed, else ``"torch"``), ``"triton"`` (a ``ValueError`` where it cannot run) or ``"torch"`` (the
            kernel's Philox-exact PyTorch twin). ``env.rollout_reward.backend`` names the one that runs.
        score_fn: a custom score replacing D's, ``tokens (R, T) long -> (R,) float`` (for example D plus a bonus,
            or your own reward model); the discriminator then only fixes the sizes.
        score_precision: D's scoring precision: ``"fp32"`` (default, exact), ``"tf32"`` or ``"bf16"``.
        device: where the env builds its models and computes rewards; passed models must already be there.
        seed: seeds the models the env builds (generator and discriminator via ``np.random.SeedSequence(seed)``;
            ``None`` means 0, so the no-argument env is reproducible) and, if ``reset`` is first called without a
            seed, the episode stream (in the native vector env, env i's stream is seeded with ``seed + i``; the
            sync and async ``make_vec`` build every sub-env with the same ``seed``, so call ``envs.reset(seed=s)``
            there, which gives sub-env i the seed ``s + i``, or their reward noise is the same in every env). The
            oracle is the same whatever the seed (random oracle seed 0).
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
