"""Discriminator scoring for rollout batches in GEMM form: D(Y) = softmax(logits)[:, 1], no dropout.

Tensors in, tensors out: the weights come as :class:`DiscWeights` (``seqgan_env.Discriminator.score_weights()``
builds one from the module). The same function as ``Discriminator.prob_real``, restructured for large batches
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
Memory per chunk of b rows: the windows, sum_k (T-k+1) k E = 880 E words per row at the paper config (225 KB per
row in fp32), and the per-width maps, 23,620 words per row; ``batch_size`` bounds it.
FLOPs per row at the paper config: 15.2 MFLOP (convolutions) + 11.8 MFLOP (highway) + tiny.

Precision (``precision=``), with the error against the module run in float64 measured by
``benchmarks/reward_cpu.py`` (see BENCHMARKS.md and docs/kernels.md for the figures):

* ``"fp32"`` (default): fp32 GEMMs (TF32 disabled for the call). Exact up to summation order.
* ``"tf32"``: ``torch.set_float32_matmul_precision("high")`` for the call: TF32 tensor cores on CUDA (inputs
  truncated to 10-bit mantissas, fp32 accumulation); on CPU it changes nothing (equal to fp32).
* ``"bf16"``: ``torch.autocast(dtype=torch.bfloat16)`` on CUDA and on CPU (oneDNN uses AMX where the CPU has it);
  inputs rounded to 8-bit mantissas, fp32 accumulation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Literal, NamedTuple

import torch
from torch import Tensor

__all__ = ["DiscWeights", "disc_score", "score_unchecked", "ScorePrecision", "TOLERANCE", "PRECISIONS"]

ScorePrecision = Literal["fp32", "tf32", "bf16"]
PRECISIONS: tuple[str, ...] = ("fp32", "tf32", "bf16")
TOLERANCE: dict[str, float] = {"fp32": 1e-5, "tf32": 1e-2, "bf16": 5e-2}  # max |D - prob_real| the tests allow


class DiscWeights(NamedTuple):
    """The discriminator's weights as plain tensors (shapes for V tokens, E embedding, widths k with F_k filters,
    F = sum F_k): ``emb`` (V, E); ``conv_w`` a tuple of (F_k, k*E) (windows flattened k-major); ``conv_b`` a tuple
    of (F_k,); ``filter_sizes`` the widths k; ``gate_w``/``gate_b`` (F, F)/(F,) and ``lin_w``/``lin_b`` the highway;
    ``gate_bias`` the constant added to the gate's pre-activation; ``out_w``/``out_b`` (2, F)/(2,), column 1 "real".
    """

    emb: Tensor
    conv_w: tuple[Tensor, ...]
    conv_b: tuple[Tensor, ...]
    filter_sizes: tuple[int, ...]
    gate_w: Tensor
    gate_b: Tensor
    lin_w: Tensor
    lin_b: Tensor
    gate_bias: float
    out_w: Tensor
    out_b: Tensor


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


def _features(w: DiscWeights, tokens: Tensor) -> Tensor:
    """Pooled, biased, rectified conv features (b, sum F_k) for tokens (b, T)."""
    e = torch.nn.functional.embedding(tokens, w.emb)  # (b, T, E)
    b, t_len, emb = e.shape
    pooled = []
    for k, cw in zip(w.filter_sizes, w.conv_w):
        windows = e.unfold(1, k, 1).transpose(2, 3).reshape(b, t_len - k + 1, k * emb)  # (b, L, kE), k-major
        pooled.append(torch.matmul(windows, cw.T).amax(dim=1))  # (b, F_k)
    bias = torch.cat(list(w.conv_b))
    return torch.relu(torch.cat(pooled, dim=1).float() + bias)


def score_unchecked(w: DiscWeights, tokens: Tensor) -> Tensor:
    """D(Y) for one chunk (b, T) -> (b,) without checks or host synchronisation (CUDA-graph capturable); runs
    in the caller's precision context."""
    p = _features(w, tokens)
    gate = torch.sigmoid(torch.nn.functional.linear(p, w.gate_w, w.gate_b).float() + w.gate_bias)
    q = gate * torch.relu(torch.nn.functional.linear(p, w.lin_w, w.lin_b).float()) + (1.0 - gate) * p
    logits = torch.nn.functional.linear(q, w.out_w, w.out_b).float()
    return torch.sigmoid(logits[:, 1] - logits[:, 0])


@torch.no_grad()
def disc_score(
    weights: DiscWeights, tokens: Tensor, *, precision: ScorePrecision = "fp32", batch_size: int = 8192
) -> Tensor:
    """D(Y) for ``tokens`` (R, T) integer ids -> (R,) float32, in chunks of ``batch_size`` rows, without dropout.

    Raises ``ValueError`` for tokens that are not a 2-D integer tensor of ids in [0, V), of length below the
    widest filter, on another device than the weights, or for a bad ``precision``/``batch_size``.
    """
    v = weights.emb.shape[0]
    if not isinstance(tokens, Tensor) or tokens.dim() != 2 or tokens.dtype not in (torch.int64, torch.int32):
        got = f"{tokens.dtype} {tuple(tokens.shape)}" if isinstance(tokens, Tensor) else type(tokens).__name__
        raise ValueError(f"tokens must be a (R, T) int64 tensor of token ids, got {got}.")
    if tokens.shape[1] < max(weights.filter_sizes):
        raise ValueError(
            f"tokens have length {tokens.shape[1]}, shorter than the widest filter ({max(weights.filter_sizes)}); "
            "pass sequences of the discriminator's length."
        )
    if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= v):
        raise ValueError(f"tokens contain ids outside [0, V={v}).")
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be >= 1.")
    if precision not in TOLERANCE:
        raise ValueError(f"precision={precision!r}; use 'fp32', 'tf32' or 'bf16'.")
    if tokens.device != weights.emb.device:
        raise ValueError(f"tokens are on {tokens.device} but the discriminator weights on {weights.emb.device}.")
    outs = []
    with _precision(precision, tokens.device):
        for i in range(0, tokens.shape[0], batch_size):
            outs.append(score_unchecked(weights, tokens[i : i + batch_size].long()))
    return torch.cat(outs) if outs else torch.empty(0, device=tokens.device)
