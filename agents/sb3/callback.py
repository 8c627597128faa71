"""Retraining the discriminator during SB3 training: :func:`make_discriminator_step` and the
:class:`DiscriminatorCallback`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback
from torch import Tensor

from seqgan_env.data import iterate_batches
from seqgan_env.discriminator import Discriminator
from seqgan_env.generator import Generator
from seqgan_env.updates import make_discriminator_optimizer, train_discriminator

from .policy import _policy_parts, policy_to_generator, sample_policy_sequences

__all__ = ["make_discriminator_step", "DiscriminatorCallback"]


def _sequences_from_buffer(buffer: Any, seq_len: int, vocab_size: int) -> Tensor:
    """Complete sequences in an SB3 rollout buffer: the steps whose observation holds T-1 tokens, plus the action."""
    observations = buffer.observations
    if isinstance(observations, dict):  # DictRolloutBuffer (observation_mode="dict")
        observations = observations["input_ids"]
    obs = np.asarray(observations).reshape(-1, seq_len)
    act = np.asarray(buffer.actions).reshape(-1)
    last = (obs != vocab_size).sum(axis=1) == seq_len - 1
    seqs = obs[last].round().astype(np.int64)
    seqs[:, -1] = act[last].astype(np.int64)
    return torch.as_tensor(seqs)


DiscriminatorStep = Callable[[Tensor], Mapping[str, float]]


def make_discriminator_step(
    discriminator: Discriminator,
    real: Tensor,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    epochs: int = 3,
    batch_size: int = 64,
    seed: int = 0,
) -> DiscriminatorStep:
    """The reference code's discriminator update as a function ``fake (M, T) -> {"d_loss", "d_acc"}``.

    Each call draws M real sequences from ``real`` (N, T) (shuffled, seeded), then trains D for ``epochs`` passes
    over the M real + M fake (:func:`seqgan_env.updates.train_discriminator`, Adam 1e-4, batch 64). Use it when no
    :class:`~seqgan_env.agents.trainer.AdversarialTrainer` is at hand; with one, pass
    ``trainer.discriminator_step``-based callable instead.
    """
    opt = optimizer or make_discriminator_optimizer(discriminator)
    rng = torch.Generator().manual_seed(seed)

    def step(fake: Tensor) -> dict[str, float]:
        m = min(fake.shape[0], real.shape[0])
        real_batch = next(iterate_batches(real, m, shuffle=True, generator=rng))
        stats = train_discriminator(discriminator, opt, real_batch, fake[:m], epochs=epochs, batch_size=batch_size,
                                    rng=rng)
        return {"d_loss": stats.loss, "d_acc": stats.accuracy}

    step.optimizer = opt  # type: ignore[attr-defined]
    return step


class DiscriminatorCallback(BaseCallback):
    """Retrain the discriminator every ``every_rollouts`` rollouts (in ``_on_rollout_end``) and log ``gan/*``.

    Two ways to retrain D, both with fresh negatives from the policy being trained:

    * ``trainer=`` an :class:`~seqgan_env.agents.trainer.AdversarialTrainer`: calls its public
      ``trainer.discriminator_step(epochs)``, which samples the negatives from ``trainer.generator`` (against real
      oracle data, with the trainer's optimizer, schedule and random streams). The callback therefore keeps
      ``trainer.generator`` equal to the policy (``sync_generator`` defaults to it), which needs a policy in the
      generator's layout (:func:`generator_policy_kwargs`) or a model whose ``policy`` *is* that generator
      (:class:`~seqgan_env.agents.sb3_reinforce.ReinforceAlgorithm`).
    * ``discriminator_step=`` any ``fake (M, T) long -> metrics`` (e.g. :func:`make_discriminator_step`): the
      callback draws the M negatives itself, for any policy (RecurrentPPO, a GRU extractor ...):
      ``negatives="policy"`` samples ``num_negatives`` sequences with :func:`sample_policy_sequences`;
      ``"buffer"`` takes the complete sequences of the rollout buffer just collected (no extra sampling).

    After each retraining it records ``gan/d_loss``, ``gan/d_acc``, ``gan/rounds``, ``gan/d_score_fake`` (mean D
    of the negatives after the update, ``discriminator_step`` form) and whatever ``metrics_fn()`` returns, all under
    ``gan/``, and appends them to :attr:`history`.

    **Syncing the env's rollout policy.** With ``sync_generator`` (a :class:`Generator`, typically
    ``env.unwrapped.generator``), the policy's weights are copied into it (:func:`policy_to_generator`) at the start
    of training, at the start of every rollout (after the previous ``train()``) and at the end, so the env's Monte
    Carlo rollouts and the trainer's negatives follow the current policy, as in the reference code.

    **Envs that hold copies.** With ``push_models`` (default), after every sync and every retraining the callback
    pushes ``sync_generator`` and ``discriminator`` to the training env with
    :func:`seqgan_env.env.sync_models`: a ``SubprocVecEnv`` (or a ``DummyVecEnv`` of separately built envs) then
    rewards with the current models too. Envs that share the very objects (the native adapter) are skipped.

    Args:
        discriminator_step: ``fake (M, T) long -> metrics`` (exclusive with ``trainer``).
        trainer: the adversarial trainer whose ``discriminator_step`` to call (exclusive with the above).
        epochs: epochs per retraining in the ``trainer`` form (default: the trainer's ``schedule.d_epochs``).
        discriminator: the D being trained (for ``gan/d_score_fake``; default ``trainer.discriminator``).
        every_rollouts: K.
        num_negatives: M for ``negatives="policy"``.
        negatives: ``"policy"`` or ``"buffer"`` (``discriminator_step`` form).
        sync_generator: see above (default ``trainer.generator`` in the ``trainer`` form, else None).
        metrics_fn: optional ``() -> {name: value}``, evaluated after each retraining and logged as ``gan/name``.
        on_round: optional ``(round, metrics) -> None`` hook (e.g. a CSV writer), called after each retraining.
        seed: base seed of the negative sampling (round r uses ``seed + r``).
        push_models: push the models to envs that hold copies (see above).
    """

    def __init__(
        self,
        discriminator_step: DiscriminatorStep | None = None,
        *,
        trainer: Any = None,
        epochs: int | None = None,
        discriminator: Discriminator | None = None,
        every_rollouts: int = 1,
        num_negatives: int = 256,
        negatives: Literal["policy", "buffer"] = "policy",
        sync_generator: Generator | None = None,
        metrics_fn: Callable[[], Mapping[str, float]] | None = None,
        on_round: Callable[[int, dict[str, float]], None] | None = None,
        seed: int = 0,
        push_models: bool = True,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        if (discriminator_step is None) == (trainer is None):
            raise ValueError("pass exactly one of discriminator_step= or trainer=.")
        if every_rollouts < 1:
            raise ValueError(f"every_rollouts={every_rollouts} must be >= 1.")
        if negatives not in ("policy", "buffer"):
            raise ValueError(f"negatives={negatives!r}; use 'policy' or 'buffer'.")
        self.discriminator_step = discriminator_step
        self.trainer = trainer
        self.epochs = epochs
        self.discriminator = discriminator if discriminator is not None or trainer is None else trainer.discriminator
        self.every_rollouts = every_rollouts
        self.num_negatives = num_negatives
        self.negatives = negatives
        self.sync_generator = sync_generator if sync_generator is not None or trainer is None else trainer.generator
        self.metrics_fn = metrics_fn
        self.on_round = on_round
        self.seed = seed
        self.push_models = push_models
        self.rollouts = 0
        self.rounds = 0
        self.history: list[dict[str, float]] = []

    def _shape(self) -> tuple[int, int]:
        space = self.model.observation_space
        if isinstance(space, spaces.Dict):  # observation_mode="dict": the token ids are under "input_ids"
            space = space["input_ids"]
        return int(space.shape[0]), int(np.max(space.high))

    def _sync(self) -> None:
        g = self.sync_generator
        if g is not None and self.model.policy is not g:
            policy_to_generator(self.model.policy, g)
        self._push()

    def _push(self) -> None:
        """Send the current G and D to envs that hold copies of them (no-op for envs sharing the objects)."""
        env = self.training_env
        if not self.push_models or env is None or (self.sync_generator is None and self.discriminator is None):
            return
        from seqgan_env.env import sync_models

        sync_models(env, generator=self.sync_generator, discriminator=self.discriminator)

    def _on_training_start(self) -> None:
        if self.sync_generator is not None and self.model.policy is not self.sync_generator:
            _policy_parts(self.model.policy)  # raises a clear error unless the policy is in the generator's layout
        self._sync()

    def _on_rollout_start(self) -> None:
        self._sync()  # after the previous train(): this rollout's env rollouts follow the current policy

    def _on_training_end(self) -> None:
        self._sync()

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self.rollouts += 1
        if self.rollouts % self.every_rollouts:
            return
        metrics: dict[str, float]
        if self.trainer is not None:
            self._sync()
            stats = self.trainer.discriminator_step(self.epochs)
            metrics = {"d_loss": float(stats.loss), "d_acc": float(stats.accuracy)}
        else:
            assert self.discriminator_step is not None
            seq_len, vocab = self._shape()
            if self.negatives == "buffer":
                fake = _sequences_from_buffer(self.model.rollout_buffer, seq_len, vocab)
            else:
                fake = sample_policy_sequences(self.model, self.num_negatives, seq_len, vocab,
                                               seed=self.seed + self.rounds)
            if fake.shape[0] == 0:
                return
            metrics = {k: float(v) for k, v in self.discriminator_step(fake).items()}
            if self.discriminator is not None:
                d = self.discriminator
                metrics["d_score_fake"] = float(d.prob_real(fake.to(d.device)).mean())
        self._push()
        self.rounds += 1
        metrics["rounds"] = float(self.rounds)
        if self.metrics_fn is not None:
            metrics.update({k: float(v) for k, v in self.metrics_fn().items()})
        for k, v in metrics.items():
            self.logger.record(f"gan/{k}", v)
        self.history.append({"timesteps": float(self.num_timesteps), **metrics})
        if self.on_round is not None:
            self.on_round(self.rounds, metrics)

