"""seqgan-env: SeqGAN (Yu et al., AAAI 2017) as a batched Gymnasium environment.

Importing the package registers ``SeqGAN-v0`` with Gymnasium when Gymnasium is installed. The models,
the oracle and the kernels (``seqgan_env.kernels``) need only torch and numpy, so they import on machines
without Gymnasium (such as a bare GPU image).
"""

from __future__ import annotations

from .config import DataConfig, DiscriminatorConfig, GeneratorConfig, MLEConfig
from .discriminator import Discriminator
from .generator import Generator, LSTMWeights
from .oracle import REFERENCE_ORACLE_SHA256, load_oracle, make_oracle, random_oracle

__version__ = "0.1.0"

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
