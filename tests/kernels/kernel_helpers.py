"""Shared helpers of the kernel tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import importlib.util
import os

import pytest
import torch

HAS_TRITON = importlib.util.find_spec("triton") is not None
HAS_CUDA = torch.cuda.is_available()


def _devices() -> list[str]:
    # One Triton mode per process (fixed at the first `import triton`): CUDA when available, else the interpreter.
    devs = ["cuda"] if HAS_CUDA else ["cpu"]
    only = os.environ.get("SEQGAN_KERNEL_DEVICES", "").strip()
    if only:
        devs = [d.strip() for d in only.split(",") if d.strip() in ("cpu", "cuda")]
        if "cuda" in devs and not HAS_CUDA:
            devs.remove("cuda")
    return devs


DEVICES = _devices()

requires_triton = pytest.mark.skipif(
    not HAS_TRITON, reason="triton is not installed (pip install triton on Linux); the reference backend still runs"
)
requires_cuda = pytest.mark.skipif(
    not HAS_CUDA, reason="GPU-only test: CUDA is not available here (run benchmarks/gpu_check.sh on a GPU machine)"
)


def chi_square_pvalue(counts: torch.Tensor, probs: torch.Tensor) -> float:
    """Pearson's chi-square goodness-of-fit p-value of ``counts`` (V,) against ``probs`` (V,).

    Categories with expected count < 5 are pooled into one, as the test requires.
    """
    counts = counts.double().cpu()
    n = counts.sum()
    expected = probs.double().cpu() * n
    small = expected < 5
    if small.any():
        counts = torch.cat([counts[~small], counts[small].sum().view(1)])
        expected = torch.cat([expected[~small], expected[small].sum().view(1)])
    stat = ((counts - expected) ** 2 / expected).sum()
    df = torch.tensor(float(counts.numel() - 1), dtype=torch.float64)
    return float(torch.special.gammaincc(df / 2, stat / 2))
