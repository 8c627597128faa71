"""Discriminator scoring for rollout batches in GEMM form: D(Y) = softmax(logits)[:, 1], no dropout.

The same function as :meth:`seqgan_env.discriminator.Discriminator.prob_real`, restructured for large batches
(19,456 rows per reward at the paper config):

    e = Emb[y]                                  one gather per chunk, (b, T, E)
    for each width k (F_k filters):             one GEMM per width, (b*(T-k+1), k*E) x (k*E, F_k)
        p_k = max_s (windows_k(e) W_k^T)        max over time of the raw GEMM output ...
    p = relu(concat_k p_k + b_conv)             ... then bias and ReLU once on (b, 1720): max_s relu(z_s + b) =
                                                relu(max_s z_s + b) exactly, since x -> fl(x + b) and relu are
                                                monotone. This removes two passes over the (b, T-k+1, F_k) maps.
    highway + output layer as in the module; D = sigmoid(l_1 - l_0) (= softmax(l)[:, 1]).

The convolutions are GEMMs over unfolded windows, never cuDNN conv2d (which gave wrong outputs at batch 19,456 on
an H200, max error 2.3 against float64, measured while this project was set up).
Memory per chunk of b rows: the windows, sum_k (T-k+1) k E = 880 E words per row at
the paper config (225 KB per row in fp32), and the per-width maps, 23,620 words per row; ``batch_size`` bounds it.
FLOPs per row at the paper config: 15.2 MFLOP (convolutions) + 11.8 MFLOP (highway) + tiny.

Precision (``precision=``) and measured tolerance against ``prob_real`` in fp32:

* ``"fp32"``: fp32 GEMMs (TF32 disabled for the call); equal to ``prob_real`` to about 1e-6 (summation order).
* ``"tf32"``: ``torch.set_float32_matmul_precision("high")`` for the call (TF32 tensor cores on CUDA; no effect on
  CPU); estimated <~ 4e-3 absolute on D at the paper config (tests allow 1e-2).
* ``"bf16"``: ``torch.autocast(dtype=torch.bfloat16)``; inputs rounded to 8-bit mantissas, fp32 accumulation;
  tests allow 5e-2 absolute on D (measured on CPU at the paper config, 512 random rows: max 1.8e-2, mean 2.2e-3).

Measured fp32 error against the module run in float64: 1.3e-6 (the module itself in fp32: the same). The tf32 bound
is an estimate from its 10-bit mantissa (bf16 has 7), to be confirmed by the GPU test at batch 19,456.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Literal

import torch
from torch import Tensor

from seqgan_env.discriminator import Discriminator
from seqgan_env.generator import check_tokens

__all__ = ["disc_score", "make_score_fn", "score_unchecked", "DiscScorer", "ScorePrecision", "TOLERANCE"]

ScorePrecision = Literal["fp32", "tf32", "bf16"]
TOLERANCE: dict[str, float] = {"fp32": 1e-5, "tf32": 1e-2, "bf16": 5e-2}  # max |D - prob_real| the tests allow


@contextlib.contextmanager
def _precision(precision: str, device: torch.device) -> Iterator[None]:
    if precision not in TOLERANCE:
        raise ValueError(f"precision={precision!r}; use 'fp32', 'tf32' or 'bf16'.")
    old = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high" if precision == "tf32" else "highest")
    try:
        if precision == "bf16":
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
                yield
        else:
            yield
    finally:
        torch.set_float32_matmul_precision(old)


def _features(d: Discriminator, tokens: Tensor) -> Tensor:
    """Pooled, biased, rectified conv features (b, sum F_k) for tokens (b, T)."""
    e = torch.nn.functional.embedding(tokens, d.embedding.weight)  # (b, T, E)
    b, t_len, emb = e.shape
    pooled = []
    for k, w in zip(d.config.filter_sizes, d.conv_weights):
        windows = e.unfold(1, k, 1).transpose(2, 3).reshape(b, t_len - k + 1, k * emb)  # (b, L, kE), k-major
        pooled.append(torch.matmul(windows, w.T).amax(dim=1))  # (b, F_k)
    bias = torch.cat(list(d.conv_biases))
    return torch.relu(torch.cat(pooled, dim=1).float() + bias)


@torch.no_grad()
def disc_score(
    discriminator: Discriminator, tokens: Tensor, *, precision: ScorePrecision = "fp32", batch_size: int = 8192
) -> Tensor:
    """D(Y) for ``tokens`` (R, T) long -> (R,) float32, in chunks of ``batch_size`` rows, without dropout."""
    d = discriminator
    check_tokens(tokens, d.vocab_size, d.seq_len)
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be >= 1.")
    if tokens.device != d.device:
        raise ValueError(f"tokens are on {tokens.device} but the discriminator is on {d.device}.")
    outs = []
    with _precision(precision, tokens.device):
        for i in range(0, tokens.shape[0], batch_size):
            outs.append(score_unchecked(d, tokens[i : i + batch_size]))
    return torch.cat(outs) if outs else torch.empty(0, device=tokens.device)


def score_unchecked(d: Discriminator, tokens: Tensor) -> Tensor:
    """D(Y) for one chunk (b, T) -> (b,) without checks or host synchronisation (CUDA-graph capturable); runs
    in the caller's precision context."""
    p = _features(d, tokens)
    gate = torch.sigmoid(d.highway_gate(p).float() + d.config.highway_gate_bias)
    q = gate * torch.relu(d.highway_lin(p).float()) + (1.0 - gate) * p
    logits = d.out(q).float()
    return torch.sigmoid(logits[:, 1] - logits[:, 0])


class DiscScorer:
    """A ``score_fn`` for :class:`seqgan_env.rewards.RolloutReward`: tokens (R, T) -> D(Y) (R,) float32.

    Holds a reference to the live discriminator, so training updates are seen by later calls.
    """

    def __init__(
        self, discriminator: Discriminator, precision: ScorePrecision = "fp32", batch_size: int = 8192
    ) -> None:
        if precision not in TOLERANCE:
            raise ValueError(f"precision={precision!r}; use 'fp32', 'tf32' or 'bf16'.")
        self.discriminator = discriminator
        self.precision: ScorePrecision = precision
        self.batch_size = int(batch_size)

    def __call__(self, tokens: Tensor) -> Tensor:
        was_training = self.discriminator.training
        self.discriminator.eval()
        try:
            return disc_score(self.discriminator, tokens, precision=self.precision, batch_size=self.batch_size)
        finally:
            self.discriminator.train(was_training)


def make_score_fn(
    discriminator: Discriminator, precision: ScorePrecision = "fp32", batch_size: int = 8192
) -> DiscScorer:
    """``RolloutReward(..., score_fn=make_score_fn(D, "tf32"))``: fast scoring with the chosen precision."""
    return DiscScorer(discriminator, precision, batch_size)
