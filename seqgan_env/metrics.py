"""Compatibility alias: the metrics live in :mod:`seqgan_env.evaluation` (one module for every evaluation).

``from seqgan_env.metrics import nll_oracle, nll_test, sequence_nll`` keeps working; new code imports
:mod:`seqgan_env.evaluation`. ``nll_oracle`` now draws its samples from the keyed evaluation stream (``seed`` an
int), like the trainer.
"""

from __future__ import annotations

from .evaluation import nll_oracle, nll_test, sequence_nll

__all__ = ["sequence_nll", "nll_oracle", "nll_test"]
