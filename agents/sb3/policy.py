"""Policies in the generator's layout: the token-sequence features extractor, the weight copies between a
:class:`~seqgan_env.generator.Generator` and an SB3 policy, and sampling complete sequences from a policy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import Tensor, nn

from seqgan_env.generator import Generator

__all__ = [
    "TokenSequenceExtractor",
    "generator_policy_kwargs",
    "generator_to_policy",
    "policy_to_generator",
    "sample_policy_sequences",
]


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
    dict_obs = isinstance(getattr(model, "observation_space", None), spaces.Dict)  # observation_mode="dict"
    chunks = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for i in range(0, num, batch_size):
            b = min(batch_size, num - i)
            obs = np.full((b, seq_len), vocab_size, dtype=np.int64)
            state, start = None, np.ones(b, dtype=bool)
            for t in range(seq_len):
                x = {"input_ids": obs, "attention_mask": (obs != vocab_size).astype(np.int64)} if dict_obs else obs
                actions, state = model.predict(x, state=state, episode_start=start, deterministic=False)
                obs[:, t] = np.asarray(actions).reshape(b)
                start = np.zeros(b, dtype=bool)
            chunks.append(torch.as_tensor(obs))
    return torch.cat(chunks) if chunks else torch.empty(0, seq_len, dtype=torch.long)

