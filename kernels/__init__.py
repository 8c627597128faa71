"""Fused kernels for SeqGAN's Monte Carlo rollout reward (installed as ``seqgan_env.kernels``).

One op per module: ``rollout`` (the fused rollout kernel's launcher and its PyTorch reference; the Triton source is
``rollout_triton``), ``disc_score`` (discriminator scoring in GEMM form) and ``philox`` (Triton's Philox in
PyTorch). Importing this package needs neither Gymnasium nor Triton (Triton is imported on the first kernel
launch) and registers the rollout backends ``"reference"`` and (when triton is installed) ``"triton"`` with
:func:`seqgan_env.rewards.register_rollout_backend`.
"""

from __future__ import annotations

from ._loader import interpret_mode, triton_available
from .disc_score import DiscScorer, disc_score, make_score_fn
from .philox import rand, rand4x, randint4x
from .rollout import DEFAULT_BLOCK_V, mc_rollout, rollout_reference, sample_tiles, triton_rollout

__all__ = [
    "DEFAULT_BLOCK_V",
    "DiscScorer",
    "disc_score",
    "interpret_mode",
    "make_score_fn",
    "mc_rollout",
    "rand",
    "rand4x",
    "randint4x",
    "rollout_reference",
    "sample_tiles",
    "triton_available",
    "triton_rollout",
]


def _register() -> None:
    from seqgan_env.rewards import register_rollout_backend

    register_rollout_backend("reference", rollout_reference)
    if triton_available():  # without triton, RolloutReward(backend="auto") keeps falling back to "torch"
        register_rollout_backend("triton", triton_rollout)


_register()
