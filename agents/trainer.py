"""The adversarial trainer: MLE pretraining, D pretraining, alternating G/D rounds, an MLE-only baseline.

The schedule and its phases are in :mod:`seqgan_env.agents.schedule`, the metric rows and plots in
:mod:`~seqgan_env.agents.runlog`, the checkpoint file format in :mod:`~seqgan_env.agents.checkpoint`, the
evaluation functions in :mod:`seqgan_env.evaluation`. This module is the loop (:meth:`AdversarialTrainer.run`,
then one method per kind of unit).

**Evaluation** (after unit i of the "mle", "adversarial" and "mle_baseline" phases when ``i % eval_every == 0``
or i is the last unit, as the reference code): NLL-oracle of ``eval_samples`` sequences from the fixed stream
``"eval"`` (the same samples' random numbers every time, so MLE and SeqGAN are compared on common random numbers),
NLL-test on the held-out set, and, once D exists, ``d_loss``/``d_acc`` of D on ``d_eval_samples`` of those samples
against as many held-out real ones, and ``d_fake_score`` = mean D(Y) of those samples. The x axis (``epoch``) counts
MLE epochs and then one per adversarial round / baseline epoch, as the paper's learning-curve figure.

**Same budget for the MLE-only baseline.** The baseline continues MLE from the pretrained generator for
``baseline_epochs`` epochs (default: ``adv_rounds``), i.e. one MLE epoch per adversarial round: the same number
of x-axis epochs as the paper's figure. This is the generous choice for MLE: it gets ceil(num_train / batch)
generator updates per round (157 at the paper's sizes) where SeqGAN gets ``g_steps`` (1). The summary records
both update counts and both wall times.

**Randomness** comes from named streams (:mod:`seqgan_env.streams`) keyed by the unit: MLE epoch e shuffles
with ``("mle", e)``, D retraining u (counted over the whole run) samples its negatives with ``("negatives", u)``
and shuffles and drops out with ``("d_train", u)``, generator step g of round i draws its row seeds from
``("agent", i, g)``. Nothing is threaded from one unit to the next, which is what makes resumed runs and runs on
several ranks repeat the plain one.

**Ranks** (``parallel=``, :class:`~seqgan_env.parallel.Parallel`): under ``torchrun`` every global batch is split
into per-rank blocks of rows (MLE, D, the PG batch, the negatives, the evaluation samples), gradients are averaged
by the trainer's DDP wrappers of G and D (``trainer.g_model``, ``trainer.d_model``; the agent gets ``g_model``
through ``agent.bind``), and only rank 0 writes files. The result equals the single-process one up to the order of
floating-point sums.

**Checkpoints, resume, the weight guard and learning-rate changes** are in :mod:`~seqgan_env.agents.trainer_state`;
the evaluations and the summary in :mod:`~seqgan_env.agents.reports`. This file stays at about 500 lines (over the
project's 450) because the loop reads top to bottom in one class: its constructor, one method per kind of unit,
``run``, and thin public methods that delegate to those two modules.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from seqgan_env import streams
from seqgan_env._compat import alias_method, alias_property
from seqgan_env.config import MLEConfig
from seqgan_env.data import SequenceData
from seqgan_env.discriminator import Discriminator
from seqgan_env.files import atomic_write, write_json
from seqgan_env.generator import Generator
from seqgan_env.kernels import NonFiniteError
from seqgan_env.parallel import Parallel
from seqgan_env.rewards import RolloutReward
from seqgan_env.updates import (
    DiscriminatorStats,
    NonFiniteLossError,
    make_discriminator_optimizer,
    make_generator_optimizer,
    mle_epoch,
    train_discriminator,
)

from . import reports, trainer_state
from .checkpoint import (
    CHECKPOINT_NAME,
    CheckpointError,
    read_checkpoint,
)
from .protocol import GeneratorAgent
from .runlog import METRIC_COLUMNS, RunLog, plot_learning_curve
from .schedule import PHASES, ScheduleConfig
from .trainer_state import DivergenceError

__all__ = [
    "ScheduleConfig",
    "AdversarialTrainer",
    "CheckpointError",
    "DivergenceError",
    "TrainingStopped",
    "METRIC_COLUMNS",
    "PHASES",
    "MAX_WEIGHT",
    "plot_learning_curve",
]

#: The divergence guard: training stops when a weight of G or D exceeds this in absolute value. Adam moves a weight
#: by about lr per step, so the paper's schedule (lr 0.01 x ~20k G steps, 1e-4 x ~1M D steps) stays far below it.
MAX_WEIGHT = 1e4


class TrainingStopped(NonFiniteLossError):
    """Training stopped on a non-finite loss, score or weight, or on divergence; ``checkpoint`` is the last good
    checkpoint (or None). Nothing non-finite is ever saved."""

    def __init__(self, message: str, checkpoint: Path | None) -> None:
        super().__init__(message)
        self.checkpoint = checkpoint


class AdversarialTrainer:
    """Runs the SeqGAN schedule for any :class:`GeneratorAgent`.

    Args:
        agent: the generator agent (its ``generator`` is pretrained by MLE here).
        discriminator: D_phi, trained here with Adam at ``discriminator.config.lr``.
        oracle: the frozen oracle that scores NLL-oracle, or ``None`` for data without one (text): the
            ``nll_oracle`` column then stays empty. Every evaluation also records ``nll_self``, G's NLL of its own
            samples (its entropy per token: it falls as G sharpens).
        data: real training and held-out sequences (:func:`seqgan_env.data.make_oracle_data`).
        schedule: the schedule (paper defaults).
        mle: MLE options for pretraining and the baseline (paper defaults).
        seed: the root of every named random stream the trainer draws from and, at the start of a fresh run,
            torch's global RNG.
        out_dir: where ``metrics.csv``, ``summary.json``, ``checkpoint.pt`` and ``tb/`` go; None writes nothing.
        progress: show tqdm progress bars.
        tensorboard: write TensorBoard scalars to ``out_dir/tb``.
        extra_config: JSON-able settings of the caller (e.g. the example's arguments) stored in the checkpoint
            and the summary, and compared on resume.
        max_weight: the divergence guard (:data:`MAX_WEIGHT`): stop when any weight of G or D exceeds it.
        parallel: the data-parallel context (default: one process; ``Parallel.from_env()`` under ``torchrun``).
        sample_decoder: turns (k, T) token ids into k strings; when given, each evaluation also appends the first
            ``num_show`` samples of the evaluation stream, decoded, to ``out_dir/samples.jsonl`` (one JSON object
            per evaluation: ``phase``, ``step``, ``epoch``, ``samples``), so a run's text can be read as it trains.
        num_show: samples per evaluation in ``samples.jsonl``.
    """

    def __init__(
        self,
        agent: GeneratorAgent,
        discriminator: Discriminator,
        oracle: Generator | None,
        data: SequenceData,
        *,
        schedule: ScheduleConfig | None = None,
        mle: MLEConfig | None = None,
        seed: int = 0,
        out_dir: str | os.PathLike[str] | None = None,
        progress: bool = False,
        tensorboard: bool = True,
        extra_config: dict[str, Any] | None = None,
        max_weight: float = MAX_WEIGHT,
        parallel: Parallel | None = None,
        sample_decoder: Callable[[Tensor], list[str]] | None = None,
        num_show: int = 5,
    ) -> None:
        if not isinstance(agent, GeneratorAgent) and callable(getattr(agent, "make_reward_fn", None)):
            warnings.warn(f"{type(agent).__name__}.make_reward_fn is deprecated: the GeneratorAgent protocol calls it "
                          "make_rollout_reward now; rename the method.", DeprecationWarning, stacklevel=2)
            agent.make_rollout_reward = agent.make_reward_fn  # type: ignore[attr-defined]
        if not isinstance(agent, GeneratorAgent):
            raise TypeError(
                f"{type(agent).__name__} does not implement GeneratorAgent (generator, make_rollout_reward, "
                "generator_step, state_dict, load_state_dict)."
            )
        if not (isinstance(max_weight, (int, float)) and math.isfinite(max_weight) and max_weight > 0):
            raise ValueError(f"max_weight={max_weight!r} must be a finite number > 0.")
        self.agent = agent
        self.generator = agent.generator
        self.discriminator = discriminator
        # ``oracle is the generator`` was the text convention before ``None``: the same thing
        self.oracle = None if oracle is agent.generator else oracle
        self.data = data
        self.sample_decoder = sample_decoder
        self.num_show = int(num_show)
        self.sample_log: list[dict[str, Any]] = []
        self.schedule = schedule = schedule or ScheduleConfig()
        if schedule.num_negatives is not None and schedule.num_negatives > data.train.shape[0]:
            warnings.warn(
                f"num_negatives={schedule.num_negatives} is more than the {data.train.shape[0]} training sequences; "
                f"D trains on {data.train.shape[0]} negatives and as many positives (the classes stay balanced).",
                stacklevel=2,
            )
        self.mle = mle or MLEConfig(epochs=schedule.mle_epochs)
        self.seed = int(seed)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.parallel = parallel or Parallel()
        self.progress = progress and self.parallel.is_main
        self.extra_config = dict(extra_config or {})
        self.max_weight = float(max_weight)
        self.device = self.generator.device
        # the one wrapper per trained module: every training loss goes through it (DDP under torchrun)
        self.g_model = self.parallel.wrap(self.generator)
        self.d_model = self.parallel.wrap(discriminator)
        bind = getattr(agent, "bind", None)
        if bind is not None:
            bind(self.g_model, self.parallel)
        elif self.parallel.enabled:
            raise ValueError(f"{type(agent).__name__} has no bind(model, parallel), so it cannot train on "
                             f"{self.parallel.world_size} ranks; run it in one process.")
        self.mle_optimizer = make_generator_optimizer(self.generator, self.mle.lr)
        self.d_optimizer = make_discriminator_optimizer(discriminator)
        self.log = RunLog(self.out_dir, tensorboard=tensorboard, writes=self.parallel.is_main)
        self.rollout_reward: RolloutReward | None = None
        self.baseline_generator: Generator | None = None
        self.baseline_model: torch.nn.Module | None = None
        self.baseline_optimizer: torch.optim.Optimizer | None = None
        self._baseline_snapshot: dict[str, Any] | None = None
        self.phase = "mle"
        self.index = 0  # units done in the current phase
        self.d_updates = 0  # discriminator retrainings so far (their streams are keyed by it)
        self.started = False
        self.elapsed: dict[str, float] = {p: 0.0 for p in PHASES[:-1]}
        self.cpu: dict[str, float] = {p: 0.0 for p in PHASES[:-1]}  # process CPU seconds (contention-free cost)
        self.last_d_stats: DiscriminatorStats | None = None
        self.last_g_metrics: dict[str, float] = {}
        self.lr_changes: list[dict[str, Any]] = []
        self.forked_from: str | None = None  # the run whose pretraining this one started from (load_checkpoint)
        self._unit_t0: float | None = None
        self._last_samples: list[str] | None = None

    # ------------------------------------------------------------------ bookkeeping
    @property
    def rows(self) -> list[dict[str, Any]]:
        """The metric rows so far (the lines of ``metrics.csv``)."""
        return self.log.rows

    @rows.setter
    def rows(self, value: list[dict[str, Any]]) -> None:
        self.log.rows = value

    @property
    def checkpoint_path(self) -> Path | None:
        return self.out_dir / CHECKPOINT_NAME if self.out_dir is not None else None

    def phase_length(self, phase: str) -> int:
        return self.schedule.phase_length(phase)

    def fingerprint(self) -> str:
        """A JSON string of everything a checkpoint must agree on to be resumed by this trainer
        (:func:`~seqgan_env.agents.trainer_state.fingerprint`)."""
        return trainer_state.fingerprint(self)

    def _x(self, phase: str, i: int) -> int:
        """The learning-curve x value (epochs) after unit i (0-based) of ``phase``."""
        if phase == "mle":
            return i + 1
        return self.schedule.mle_epochs + (i + 1 if phase in ("adversarial", "mle_baseline") else 0)

    def _total_seconds(self) -> float:
        return sum(self.elapsed.values())

    def _add_row(self, row: dict[str, Any]) -> None:
        running = time.perf_counter() - self._unit_t0 if self._unit_t0 is not None else 0.0
        self.log.add(row, self._total_seconds() + running)
        if self._last_samples is not None:
            self.sample_log.append({"phase": row["phase"], "step": row["step"], "epoch": row["epoch"],
                                    "samples": self._last_samples})
            self._last_samples = None
            self._write_samples()

    def _write_samples(self) -> None:
        """Rewrite ``samples.jsonl`` whole (atomically), so it always matches the checkpoint's entries."""
        if self.out_dir is None or not self.parallel.is_main or self.sample_decoder is None:
            return
        lines = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in self.sample_log)
        atomic_write(self.out_dir / "samples.jsonl", lambda fh: fh.write(lines), mode="w")

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, model: Generator | None = None, *, with_discriminator: bool = True) -> dict[str, float]:
        """NLL-oracle, NLL-test, nll_self and (optionally) D's loss/accuracy and mean score on samples of ``model``
        (default G) from the fixed ``"eval"`` stream (:func:`~seqgan_env.agents.reports.evaluate`)."""
        return reports.evaluate(self, model, with_discriminator=with_discriminator)

    # ------------------------------------------------------------------ discriminator
    def _mle_order(self, stream: str, epoch: int) -> Tensor | None:
        """The row order of an MLE epoch: the keyed permutation ``(stream, epoch)``, or ``None`` with
        ``mle.batch_order="fixed"`` (``mle_epoch`` then keeps the data's own order, as the reference code's loader)."""
        if self.mle.batch_order == "fixed":
            return None
        return streams.permutation(self.seed, stream, epoch, n=self.data.train.shape[0])

    @property
    def num_negatives(self) -> int:
        """Negatives (and positives) per D retraining: ``schedule.num_negatives``, at most the training-set size."""
        return min(self.schedule.num_negatives or self.data.train.shape[0], self.data.train.shape[0])

    def _negatives_and_positives(self, update: int) -> tuple[Tensor, Tensor]:
        """D retraining ``update``'s fresh negatives (sampled per rank, gathered) and as many positives."""
        train = self.data.train
        n = self.num_negatives
        lo, hi = self.parallel.shard(n)
        seeds = streams.row_seeds(self.seed, "negatives", update, rows=range(lo, hi), device=self.device)
        fake = self.parallel.all_gather_rows(self.generator.sample_batches(hi - lo, 1024, row_seeds=seeds))
        if n >= train.shape[0]:
            real = train
        else:
            real = train[streams.permutation(self.seed, "real_subset", update, n=train.shape[0])[:n].to(train.device)]
        return real, fake

    def discriminator_step(self, epochs: int | None = None) -> DiscriminatorStats:
        """One discriminator retraining: fresh negatives from the current G, then ``epochs`` epochs.

        ``epochs`` defaults to ``schedule.d_epochs``. Public so that agents with their own training loop (the SB3
        wrapper's callback) can retrain D between policy updates. Returns the mean training loss and accuracy.
        """
        u = self.d_updates
        real, fake = self._negatives_and_positives(u)
        stats = train_discriminator(
            self.discriminator, self.d_optimizer, real, fake,
            epochs=self.schedule.d_epochs if epochs is None else epochs, batch_size=self.schedule.d_batch_size,
            key=streams.key(self.seed, "d_train", u), model=self.d_model, parallel=self.parallel,
            batch_order=self.schedule.d_batch_order, drop_last=self.schedule.d_drop_last,
        )
        self.d_updates += 1
        self.last_d_stats = stats
        return stats

    def discriminator_accuracies(self) -> dict[str, float]:
        """``d_train_acc`` and ``d_heldout_acc`` of D after its last retraining
        (:func:`~seqgan_env.agents.reports.discriminator_accuracies`)."""
        return reports.discriminator_accuracies(self)

    reward_fn = alias_property("AdversarialTrainer", "reward_fn", "rollout_reward")
    ensure_reward_fn = alias_method("AdversarialTrainer", "ensure_reward_fn", "ensure_rollout_reward")

    def ensure_rollout_reward(self) -> RolloutReward:
        """The agent's reward function over this trainer's discriminator (built on first use)."""
        if self.rollout_reward is None:
            self.rollout_reward = self.agent.make_rollout_reward(self.discriminator)
        return self.rollout_reward

    # ------------------------------------------------------------------ units
    def _should_eval(self, i: int, n: int) -> bool:
        return i % self.schedule.eval_every == 0 or i == n - 1

    def _unit(self) -> None:
        """Run unit ``self.index`` of ``self.phase``."""
        {"mle": self._mle_unit, "d_pretrain": self._d_pretrain_unit, "adversarial": self._adversarial_unit,
         "mle_baseline": self._baseline_unit}[self.phase](self.index, self.phase_length(self.phase))

    def _mle_unit(self, i: int, n: int) -> None:
        order = self._mle_order("mle", i)
        loss = mle_epoch(self.generator, self.mle_optimizer, self.data.train, self.mle, order=order,
                         model=self.g_model, parallel=self.parallel)
        self.log.scalars("mle", {"train_nll": loss}, i)
        if self._should_eval(i, n):
            self._add_row({"phase": "mle", "step": i, "epoch": self._x("mle", i),
                           **self.evaluate(with_discriminator=False)})

    def _d_pretrain_unit(self, i: int, n: int) -> None:
        stats = self.discriminator_step(self.schedule.d_pretrain_epochs)
        self._add_row({"phase": "d_pretrain", "step": i, "epoch": self._x("d_pretrain", i),
                       "d_loss": stats.loss, "d_acc": stats.accuracy, **self.discriminator_accuracies()})

    def _adversarial_unit(self, i: int, n: int) -> None:
        rollout_reward = self.ensure_rollout_reward()
        g_metrics = [
            self.agent.generator_step(rollout_reward,
                                      streams.torch_generator(self.seed, "agent", i, g, device=self.device))
            for g in range(self.schedule.g_steps)
        ]
        for _ in range(self.schedule.d_steps):
            self.discriminator_step()
        if g_metrics:
            self.last_g_metrics = {k: sum(m[k] for m in g_metrics) / len(g_metrics) for k in g_metrics[0]}
            self.log.scalars("adversarial_g", self.last_g_metrics, i)
        if self.last_d_stats is not None and self.schedule.d_steps:
            self.log.scalars("adversarial_d", {"train_loss": self.last_d_stats.loss,
                                               "train_acc": self.last_d_stats.accuracy}, i)
        if self._should_eval(i, n):
            ev = self.evaluate()
            accs = self.discriminator_accuracies()
            self._add_row({"phase": "adversarial", "step": i, "epoch": self._x("adversarial", i), **ev, **accs})

    def _baseline_unit(self, i: int, n: int) -> None:
        assert self.baseline_generator is not None and self.baseline_optimizer is not None
        order = self._mle_order("mle_baseline", i)
        loss = mle_epoch(self.baseline_generator, self.baseline_optimizer, self.data.train, self.mle, order=order,
                         model=self.baseline_model, parallel=self.parallel)
        self.log.scalars("mle_baseline", {"train_nll": loss}, i)
        if self._should_eval(i, n):
            self._add_row({"phase": "mle_baseline", "step": i, "epoch": self._x("mle_baseline", i),
                           **self.evaluate(self.baseline_generator)})

    def _enter(self, phase: str) -> None:
        """Move to ``phase`` (skipping empty phases) and do its one-time set-up."""
        prev = self.phase
        self.phase, self.index = phase, 0
        if prev == "mle":
            if not any(r["phase"] == "mle" for r in self.rows):  # no MLE epochs: log the starting point
                self._add_row({"phase": "mle", "step": 0, "epoch": 0, **self.evaluate(with_discriminator=False)})
            self._baseline_snapshot = {
                "generator": copy.deepcopy(self.generator.state_dict()),
                "optimizer": copy.deepcopy(self.mle_optimizer.state_dict()),
            }
            self.save_generator("mle_pretrained", self.generator)
        elif prev == "adversarial" and self.schedule.adv_rounds > 0:
            self.save_generator("seqgan", self.generator)
        elif prev == "mle_baseline" and self.baseline_generator is not None:
            self.save_generator("mle_baseline", self.baseline_generator)
        if phase == "mle_baseline" and self.phase_length(phase) > 0:
            self._make_baseline()
        if phase != "done" and self.phase_length(phase) == 0:
            self._enter(PHASES[PHASES.index(phase) + 1])

    def _make_baseline(self) -> None:
        assert self._baseline_snapshot is not None
        g = copy.deepcopy(self.generator)
        g.load_state_dict(self._baseline_snapshot["generator"])
        opt = make_generator_optimizer(g, self.mle.lr)
        opt.load_state_dict(self._baseline_snapshot["optimizer"])
        self.baseline_generator, self.baseline_optimizer = g, opt
        self.baseline_model = self.parallel.wrap(g)

    def save_generator(self, name: str, generator: Generator) -> Path | None:
        """Write ``out_dir/generators/<name>.pt`` (config, weights, what the run was), rank 0 only
        (:func:`~seqgan_env.agents.trainer_state.save_generator`)."""
        return trainer_state.save_generator(self, name, generator)

    # ------------------------------------------------------------------ the loop
    def run(self, *, stop_after_rounds: int | None = None) -> dict[str, Any]:
        """Run (or continue) the schedule to the end; returns :meth:`summary`.

        Args:
            stop_after_rounds: stop, after writing a checkpoint, once this many adversarial rounds are done
                (for testing resume; ``None`` runs to the end). Returns the partial summary.

        Raises:
            TrainingStopped: a loss, score or weight became NaN/inf or diverged; the last good checkpoint (if
                any) is left as it was.
        """
        from tqdm.auto import tqdm

        if not self.started:
            torch.manual_seed(self.seed)
            self.started = True
            if self.phase_length("mle") == 0:
                self._enter("d_pretrain")
        bars: dict[str, Any] = {}
        try:
            while self.phase != "done":
                if stop_after_rounds is not None and self.phase == "adversarial" and self.index >= stop_after_rounds:
                    self.save_checkpoint()
                    return self.summary()
                phase = self.phase
                n = self.phase_length(phase)
                if phase not in bars:
                    for b in bars.values():
                        b.close()
                    bars[phase] = tqdm(total=n, initial=self.index, desc=phase, disable=not self.progress,
                                       leave=True, dynamic_ncols=True)
                t0 = self._unit_t0 = time.perf_counter()
                c0 = time.process_time()
                try:
                    self._unit()
                    self.check_weights(f"after {phase} unit {self.index}")
                except (NonFiniteLossError, NonFiniteError) as exc:
                    ck = self.checkpoint_path if self.checkpoint_path is not None and self.checkpoint_path.exists() \
                        else None
                    where = f"the last good checkpoint is {ck}" if ck else "no checkpoint was written yet"
                    hint = " Resume from it with lower learning rates." if ck else ""
                    raise TrainingStopped(f"{exc} (in {phase} unit {self.index}); {where}.{hint}", ck) from exc
                self.elapsed[phase] += time.perf_counter() - t0
                self.cpu[phase] += time.process_time() - c0
                self._unit_t0 = None
                self.index += 1
                bars[phase].update(1)
                post = {k: f"{v:.3f}" for k, v in (self.rows[-1].items() if self.rows else [])
                        if k in ("nll_oracle", "d_acc") and isinstance(v, float) and not math.isnan(v)}
                bars[phase].set_postfix(post)
                if self.index >= n:
                    self._enter(PHASES[PHASES.index(phase) + 1])
                    self.save_checkpoint()
                elif self.index % self.schedule.checkpoint_every == 0:
                    self.save_checkpoint()
        finally:
            for b in bars.values():
                b.close()
            self.log.flush()
        summary = self.summary()
        if self.out_dir is not None and self.parallel.is_main:
            write_json(self.out_dir / "summary.json", summary)
        return summary

    def close(self) -> None:
        """Close the TensorBoard writer."""
        self.log.close()

    # ------------------------------------------------------------------ results
    def summary(self) -> dict[str, Any]:
        """Final figures: the last evaluation of each curve, budgets, timings and config
        (:func:`~seqgan_env.agents.reports.summary`)."""
        return reports.summary(self)

    # ------------------------------------------------------------------ learning rates and the weight guard
    def learning_rates(self) -> dict[str, float]:
        """The current learning rates: ``pg`` (the agent's optimizer, if it has one), ``mle`` and ``d``."""
        return trainer_state.learning_rates(self)

    def set_learning_rates(self, *, pg: float | None = None, mle: float | None = None, d: float | None = None) -> None:
        """Change learning rates from now on (e.g. on ``--resume`` after a divergence) and record the change in
        the checkpoint and the summary (:func:`~seqgan_env.agents.trainer_state.set_learning_rates`)."""
        trainer_state.set_learning_rates(self, pg=pg, mle=mle, d=d)

    def check_weights(self, where: str = "") -> None:
        """Raise :class:`DivergenceError` if a weight of G, D or the baseline G is non-finite or above
        ``max_weight`` in absolute value."""
        trainer_state.check_weights(self, where)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """The full trainer state, tensors and plain data (:func:`~seqgan_env.agents.trainer_state.state_dict`)."""
        return trainer_state.state_dict(self)

    def save_checkpoint(self) -> Path | None:
        """Write ``out_dir/checkpoint.pt`` atomically, rank 0 only, after the weight guard; returns its path
        (:func:`~seqgan_env.agents.trainer_state.save_checkpoint`)."""
        return trainer_state.save_checkpoint(self)

    @staticmethod
    def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
        """Read and verify a checkpoint file (or a run directory holding ``checkpoint.pt``): checksum, version and
        required keys (:func:`seqgan_env.agents.checkpoint.read_checkpoint`)."""
        return read_checkpoint(path, PHASES)

    def load_checkpoint(self, path: str | os.PathLike[str], *, fork: bool = False) -> None:
        """Restore the state saved in ``path`` (nothing changes if it is invalid); ``fork=True`` starts another run
        from a run's pretraining (:func:`~seqgan_env.agents.trainer_state.load_checkpoint`).

        Raises:
            CheckpointError: unreadable, wrong version, or saved with a different configuration.
        """
        trainer_state.load_checkpoint(self, path, fork=fork)

