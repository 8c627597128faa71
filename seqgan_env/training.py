"""Deprecated: the former name of :mod:`seqgan_env.updates` (one MLE epoch, one D training call), renamed so it is
not confused with :mod:`seqgan_env.agents.trainer` (the orchestrator). Importing it warns; it re-exports
everything."""

from __future__ import annotations

import warnings

from .updates import *  # noqa: F403
from .updates import __all__  # noqa: F401

warnings.warn("seqgan_env.training is deprecated: import seqgan_env.updates (the MLE and D updates).",
              DeprecationWarning, stacklevel=2)
