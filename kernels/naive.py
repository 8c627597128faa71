"""The plain, obviously-correct rollout: softmax + ``torch.multinomial``, one row and one step at a time.

The distribution oracle of the kernel tests (flash-linear-attention's ``naive.py`` pattern). It shares the *function*
of :func:`seqgan_env.kernels.rollout_reference` (same LSTM, same temperature) but none of its code: no tiles, no
Philox, no reservoir. The Philox-exact reference checks the kernel token for token; this oracle checks, by
chi-square tests, that what both compute is a sample from the model.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .rollout import LSTMWeights

__all__ = ["next_token_probs", "rollout_naive"]


@torch.no_grad()
def next_token_probs(weights: LSTMWeights, h: Tensor, temperature: float = 1.0) -> Tensor:
    """softmax((h W_out^T + b_out) / temperature) in float64: (R, H) -> (R, V)."""
    w = LSTMWeights(*weights)
    logits = h.double() @ w.w_out.double().T + w.b_out.double()
    return torch.softmax(logits / float(temperature), dim=-1)


@torch.no_grad()
def rollout_naive(
    weights: LSTMWeights, tokens: Tensor, starts: Tensor, h0: Tensor, c0: Tensor, *,
    generator: torch.Generator | None = None, temperature: float = 1.0,
) -> Tensor:
    """Complete each row of ``tokens`` (R, T) after ``starts[r]`` with ``torch.multinomial`` (float64 softmax) and
    ``torch.nn.LSTMCell``-style updates (torch.sigmoid/tanh). Slow; for tests."""
    w = LSTMWeights(*(t.double() for t in weights))
    out = tokens.clone().long()
    t_len = tokens.shape[1]
    for r in range(tokens.shape[0]):
        h, c = h0[r : r + 1].double(), c0[r : r + 1].double()
        for p in range(int(starts[r]), t_len):
            probs = next_token_probs(w, h, temperature)
            tok = int(torch.multinomial(probs[0], 1, generator=generator))
            out[r, p] = tok
            gates = w.emb[tok][None] @ w.w_ih.T + h @ w.w_hh.T + w.bias
            i, f, g, o = gates.chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
    return out
