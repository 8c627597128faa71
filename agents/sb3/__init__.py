"""Stable-Baselines3 on the SeqGAN env: the VecEnv adapter, a token-sequence features extractor, the
discriminator callback and whole-setup checkpoints.

The package re-exports the public names of its modules:

* :mod:`~seqgan_env.agents.sb3.vec_env`: :class:`SB3VecEnvAdapter` and :func:`make_sb3_env`;
* :mod:`~seqgan_env.agents.sb3.policy`: :class:`TokenSequenceExtractor`, :func:`generator_policy_kwargs`,
  :func:`generator_to_policy`, :func:`policy_to_generator` and :func:`sample_policy_sequences`;
* :mod:`~seqgan_env.agents.sb3.callback`: :func:`make_discriminator_step` and :class:`DiscriminatorCallback`;
* :mod:`~seqgan_env.agents.sb3.setup`: :class:`Setup`, :func:`save_setup`, :func:`load_setup` and the
  :data:`ALGORITHM_MODULES` allow-list.

Shapes: V is the vocabulary, T the sequence length, n the number of envs. An observation is a (T,) vector of token
ids with the pad value V at positions not generated yet; SB3 hands it to the policy as a float tensor (B, T), which
:class:`TokenSequenceExtractor` casts back to ``long``. An action is a token id in [0, V).

**Who rolls out?** The env computes its Monte Carlo rewards (``reward_mode="mc"`` and ``"shaped"``) with its own
``generator`` (``env.unwrapped.generator``, a :class:`~seqgan_env.generator.Generator`), *not* with the SB3 policy.
Unless you sync it, that generator stays what it was when the env was built (for the example script: the
MLE-pretrained G), so Q_t estimates "how good is this prefix if a fixed MLE model finishes it". Two ways out:

* use ``reward_mode="terminal"`` (no rollouts; reward D(Y) at t = T), or ``"shaped"`` (r_t = Q_t - Q_{t-1}: the
  same return D(Y) - Q_0 as "terminal" but a denser signal; its Q_t come from the env's generator, and since the
  shaping is potential-based the optimal policy does not depend on which generator rolls out); these are the
  natural modes for SB3;
* build the policy in the generator's layout (:func:`generator_policy_kwargs`, LSTM extractor with the generator's
  sizes and ``net_arch=dict(pi=[], ...)``) and pass ``sync_generator=env.unwrapped.generator`` (or ``trainer=``)
  to :class:`DiscriminatorCallback`: the policy's weights are then copied into the env's generator at the start of
  training, of every rollout and at the end (:func:`policy_to_generator`), so the rollouts follow the current
  policy, as in the reference code. :func:`generator_to_policy` warm-starts such a policy from an MLE-pretrained
  generator (the policy's distribution then equals G's exactly).

Everything here is CPU/GPU agnostic; the policies live on SB3's ``device``, G and D on the env's.
"""

from __future__ import annotations

# DiscriminatorStep and ALGORITHM_MODULES were public names of the former single module but not in __all__: the
# redundant aliases re-export them without changing __all__.
from .callback import DiscriminatorCallback, make_discriminator_step
from .callback import DiscriminatorStep as DiscriminatorStep
from .policy import (
    TokenSequenceExtractor,
    generator_policy_kwargs,
    generator_to_policy,
    policy_to_generator,
    sample_policy_sequences,
)
from .setup import ALGORITHM_MODULES as ALGORITHM_MODULES
from .setup import Setup, load_setup, save_setup
from .vec_env import SB3VecEnvAdapter, make_sb3_env

__all__ = [
    "SB3VecEnvAdapter",
    "make_sb3_env",
    "TokenSequenceExtractor",
    "generator_policy_kwargs",
    "generator_to_policy",
    "policy_to_generator",
    "sample_policy_sequences",
    "make_discriminator_step",
    "DiscriminatorCallback",
    "Setup",
    "save_setup",
    "load_setup",
]
