"""The agent protocol: what :class:`~seqgan_env.agents.trainer.AdversarialTrainer` needs from a generator agent.

Any object with these members can be trained adversarially (REINFORCE here; PPO through the SB3 wrapper):

* ``generator``: the :class:`~seqgan_env.generator.Generator` G_theta being trained. The trainer pretrains it by
  MLE, samples negatives for the discriminator from it and evaluates it (NLL-oracle, NLL-test).
* ``make_rollout_reward(discriminator)``: the :class:`~seqgan_env.rewards.RolloutReward` (Q_t of the paper) the agent
  wants its generator steps scored with. The trainer calls it once, after discriminator pretraining, and
  passes the result back to every ``generator_step``. The discriminator object is the one the trainer keeps
  retraining, so the reward always reads the current D.
* ``generator_step(rollout_reward, rng)``: one policy update of G (the paper: one batch of 64 sequences, Q from
  N = 16 rollouts, one Adam step). Must draw all its randomness from ``rng`` (a ``torch.Generator`` on the
  generator's device, owned by the trainer and checkpointed with it) so that a resumed run repeats an
  uninterrupted one. Returns scalar metrics (at least ``"g_reward"``, the mean reward of the batch); raises
  :class:`~seqgan_env.updates.NonFiniteLossError` on a NaN/inf loss.
* ``state_dict()`` / ``load_state_dict(state)``: everything the agent needs to continue exactly (generator
  weights, optimizer moments, any step counters). Values must be tensors, numbers, strings, lists or dicts
  (the trainer saves them with ``torch.save`` and loads them with ``weights_only=True``).

The trainer itself owns the discriminator and its optimizer, and exposes
:meth:`~seqgan_env.agents.trainer.AdversarialTrainer.discriminator_step`, so an agent that collects its own
experience (e.g. PPO on the vector env) can retrain D from a callback instead of calling ``run``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch

from seqgan_env.discriminator import Discriminator
from seqgan_env.generator import Generator
from seqgan_env.rewards import RolloutReward

__all__ = ["GeneratorAgent"]


@runtime_checkable
class GeneratorAgent(Protocol):
    """A policy-gradient learner for the SeqGAN generator (see the module docstring for the contract)."""

    generator: Generator

    def make_rollout_reward(self, discriminator: Discriminator) -> RolloutReward:
        """The reward the agent's generator steps use, reading ``discriminator`` live."""
        ...

    def generator_step(self, rollout_reward: RolloutReward, rng: torch.Generator) -> dict[str, float]:
        """One update of ``generator``; all randomness from ``rng``. Returns scalar metrics incl. ``g_reward``."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """The agent's full state (tensors, numbers, strings, lists, dicts only)."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state from :meth:`state_dict`."""
        ...
