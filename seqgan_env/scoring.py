"""Scoring sequences with the discriminator in the kernels' GEMM form (the model-level adapter of
:func:`seqgan_env.kernels.disc_score`).

:class:`DiscScorer` is what :class:`~seqgan_env.rewards.RolloutReward` scores rollouts with by default:
``tokens (R, T) -> D(Y) (R,)`` without dropout, in chunks, at a chosen precision (``"fp32"`` exact, ``"tf32"``,
``"bf16"``; docs/kernels.md gives the measured error of each). It reads the live discriminator on every call, so
training D changes later scores.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .discriminator import Discriminator
from .generator import check_tokens
from .kernels.disc_score import PRECISIONS, ScorePrecision, disc_score

__all__ = ["DiscScorer", "make_score_fn"]


class DiscScorer:
    """A ``score_fn``: tokens (R, T) -> D(Y) (R,) float32, dropout off, scored in GEMM form.

    Args:
        discriminator: D_phi (read live on every call).
        precision: ``"fp32"`` (default, exact up to summation order), ``"tf32"`` or ``"bf16"``.
        batch_size: rows per chunk; default 4096 on CUDA and 256 on CPU (small chunks stay in cache: 1.6x faster
            for the paper's D on the 2-core dev box).
    """

    def __init__(
        self, discriminator: Discriminator, precision: ScorePrecision = "fp32", batch_size: int | None = None
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision={precision!r}; use one of {list(PRECISIONS)}.")
        if batch_size is None:
            batch_size = 4096 if discriminator.device.type == "cuda" else 256
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size} must be >= 1.")
        self.discriminator = discriminator
        self.precision: ScorePrecision = precision
        self.batch_size = int(batch_size)

    @torch.no_grad()
    def __call__(self, tokens: Tensor) -> Tensor:
        d = self.discriminator
        check_tokens(tokens, d.vocab_size, d.seq_len)
        if tokens.device != d.device:
            raise ValueError(f"tokens are on {tokens.device} but the discriminator is on {d.device}.")
        return disc_score(d.score_weights(), tokens, precision=self.precision, batch_size=self.batch_size)


def make_score_fn(
    discriminator: Discriminator, precision: ScorePrecision = "fp32", batch_size: int | None = None
) -> DiscScorer:
    """``RolloutReward(..., score_fn=make_score_fn(D, "tf32"))``: scoring at the chosen precision."""
    return DiscScorer(discriminator, precision, batch_size)
