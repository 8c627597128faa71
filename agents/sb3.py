"""Stable-Baselines3 on the SeqGAN env: the VecEnv adapter, a token-sequence features extractor, the
discriminator callback and whole-setup checkpoints.

Shapes: V is the vocabulary, T the sequence length, n the number of envs. An observation is a (T,) vector of token
ids with the pad value V at positions not generated yet; SB3 hands it to the policy as a float tensor (B, T), which
:class:`TokenSequenceExtractor` casts back to ``long``. An action is a token id in [0, V).

**Who rolls out?** The env computes its Monte Carlo rewards (``reward_mode="mc"`` and ``"shaped"``) with its own
``generator`` (``env.unwrapped.generator``, a :class:`~seqgan_env.generator.Generator`), *not* with the SB3 policy.
Unless you sync it, that generator stays what it was when the env was built (for the example script: the
MLE-pretrained G), so Q_t estimates "how good is this prefix if a fixed MLE model finishes it". Two ways out:

* use ``reward_mode="terminal"`` (no rollouts; reward D(Y) at t = T), or ``"shaped"`` (r_t = Q_t - Q_{t-1}: the
  same return D(Y) - Q_0 as "terminal" but a denser signal; its Q_t come from the env's generator, and since the
  shaping is potential-based the optimal policy does not depend on which generator rolls out); these are the
  natural modes for SB3;
* build the policy in the generator's layout (:func:`generator_policy_kwargs`, LSTM extractor with the generator's
  sizes and ``net_arch=dict(pi=[], ...)``) and pass ``sync_generator=env.unwrapped.generator`` (or ``trainer=``)
  to :class:`DiscriminatorCallback`: the policy's weights are then copied into the env's generator at the start of
  training, of every rollout and at the end (:func:`policy_to_generator`), so the rollouts follow the current
  policy, as in the reference code. :func:`generator_to_policy` warm-starts such a policy from an MLE-pretrained
  generator (the policy's distribution then equals G's exactly).

Everything here is CPU/GPU agnostic; the policies live on SB3's ``device``, G and D on the env's.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvStepReturn
from torch import Tensor, nn

from seqgan_env.data import iterate_batches
from seqgan_env.discriminator import Discriminator
from seqgan_env.files import load_checked, save_checked
from seqgan_env.generator import Generator
from seqgan_env.training import make_discriminator_optimizer, train_discriminator

__all__ = [
    "SB3VecEnvAdapter",
    "make_sb3_env",
    "TokenSequenceExtractor",
    "generator_policy_kwargs",
    "generator_to_policy",
    "policy_to_generator",
    "sample_policy_sequences",
    "make_discriminator_step",
    "DiscriminatorCallback",
    "Setup",
    "save_setup",
    "load_setup",
]

#: Env keyword arguments that are objects; :func:`save_setup` stores them as weights, not in ``env_config.json``.
_OBJECT_KWARGS = ("generator", "discriminator", "reward_fn", "vocab", "score_fn")


# ====================================================================== the VecEnv adapter
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
        """The native vector env (``.generator``, ``.discriminator``, ``.reward_fn``, ``.oracle`` ...)."""
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
        return [False] * self._n(indices)

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


# ====================================================================== the features extractor
class TokenSequenceExtractor(BaseFeaturesExtractor):
    """Embedding of the V + 1 ids (V is the pad) and an LSTM or GRU over ``[start, y_1 .. y_t]``.

    ``forward(obs)``: obs (B, T) float token ids (pad V after the prefix) -> (B, hidden_dim), the recurrent state
    after the start token and the t generated tokens, i.e. the state whose output predicts y_{t+1} (as
    :meth:`seqgan_env.generator.Generator.prefix_states`). With ``rnn="lstm"`` and the generator's sizes the
    extractor holds exactly a generator's embedding and LSTM (see :func:`generator_to_policy`).

    Observations must be token ids: values that are not integers in [0, V] (what ``VecNormalize`` with its default
    ``norm_obs=True`` produces) raise a ``ValueError`` instead of being rounded into wrong tokens.

    Args:
        observation_space: ``Box(0, V, (T,))`` (V is read from its upper bound), or the env's
            ``observation_mode="dict"`` space, whose ``"input_ids"`` are used.
        emb_dim: embedding size.
        hidden_dim: recurrent size (the features dimension).
        rnn: ``"lstm"`` or ``"gru"``.
        start_token: the id fed before the first token (the generator's ``start_token``, 0).
    """

    def __init__(
        self,
        observation_space: spaces.Box | spaces.Dict,
        emb_dim: int = 32,
        hidden_dim: int = 32,
        rnn: Literal["lstm", "gru"] = "lstm",
        start_token: int = 0,
    ) -> None:
        ids_space = observation_space
        self.dict_key: str | None = None
        if isinstance(observation_space, spaces.Dict) and "input_ids" in observation_space.spaces:
            ids_space, self.dict_key = observation_space["input_ids"], "input_ids"
        if not isinstance(ids_space, spaces.Box) or len(ids_space.shape) != 1:
            raise ValueError(
                f"TokenSequenceExtractor needs a Box(0, V, (T,)) obs space (or a Dict with 'input_ids'), got "
                f"{observation_space}."
            )
        super().__init__(observation_space, features_dim=hidden_dim)
        self.pad_id = int(np.max(ids_space.high))
        self.seq_len = int(ids_space.shape[0])
        if not 0 <= start_token < self.pad_id:
            raise ValueError(f"start_token={start_token} must be in [0, V={self.pad_id}).")
        self.start_token = int(start_token)
        self.rnn_type = rnn
        self.embedding = nn.Embedding(self.pad_id + 1, emb_dim)
        if rnn == "lstm":
            self.rnn: nn.LSTM | nn.GRU = nn.LSTM(emb_dim, hidden_dim, batch_first=True)
        elif rnn == "gru":
            self.rnn = nn.GRU(emb_dim, hidden_dim, batch_first=True)
        else:
            raise ValueError(f"rnn={rnn!r}; use 'lstm' or 'gru'.")

    def forward(self, observations: Tensor | dict[str, Tensor]) -> Tensor:
        obs = observations[self.dict_key] if self.dict_key is not None else observations  # type: ignore[index]
        if obs.is_floating_point():
            bad = (obs != obs.round()) | (obs < 0) | (obs > self.pad_id)
            if bool(bad.any()):
                raise ValueError(
                    f"observations are not token ids (values such as {float(obs[bad][0]):.4g}, expected integers in "
                    f"[0, {self.pad_id}]); they look normalised: wrap the env with VecNormalize(env, norm_obs=False) "
                    "(reward normalisation is fine)."
                )
        tokens = obs.long()  # (B, T)
        lengths = (tokens != self.pad_id).sum(dim=1)  # (B,) prefix lengths t
        start = torch.full_like(tokens[:, :1], self.start_token)
        out, _ = self.rnn(self.embedding(torch.cat([start, tokens], dim=1)))  # (B, T + 1, H)
        return out[torch.arange(tokens.shape[0], device=tokens.device), lengths]  # (B, H)


def generator_policy_kwargs(
    generator: Generator, vf_arch: Sequence[int] = (64,), share_features_extractor: bool = False
) -> dict[str, Any]:
    """``policy_kwargs`` for an ``ActorCriticPolicy`` laid out like ``generator``: LSTM extractor with its sizes and
    no hidden policy layer, so ``action_net`` is the generator's output layer. The critic gets its own extractor by
    default (so value-loss gradients do not move the policy's LSTM) and an MLP ``vf_arch``."""
    c = generator.config
    return {
        "features_extractor_class": TokenSequenceExtractor,
        "features_extractor_kwargs": {
            "emb_dim": c.emb_dim, "hidden_dim": c.hidden_dim, "rnn": "lstm", "start_token": c.start_token,
        },
        "net_arch": {"pi": [], "vf": list(vf_arch)},
        "share_features_extractor": share_features_extractor,
    }


def _policy_parts(policy: nn.Module) -> tuple[TokenSequenceExtractor, nn.Linear]:
    ext = getattr(policy, "pi_features_extractor", None) or getattr(policy, "features_extractor", None)
    head = getattr(policy, "action_net", None)
    latent = getattr(getattr(policy, "mlp_extractor", None), "latent_dim_pi", None)
    if not isinstance(ext, TokenSequenceExtractor) or ext.rnn_type != "lstm" or not isinstance(head, nn.Linear):
        raise ValueError(
            "the policy is not in the generator's layout; build it with policy_kwargs=generator_policy_kwargs(G)."
        )
    if latent is not None and latent != ext.features_dim:
        raise ValueError("the policy has hidden layers between the extractor and action_net; use net_arch pi=[].")
    return ext, head


@torch.no_grad()
def generator_to_policy(generator: Generator, policy: nn.Module, *, critic_too: bool = True) -> None:
    """Copy ``generator``'s weights into a policy built with :func:`generator_policy_kwargs`.

    Afterwards the policy's action distribution at every prefix equals G's next-token distribution. With
    ``critic_too`` the critic's separate extractor (if any) starts from the same embedding and LSTM.
    """
    ext, head = _policy_parts(policy)
    exts = [ext]
    vf_ext = getattr(policy, "vf_features_extractor", None)
    if critic_too and isinstance(vf_ext, TokenSequenceExtractor) and vf_ext is not ext and vf_ext.rnn_type == "lstm":
        exts.append(vf_ext)
    v = generator.vocab_size
    for e in exts:
        if e.pad_id != v or e.embedding.weight.shape[1] != generator.config.emb_dim:
            raise ValueError(f"policy sizes (V={e.pad_id}) do not match the generator's (V={v}).")
        e.embedding.weight[:v].copy_(generator.embedding.weight)
        e.embedding.weight[v].zero_()
        e.start_token = generator.config.start_token
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(e.rnn, name).copy_(getattr(generator.lstm, name))
    head.weight.copy_(generator.out.weight)
    head.bias.copy_(generator.out.bias)


@torch.no_grad()
def policy_to_generator(policy: nn.Module, generator: Generator) -> None:
    """Copy a generator-layout policy's actor into ``generator`` (the inverse of :func:`generator_to_policy`).

    PyTorch's second LSTM bias is folded into the first, since the generator keeps ``bias_hh`` at zero.
    """
    ext, head = _policy_parts(policy)
    v = generator.vocab_size
    if ext.pad_id != v:
        raise ValueError(f"policy V={ext.pad_id} does not match the generator's V={v}.")
    generator.embedding.weight.copy_(ext.embedding.weight[:v])
    generator.lstm.weight_ih_l0.copy_(ext.rnn.weight_ih_l0)
    generator.lstm.weight_hh_l0.copy_(ext.rnn.weight_hh_l0)
    generator.lstm.bias_ih_l0.copy_(ext.rnn.bias_ih_l0 + ext.rnn.bias_hh_l0)
    generator.lstm.bias_hh_l0.zero_()
    generator.out.weight.copy_(head.weight)
    generator.out.bias.copy_(head.bias)


# ====================================================================== sampling from a policy
@torch.no_grad()
def sample_policy_sequences(
    model: Any, num: int, seq_len: int, vocab_size: int, *, seed: int = 0, batch_size: int = 1024
) -> Tensor:
    """Sample ``num`` complete sequences (num, T) long from an SB3-style algorithm, seeded.

    Runs ``model.predict(obs, state, episode_start, deterministic=False)`` position by position on pad-filled
    observations (works for PPO, A2C, RecurrentPPO and MaskablePPO without touching the env). A model with its own
    ``sample_sequences(num, seed=...)`` (e.g. :class:`~seqgan_env.agents.sb3_reinforce.ReinforceAlgorithm`) is
    asked directly. The torch RNG is forked, so the caller's global RNG state is unchanged.
    """
    if hasattr(model, "sample_sequences"):
        return model.sample_sequences(num, seed=seed)
    chunks = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for i in range(0, num, batch_size):
            b = min(batch_size, num - i)
            obs = np.full((b, seq_len), vocab_size, dtype=np.int64)
            state, start = None, np.ones(b, dtype=bool)
            for t in range(seq_len):
                actions, state = model.predict(obs, state=state, episode_start=start, deterministic=False)
                obs[:, t] = np.asarray(actions).reshape(b)
                start = np.zeros(b, dtype=bool)
            chunks.append(torch.as_tensor(obs))
    return torch.cat(chunks) if chunks else torch.empty(0, seq_len, dtype=torch.long)


def _sequences_from_buffer(buffer: Any, seq_len: int, vocab_size: int) -> Tensor:
    """Complete sequences in an SB3 rollout buffer: the steps whose observation holds T-1 tokens, plus the action."""
    obs = np.asarray(buffer.observations).reshape(-1, seq_len)
    act = np.asarray(buffer.actions).reshape(-1)
    last = (obs != vocab_size).sum(axis=1) == seq_len - 1
    seqs = obs[last].round().astype(np.int64)
    seqs[:, -1] = act[last].astype(np.int64)
    return torch.as_tensor(seqs)


# ====================================================================== the discriminator callback
DiscriminatorStep = Callable[[Tensor], Mapping[str, float]]


def make_discriminator_step(
    discriminator: Discriminator,
    real: Tensor,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    epochs: int = 3,
    batch_size: int = 64,
    seed: int = 0,
) -> DiscriminatorStep:
    """The reference code's discriminator update as a function ``fake (M, T) -> {"d_loss", "d_acc"}``.

    Each call draws M real sequences from ``real`` (N, T) (shuffled, seeded), then trains D for ``epochs`` passes
    over the M real + M fake (:func:`seqgan_env.training.train_discriminator`, Adam 1e-4, batch 64). Use it when no
    :class:`~seqgan_env.agents.trainer.AdversarialTrainer` is at hand; with one, pass
    ``trainer.discriminator_step``-based callable instead.
    """
    opt = optimizer or make_discriminator_optimizer(discriminator)
    rng = torch.Generator().manual_seed(seed)

    def step(fake: Tensor) -> dict[str, float]:
        m = min(fake.shape[0], real.shape[0])
        real_batch = next(iterate_batches(real, m, shuffle=True, generator=rng))
        stats = train_discriminator(discriminator, opt, real_batch, fake[:m], epochs=epochs, batch_size=batch_size,
                                    rng=rng)
        return {"d_loss": stats.loss, "d_acc": stats.accuracy}

    step.optimizer = opt  # type: ignore[attr-defined]
    return step


class DiscriminatorCallback(BaseCallback):
    """Retrain the discriminator every ``every_rollouts`` rollouts (in ``_on_rollout_end``) and log ``gan/*``.

    Two ways to retrain D, both with fresh negatives from the policy being trained:

    * ``trainer=`` an :class:`~seqgan_env.agents.trainer.AdversarialTrainer`: calls its public
      ``trainer.discriminator_step(epochs)``, which samples the negatives from ``trainer.generator`` (against real
      oracle data, with the trainer's optimizer, schedule and random streams). The callback therefore keeps
      ``trainer.generator`` equal to the policy (``sync_generator`` defaults to it), which needs a policy in the
      generator's layout (:func:`generator_policy_kwargs`) or a model whose ``policy`` *is* that generator
      (:class:`~seqgan_env.agents.sb3_reinforce.ReinforceAlgorithm`).
    * ``discriminator_step=`` any ``fake (M, T) long -> metrics`` (e.g. :func:`make_discriminator_step`): the
      callback draws the M negatives itself, for any policy (RecurrentPPO, a GRU extractor ...):
      ``negatives="policy"`` samples ``num_negatives`` sequences with :func:`sample_policy_sequences`;
      ``"buffer"`` takes the complete sequences of the rollout buffer just collected (no extra sampling).

    After each retraining it records ``gan/d_loss``, ``gan/d_acc``, ``gan/rounds``, ``gan/d_score_fake`` (mean D
    of the negatives after the update, ``discriminator_step`` form) and whatever ``metrics_fn()`` returns, all under
    ``gan/``, and appends them to :attr:`history`.

    **Syncing the env's rollout policy.** With ``sync_generator`` (a :class:`Generator`, typically
    ``env.unwrapped.generator``), the policy's weights are copied into it (:func:`policy_to_generator`) at the start
    of training, at the start of every rollout (after the previous ``train()``) and at the end, so the env's Monte
    Carlo rollouts and the trainer's negatives follow the current policy, as in the reference code.

    **Envs that hold copies.** With ``push_models`` (default), after every sync and every retraining the callback
    pushes ``sync_generator`` and ``discriminator`` to the training env with
    :func:`seqgan_env.env.sync_models`: a ``SubprocVecEnv`` (or a ``DummyVecEnv`` of separately built envs) then
    rewards with the current models too. Envs that share the very objects (the native adapter) are skipped.

    Args:
        discriminator_step: ``fake (M, T) long -> metrics`` (exclusive with ``trainer``).
        trainer: the adversarial trainer whose ``discriminator_step`` to call (exclusive with the above).
        epochs: epochs per retraining in the ``trainer`` form (default: the trainer's ``schedule.d_epochs``).
        discriminator: the D being trained (for ``gan/d_score_fake``; default ``trainer.discriminator``).
        every_rollouts: K.
        num_negatives: M for ``negatives="policy"``.
        negatives: ``"policy"`` or ``"buffer"`` (``discriminator_step`` form).
        sync_generator: see above (default ``trainer.generator`` in the ``trainer`` form, else None).
        metrics_fn: optional ``() -> {name: value}``, evaluated after each retraining and logged as ``gan/name``.
        on_round: optional ``(round, metrics) -> None`` hook (e.g. a CSV writer), called after each retraining.
        seed: base seed of the negative sampling (round r uses ``seed + r``).
        push_models: push the models to envs that hold copies (see above).
    """

    def __init__(
        self,
        discriminator_step: DiscriminatorStep | None = None,
        *,
        trainer: Any = None,
        epochs: int | None = None,
        discriminator: Discriminator | None = None,
        every_rollouts: int = 1,
        num_negatives: int = 256,
        negatives: Literal["policy", "buffer"] = "policy",
        sync_generator: Generator | None = None,
        metrics_fn: Callable[[], Mapping[str, float]] | None = None,
        on_round: Callable[[int, dict[str, float]], None] | None = None,
        seed: int = 0,
        push_models: bool = True,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        if (discriminator_step is None) == (trainer is None):
            raise ValueError("pass exactly one of discriminator_step= or trainer=.")
        if every_rollouts < 1:
            raise ValueError(f"every_rollouts={every_rollouts} must be >= 1.")
        if negatives not in ("policy", "buffer"):
            raise ValueError(f"negatives={negatives!r}; use 'policy' or 'buffer'.")
        self.discriminator_step = discriminator_step
        self.trainer = trainer
        self.epochs = epochs
        self.discriminator = discriminator if discriminator is not None or trainer is None else trainer.discriminator
        self.every_rollouts = every_rollouts
        self.num_negatives = num_negatives
        self.negatives = negatives
        self.sync_generator = sync_generator if sync_generator is not None or trainer is None else trainer.generator
        self.metrics_fn = metrics_fn
        self.on_round = on_round
        self.seed = seed
        self.push_models = push_models
        self.rollouts = 0
        self.rounds = 0
        self.history: list[dict[str, float]] = []

    def _shape(self) -> tuple[int, int]:
        space = self.model.observation_space
        return int(space.shape[0]), int(np.max(space.high))

    def _sync(self) -> None:
        g = self.sync_generator
        if g is not None and self.model.policy is not g:
            policy_to_generator(self.model.policy, g)
        self._push()

    def _push(self) -> None:
        """Send the current G and D to envs that hold copies of them (no-op for envs sharing the objects)."""
        env = self.training_env
        if not self.push_models or env is None or (self.sync_generator is None and self.discriminator is None):
            return
        from seqgan_env.env import sync_models

        sync_models(env, generator=self.sync_generator, discriminator=self.discriminator)

    def _on_training_start(self) -> None:
        if self.sync_generator is not None and self.model.policy is not self.sync_generator:
            _policy_parts(self.model.policy)  # raises a clear error unless the policy is in the generator's layout
        self._sync()

    def _on_rollout_start(self) -> None:
        self._sync()  # after the previous train(): this rollout's env rollouts follow the current policy

    def _on_training_end(self) -> None:
        self._sync()

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self.rollouts += 1
        if self.rollouts % self.every_rollouts:
            return
        metrics: dict[str, float]
        if self.trainer is not None:
            self._sync()
            stats = self.trainer.discriminator_step(self.epochs)
            metrics = {"d_loss": float(stats.loss), "d_acc": float(stats.accuracy)}
        else:
            assert self.discriminator_step is not None
            seq_len, vocab = self._shape()
            if self.negatives == "buffer":
                fake = _sequences_from_buffer(self.model.rollout_buffer, seq_len, vocab)
            else:
                fake = sample_policy_sequences(self.model, self.num_negatives, seq_len, vocab,
                                               seed=self.seed + self.rounds)
            if fake.shape[0] == 0:
                return
            metrics = {k: float(v) for k, v in self.discriminator_step(fake).items()}
            if self.discriminator is not None:
                d = self.discriminator
                metrics["d_score_fake"] = float(d.prob_real(fake.to(d.device)).mean())
        self._push()
        self.rounds += 1
        metrics["rounds"] = float(self.rounds)
        if self.metrics_fn is not None:
            metrics.update({k: float(v) for k, v in self.metrics_fn().items()})
        for k, v in metrics.items():
            self.logger.record(f"gan/{k}", v)
        self.history.append({"timesteps": float(self.num_timesteps), **metrics})
        if self.on_round is not None:
            self.on_round(self.rounds, metrics)


# ====================================================================== whole-setup checkpoints
@dataclasses.dataclass
class Setup:
    """What :func:`load_setup` returns: the algorithm, the env (adapter) and the discriminator it reads."""

    model: Any
    env: SB3VecEnvAdapter
    discriminator: Discriminator
    extra: dict[str, Any]


def _jsonable(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The env kwargs that go to ``env_config.json``: plain values (paths and devices as strings); model objects
    and the autoreset mode (the adapter always uses SAME_STEP) are left out."""
    out: dict[str, Any] = {}
    for k, v in kwargs.items():
        if k in _OBJECT_KWARGS or isinstance(v, AutoresetMode):
            continue
        if isinstance(v, (Path, torch.device)):
            v = str(v)
        if v is not None and not isinstance(v, (bool, int, float, str)):
            raise ValueError(f"env kwarg {k}={v!r} cannot be saved in env_config.json; pass a plain value.")
        out[k] = v
    return out


def save_setup(
    directory: str | Path, model: Any, env: SB3VecEnvAdapter, *, extra: Mapping[str, Any] | None = None
) -> Path:
    """Save the algorithm, the env's discriminator and generator, and the env config in one directory.

    Files: ``model.zip`` (``model.save``; any object with ``save``/``load``), ``algo.json`` (the algorithm's class
    path), ``env_config.json`` (the env's plain keyword arguments; the reference oracle is stored by path, never
    copied), ``discriminator.pt`` and ``generator.pt`` (the env's D and rollout generator: config and weights), and
    ``extra`` in ``algo.json``. Returns the directory.

    Not saved: a ``vocab`` object and a custom ``reward_fn`` (``load_setup`` rebuilds the reward from G, D and the
    saved ``num_rollouts``/``rollout_policy``/``reward_backend``; pass ``vocab=`` to ``load_setup`` again).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    base = env.unwrapped
    model.save(directory / "model.zip")
    cls = type(model)
    (directory / "algo.json").write_text(json.dumps(
        {"class": f"{cls.__module__}:{cls.__qualname__}", "extra": dict(extra or {})}, indent=2))
    (directory / "env_config.json").write_text(json.dumps(_jsonable(env.env_kwargs), indent=2))
    for name in ("discriminator", "generator"):
        module = getattr(base, name)
        save_checked(directory / f"{name}.pt",
                     {"config": dataclasses.asdict(module.config), "state_dict": module.state_dict()})
    return directory


def _config_from(cls: type, d: Mapping[str, Any]) -> Any:
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


#: Modules ``load_setup`` may import an algorithm class from (``algo.json`` names the class; nothing else is imported).
ALGORITHM_MODULES: tuple[str, ...] = ("stable_baselines3", "sb3_contrib", "seqgan_env.agents")


def _algorithm_class(path: str, directory: Path) -> type:
    """The class named ``module:qualname`` in ``algo.json``, only from :data:`ALGORITHM_MODULES`, and only an SB3
    ``BaseAlgorithm`` or :class:`~seqgan_env.agents.sb3_reinforce.ReinforceAlgorithm`."""
    module, _, qualname = path.partition(":")
    if not qualname or module.split(".")[0] not in {m.split(".")[0] for m in ALGORITHM_MODULES} or not any(
        module == m or module.startswith(m + ".") for m in ALGORITHM_MODULES
    ):
        raise ValueError(
            f"{directory / 'algo.json'} names the algorithm class {path!r}; load_setup only loads classes from "
            f"{list(ALGORITHM_MODULES)} (SB3, sb3-contrib, this package). Load other algorithms yourself."
        )
    from .sb3_reinforce import ReinforceAlgorithm

    cls: Any = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part, None)
    if not (isinstance(cls, type) and (issubclass(cls, BaseAlgorithm) or issubclass(cls, ReinforceAlgorithm))):
        raise ValueError(f"{path!r} in {directory / 'algo.json'} is not an SB3 algorithm class.")
    return cls


def load_setup(directory: str | Path, *, device: str = "cpu", **env_overrides: Any) -> Setup:
    """Rebuild what :func:`save_setup` wrote: the env (same config, the saved D and generator), then the model
    loaded onto it. ``env_overrides`` replace saved env kwargs (e.g. ``oracle_params`` on another machine)."""
    from seqgan_env.config import DiscriminatorConfig, GeneratorConfig

    directory = Path(directory)
    meta = json.loads((directory / "algo.json").read_text())
    env_kwargs = json.loads((directory / "env_config.json").read_text())
    env_kwargs.update(env_overrides)
    saved = {n: load_checked(directory / f"{n}.pt", what=f"{n} file") for n in ("discriminator", "generator")}
    disc = Discriminator(_config_from(DiscriminatorConfig, saved["discriminator"]["config"]))
    disc.load_state_dict(saved["discriminator"]["state_dict"])
    gen = Generator(_config_from(GeneratorConfig, saved["generator"]["config"]))
    gen.load_state_dict(saved["generator"]["state_dict"])
    env = make_sb3_env(generator=gen, discriminator=disc, **env_kwargs)
    cls = _algorithm_class(str(meta.get("class", "")), directory)
    if issubclass(cls, BaseAlgorithm):
        model = cls.load(directory / "model.zip", env=env, device=device)
    else:
        model = cls.load(directory / "model.zip", env=env, discriminator=disc)
    return Setup(model=model, env=env, discriminator=disc, extra=meta.get("extra", {}))
