"""seqgan-env: SeqGAN (Yu et al., AAAI 2017) as a batched Gymnasium environment.

Importing the package registers ``SeqGAN-v0`` with Gymnasium when Gymnasium is installed. The models,
the oracle and the kernels (``seqgan_env.kernels``) need only torch and numpy, so they import on machines
without Gymnasium (such as a bare GPU image).

``seqgan_env.kernels`` and ``seqgan_env.agents`` live in the repository's top-level ``kernels/`` and ``agents/``
folders (setuptools maps them on install). Run from a source checkout that is not installed (``PYTHONPATH=.``, a
bare GPU image), the package adds the checkout's root to its own ``__path__`` so the same imports work.
"""

from __future__ import annotations

from pathlib import Path as _Path

_root = _Path(__file__).resolve().parent.parent
if not (_Path(__file__).resolve().parent / "kernels").is_dir() and (_root / "kernels" / "__init__.py").is_file():
    __path__.append(str(_root))  # noqa: F821  source checkout: seqgan_env.kernels -> <root>/kernels

from .config import DataConfig, DiscriminatorConfig, GeneratorConfig, MLEConfig  # noqa: E402  (after the __path__ set-up)
from .discriminator import Discriminator  # noqa: E402  (after the __path__ set-up)
from .generator import Generator, LSTMWeights  # noqa: E402  (after the __path__ set-up)
from .oracle import REFERENCE_ORACLE_SHA256, load_oracle, make_oracle, random_oracle  # noqa: E402  (after the __path__ set-up)

__version__ = "0.2.0"

try:  # register SeqGAN-v0 when Gymnasium is installed; the models and kernels import without it
    import gymnasium as _gymnasium  # noqa: F401
except ImportError:
    pass
else:
    from .registration import register_envs as _register_envs

    _register_envs()

__all__ = [
    "DataConfig",
    "Discriminator",
    "DiscriminatorConfig",
    "Generator",
    "GeneratorConfig",
    "LSTMWeights",
    "MLEConfig",
    "REFERENCE_ORACLE_SHA256",
    "load_oracle",
    "make_oracle",
    "random_oracle",
    "__version__",
]
