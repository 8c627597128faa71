"""Fused kernels for SeqGAN's Monte Carlo rollout reward (installed as ``seqgan_env.kernels``).

The bottom floor: tensors in, tensors out. Nothing here imports the rest of ``seqgan_env`` (model-level adapters,
``Generator.weights()`` and ``Discriminator.score_weights()``, live there), and importing it needs neither
Gymnasium, Stable-Baselines3 nor Triton (Triton is imported on the first kernel launch). One op per module:

* ``rollout``: the fused rollout's host launcher :func:`mc_rollout` (``backend="auto"|"triton"|"torch"``), the
  Philox-exact PyTorch reference :func:`rollout_reference` (also the CPU path), the weight bundle
  :class:`LSTMWeights` and the sampler (:func:`sample_tiles`, :func:`sample_next`); the Triton source is
  ``rollout_triton``.
* ``naive``: a plain softmax + multinomial rollout, the distribution oracle of the tests.
* ``disc_score``: discriminator scoring in GEMM form (:class:`DiscWeights`, fp32/tf32/bf16).
* ``philox``: Triton's Philox-4x32-10 in PyTorch and :func:`derive_seeds` (per-row seeds from one seed).
"""

from __future__ import annotations

from ._loader import interpret_mode, triton_available
from .disc_score import PRECISIONS, DiscWeights, ScorePrecision, disc_score
from .naive import next_token_probs, rollout_naive
from .philox import SEED_BOUND, derive_seeds, rand, rand4x, randint4x
from .rollout import (
    BACKENDS,
    DEFAULT_BLOCK_V,
    KernelResourceError,
    LSTMWeights,
    NonFiniteError,
    compiled_resources,
    mc_rollout,
    nucleus_mask,
    resolve_backend,
    rollout_reference,
    rollout_uniforms,
    sample_next,
    sample_tiles,
    triton_rollout,
)

__all__ = [
    "BACKENDS",
    "DEFAULT_BLOCK_V",
    "DiscWeights",
    "KernelResourceError",
    "LSTMWeights",
    "NonFiniteError",
    "PRECISIONS",
    "SEED_BOUND",
    "ScorePrecision",
    "compiled_resources",
    "derive_seeds",
    "disc_score",
    "interpret_mode",
    "mc_rollout",
    "next_token_probs",
    "nucleus_mask",
    "rand",
    "rand4x",
    "randint4x",
    "resolve_backend",
    "rollout_naive",
    "rollout_reference",
    "rollout_uniforms",
    "sample_next",
    "sample_tiles",
    "triton_available",
    "triton_rollout",
]
