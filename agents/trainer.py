"""The adversarial trainer: MLE pretraining, D pretraining, alternating G/D rounds, an MLE-only baseline.

The schedule and its phases are in :mod:`seqgan_env.agents.schedule`, the metric rows and plots in
:mod:`~seqgan_env.agents.runlog`, checkpoint files in :mod:`~seqgan_env.agents.checkpoint`, the evaluation
functions in :mod:`seqgan_env.evaluation`. This module is the loop (:meth:`AdversarialTrainer.run`, then one
method per kind of unit) and the trainer's state.

**Evaluation** (after unit i of the "mle", "adversarial" and "mle_baseline" phases when ``i % eval_every == 0``
or i is the last unit, as the reference code): NLL-oracle of ``eval_samples`` sequences from the fixed stream
``"eval"`` (the same samples' random numbers every time, so MLE and SeqGAN are compared on common random numbers),
NLL-test on the held-out set, and, once D exists, ``d_loss``/``d_acc`` of D on ``d_eval_samples`` of those samples
against as many held-out real ones, and ``g_reward`` = mean D(Y) of those samples. The x axis (``epoch``) counts
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

**Checkpoints and resume.** ``out_dir/checkpoint.pt`` is written (a temporary file, fsynced, then
``os.replace``; removed if the write fails) with a sha256 of its payload (:mod:`seqgan_env.files`), after every
``checkpoint_every`` units of any phase, at every phase change and when ``run`` stops early. The weights are
checked first: a non-finite or diverged weight is never saved. It holds the agent, D and its optimizer, the MLE
optimizer, the baseline copy, the rollout policy's delayed copy, the unit counters the streams are keyed by,
torch's global RNG states (for custom agents that use them), the metric rows, the learning-rate changes and the
elapsed time. :meth:`AdversarialTrainer.load_checkpoint` validates the file (complete, checksum, version, same
configuration fingerprint) before changing anything, so a resumed run repeats an uninterrupted one with the same
seed exactly (same thread count and device assumed) and a bad file leaves everything untouched.

**Non-finite losses, scores or weights**, and weights that diverge past ``max_weight``, raise
:class:`TrainingStopped` (a :class:`~seqgan_env.training.NonFiniteLossError`); no checkpoint is written after the
failure, so the last good one survives.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from seqgan_env import evaluation, streams
from seqgan_env.config import MLEConfig
from seqgan_env.data import OracleData
from seqgan_env.discriminator import Discriminator
from seqgan_env.files import atomic_write, save_checked, write_json
from seqgan_env.generator import Generator
from seqgan_env.generator_files import save_generator
from seqgan_env.kernels import NonFiniteError
from seqgan_env.parallel import Parallel
from seqgan_env.rewards import RolloutReward
from seqgan_env.runs import data_digest, oracle_digest
from seqgan_env.training import (
    DiscriminatorStats,
    NonFiniteLossError,
    make_discriminator_optimizer,
    make_generator_optimizer,
    mle_epoch,
    train_discriminator,
)

from .checkpoint import CHECKPOINT_NAME, CHECKPOINT_VERSION, CheckpointError, differences, read_checkpoint, without_lr
from .protocol import GeneratorAgent
from .runlog import METRIC_COLUMNS, RunLog, plot_learning_curve
from .schedule import PHASES, ScheduleConfig

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


class DivergenceError(NonFiniteLossError):
    """A model's weights became non-finite or exceeded :data:`MAX_WEIGHT` (a learning rate far too high)."""


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
        data: OracleData,
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
        if not isinstance(agent, GeneratorAgent):
            raise TypeError(
                f"{type(agent).__name__} does not implement GeneratorAgent (generator, make_reward_fn, "
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
        self.reward_fn: RolloutReward | None = None
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
        """A JSON string of everything a checkpoint must agree on to be resumed by this trainer."""
        agent_state = self.agent.state_dict()
        fp = {  # learning rates are left out: a resumed run may lower them (set_learning_rates records it)
            "schedule": asdict(self.schedule),
            "mle": without_lr(asdict(self.mle)),
            "agent_type": type(self.agent).__name__,
            "agent_config": without_lr(agent_state.get("config")),
            "generator": asdict(self.generator.config),
            "discriminator": without_lr(asdict(self.discriminator.config)),
            "seed": self.seed,
            "data_sha256": data_digest(self.data),
            "oracle_sha256": oracle_digest(self.oracle),
            "extra": self.extra_config,
        }
        return json.dumps(fp, sort_keys=True, default=str)

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
    @torch.no_grad()
    def evaluate(self, model: Generator | None = None, *, with_discriminator: bool = True) -> dict[str, float]:
        """NLL-oracle, NLL-test and (optionally) D's loss/accuracy and mean score on samples of ``model``.

        The samples are rows of the fixed stream ``"eval"`` of the trainer's seed (:mod:`seqgan_env.evaluation`),
        so the call is a pure function of the models, and split over ranks.
        """
        model = model or self.generator
        s, p = self.schedule, self.parallel
        lo, hi = p.shard(s.eval_samples)
        samples = evaluation.sample_rows(model, range(lo, hi), seed=self.seed)
        self_sum, count, _ = evaluation.nll_sums(model, samples)
        oracle_sum = evaluation.nll_sums(self.oracle, samples)[0] if self.oracle is not None else math.nan
        if p.enabled:
            self_sum, oracle_sum, count = p.sum_floats(self_sum, oracle_sum, float(count))
        if self.sample_decoder is not None and p.is_main:
            self._last_samples = self.sample_decoder(samples[: self.num_show])
        out = {
            "nll_oracle": oracle_sum / count if count else math.nan,
            "nll_self": self_sum / count if count else math.nan,
            "nll_test": evaluation.nll_test(model, self.data.test, parallel=p),
            "d_loss": math.nan,
            "d_acc": math.nan,
            "g_reward": math.nan,
        }
        if with_discriminator:
            k = min(s.d_eval_samples, s.eval_samples, self.data.test.shape[0])
            lo, hi = p.shard(k)
            fake = evaluation.sample_rows(model, range(lo, hi), seed=self.seed)
            ev = evaluation.discriminator_eval(self.discriminator, fake, self.data.test[lo:hi], parallel=p,
                                               num_fake=k, num_real=k)
            out.update({key: ev[key] for key in ("d_loss", "d_acc", "g_reward")})
        return out

    # ------------------------------------------------------------------ discriminator
    def _negatives_and_positives(self, update: int) -> tuple[Tensor, Tensor]:
        """D retraining ``update``'s fresh negatives (sampled per rank, gathered) and as many positives."""
        train = self.data.train
        n = self.schedule.num_negatives or train.shape[0]
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
            epochs=self.schedule.d_epochs if epochs is None else epochs, batch_size=self.schedule.batch_size,
            key=streams.key(self.seed, "d_train", u), model=self.d_model, parallel=self.parallel,
        )
        self.d_updates += 1
        self.last_d_stats = stats
        return stats

    @torch.no_grad()
    def discriminator_accuracies(self) -> dict[str, float]:
        """D (no dropout) on rows it was trained on and on held-out rows, both classes each: ``d_train_acc`` on the
        first ``d_eval_samples`` negatives and positives of its last retraining (re-drawn from their keyed
        streams, so nothing is stored), ``d_heldout_acc`` on as many fresh samples of G (the ``"eval"`` stream)
        and held-out real sequences. A gap between the two is D memorising its training set (the paper's D
        reached 0.99 on its training data and 0.53 on held-out sequences)."""
        if self.d_updates == 0:
            return {"d_train_acc": math.nan, "d_heldout_acc": math.nan}
        u, p, s = self.d_updates - 1, self.parallel, self.schedule
        train = self.data.train
        n = s.num_negatives or train.shape[0]
        k = min(s.d_eval_samples, n, self.data.test.shape[0])
        lo, hi = p.shard(k)
        seeds = streams.row_seeds(self.seed, "negatives", u, rows=range(lo, hi), device=self.device)
        fake_seen = self.generator.sample_batches(hi - lo, 1024, row_seeds=seeds)
        real_rows = torch.arange(k) if n >= train.shape[0] else \
            streams.permutation(self.seed, "real_subset", u, n=train.shape[0])[:k]
        real_seen = train[real_rows[lo:hi].to(train.device)]
        seen = evaluation.discriminator_eval(self.discriminator, fake_seen, real_seen, parallel=p, num_fake=k,
                                             num_real=k)
        fresh = evaluation.sample_rows(self.generator, range(lo, hi), seed=self.seed)
        held = evaluation.discriminator_eval(self.discriminator, fresh, self.data.test[lo:hi], parallel=p,
                                             num_fake=k, num_real=k)
        return {"d_train_acc": seen["d_acc"], "d_heldout_acc": held["d_acc"]}

    def ensure_reward_fn(self) -> RolloutReward:
        """The agent's reward function over this trainer's discriminator (built on first use)."""
        if self.reward_fn is None:
            self.reward_fn = self.agent.make_reward_fn(self.discriminator)
        return self.reward_fn

    # ------------------------------------------------------------------ units
    def _should_eval(self, i: int, n: int) -> bool:
        return i % self.schedule.eval_every == 0 or i == n - 1

    def _unit(self) -> None:
        """Run unit ``self.index`` of ``self.phase``."""
        {"mle": self._mle_unit, "d_pretrain": self._d_pretrain_unit, "adversarial": self._adversarial_unit,
         "mle_baseline": self._baseline_unit}[self.phase](self.index, self.phase_length(self.phase))

    def _mle_unit(self, i: int, n: int) -> None:
        order = streams.permutation(self.seed, "mle", i, n=self.data.train.shape[0])
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
        reward_fn = self.ensure_reward_fn()
        g_metrics = [
            self.agent.generator_step(reward_fn, streams.torch_generator(self.seed, "agent", i, g, device=self.device))
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
        order = streams.permutation(self.seed, "mle_baseline", i, n=self.data.train.shape[0])
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
        """Write ``out_dir/generators/<name>.pt`` (:func:`seqgan_env.generator_files.save_generator`: the config,
        the weights and what the run was), rank 0 only. Returns the path."""
        if self.out_dir is None:
            return None
        path = self.out_dir / "generators" / f"{name}.pt"
        if self.parallel.is_main:
            meta = {"model": name, "seed": self.seed, "schedule": asdict(self.schedule),
                    "agent": {"type": type(self.agent).__name__, "config": self.agent.state_dict().get("config")},
                    "extra": self.extra_config, "rows": [dict(r) for r in self.rows]}
            save_generator(path, generator, meta)
        return path

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
        """Final figures: the last evaluation of each curve, best SeqGAN value, budgets, timings and config."""

        def last(phase: str) -> dict[str, Any] | None:
            rows = [r for r in self.rows if r["phase"] == phase]
            return rows[-1] if rows else None

        pre, adv, base, dpre = last("mle"), last("adversarial"), last("mle_baseline"), last("d_pretrain")
        mle_row = base or pre
        adv_rows = [r for r in self.rows if r["phase"] == "adversarial"]
        batches = math.ceil(self.data.train.shape[0] / self.mle.batch_size)
        nan = math.nan
        return {
            "phase": self.phase,
            "pretrain_nll_oracle": pre["nll_oracle"] if pre else nan,
            "pretrain_nll_test": pre["nll_test"] if pre else nan,
            "mle_nll_oracle": mle_row["nll_oracle"] if mle_row else nan,
            "mle_nll_test": mle_row["nll_test"] if mle_row else nan,
            "seqgan_nll_oracle": adv["nll_oracle"] if adv else nan,
            "seqgan_nll_test": adv["nll_test"] if adv else nan,
            "best_seqgan_nll_oracle": min((r["nll_oracle"] for r in adv_rows), default=nan),
            "pretrain_nll_self": pre["nll_self"] if pre else nan,
            "mle_nll_self": mle_row["nll_self"] if mle_row else nan,
            "seqgan_nll_self": adv["nll_self"] if adv else nan,
            "discriminator_accuracy": {
                "definition": "D without dropout on the negatives and positives of its last retraining (train) and "
                              "on fresh G samples and held-out real sequences (heldout), after each phase",
                "d_pretrain": {"train": dpre["d_train_acc"] if dpre else nan,
                               "heldout": dpre["d_heldout_acc"] if dpre else nan},
                "adversarial": {"train": adv["d_train_acc"] if adv else nan,
                                "heldout": adv["d_heldout_acc"] if adv else nan},
            },
            "budget": {
                "definition": "MLE-only continues MLE from the pretrained G for baseline_epochs epochs, one per "
                              "adversarial round (the paper figure's x axis)",
                "adv_rounds": self.schedule.adv_rounds,
                "baseline_epochs": self.schedule.resolved_baseline_epochs,
                "seqgan_generator_updates": self.schedule.adv_rounds * self.schedule.g_steps,
                "mle_generator_updates": self.schedule.resolved_baseline_epochs * batches,
            },
            "timings_s": {k: round(v, 2) for k, v in self.elapsed.items()} | {"total": round(self._total_seconds(), 2)},
            "cpu_s": {k: round(v, 2) for k, v in self.cpu.items()} | {"total": round(sum(self.cpu.values()), 2)},
            "world_size": self.parallel.world_size,
            "schedule": asdict(self.schedule),
            "mle": asdict(self.mle),
            "agent": {"type": type(self.agent).__name__, "config": self.agent.state_dict().get("config")},
            "generator": asdict(self.generator.config),
            "discriminator": asdict(self.discriminator.config),
            "seed": self.seed,
            "extra": self.extra_config,
            "learning_rate_changes": [dict(c) for c in self.lr_changes],
            "forked_from": self.forked_from,
        }

    # ------------------------------------------------------------------ learning rates and the weight guard
    def learning_rates(self) -> dict[str, float]:
        """The current learning rates: ``pg`` (the agent's optimizer, if it has one), ``mle`` and ``d``."""
        out = {"mle": float(self.mle_optimizer.param_groups[0]["lr"]),
               "d": float(self.d_optimizer.param_groups[0]["lr"])}
        opt = getattr(self.agent, "optimizer", None)
        if isinstance(opt, torch.optim.Optimizer):
            out["pg"] = float(opt.param_groups[0]["lr"])
        return out

    def set_learning_rates(self, *, pg: float | None = None, mle: float | None = None, d: float | None = None) -> None:
        """Change learning rates from now on (e.g. on ``--resume`` after a divergence) and record the change in
        the checkpoint and the summary (``learning_rate_changes``). ``pg`` needs an agent with
        ``set_learning_rate``; ``mle`` applies to pretraining and the MLE-only baseline, ``d`` to D's Adam."""
        change: dict[str, Any] = {"phase": self.phase, "unit": self.index}
        for name, value in (("pg", pg), ("mle", mle), ("d", d)):
            if value is None:
                continue
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"the new {name} learning rate {value!r} must be a finite number > 0.")
            change[f"{name}_lr"] = {"from": self.learning_rates().get(name), "to": float(value)}
            if name == "pg":
                if not hasattr(self.agent, "set_learning_rate"):
                    raise ValueError(f"{type(self.agent).__name__} has no set_learning_rate; cannot change its lr.")
                self.agent.set_learning_rate(float(value))  # type: ignore[attr-defined]
            elif name == "mle":
                self.mle = dataclasses.replace(self.mle, lr=float(value))
                for opt in (self.mle_optimizer, self.baseline_optimizer):
                    if opt is not None:
                        for group in opt.param_groups:
                            group["lr"] = float(value)
            else:
                for group in self.d_optimizer.param_groups:
                    group["lr"] = float(value)
        if len(change) > 2:
            self.lr_changes.append(change)

    def check_weights(self, where: str = "") -> None:
        """Raise :class:`DivergenceError` if a weight of G, D or the baseline G is non-finite or above
        ``max_weight`` in absolute value."""
        models = {"generator": self.generator, "discriminator": self.discriminator}
        if self.baseline_generator is not None:
            models["MLE-only baseline generator"] = self.baseline_generator
        if self.reward_fn is not None and self.reward_fn.rollout_generator is not self.generator:
            models["rollout generator"] = self.reward_fn.rollout_generator
        for what, model in models.items():
            for name, p in model.named_parameters():
                biggest = float(p.detach().abs().max()) if p.numel() else 0.0
                if not math.isfinite(biggest):
                    raise DivergenceError(f"the {what}'s {name} holds non-finite values {where}".rstrip())
                if biggest > self.max_weight:
                    raise DivergenceError(
                        f"the {what} diverged {where}: max |{name}| = {biggest:.3g} > {self.max_weight:g} "
                        "(the learning rate is far too high)".replace("  ", " ")
                    )

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """The full trainer state (see the module docstring): tensors and plain data (``weights_only``-loadable)."""
        reward_state = None
        if self.reward_fn is not None and self.reward_fn.rollout_generator is not self.generator:
            reward_state = self.reward_fn.rollout_generator.state_dict()
        baseline = None
        if self.baseline_generator is not None and self.baseline_optimizer is not None:
            baseline = {"generator": self.baseline_generator.state_dict(),
                        "optimizer": self.baseline_optimizer.state_dict()}
        return {
            "version": CHECKPOINT_VERSION,
            "fingerprint": self.fingerprint(),
            "phase": self.phase,
            "index": self.index,
            "d_updates": self.d_updates,
            "started": self.started,
            "agent": self.agent.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "d_optimizer": self.d_optimizer.state_dict(),
            "mle_optimizer": self.mle_optimizer.state_dict(),
            "reward_fn": {"built": self.reward_fn is not None, "rollout_generator": reward_state},
            "baseline_snapshot": self._baseline_snapshot,
            "baseline": baseline,
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "rows": [dict(r) for r in self.rows],
            "elapsed": dict(self.elapsed),
            "cpu": dict(self.cpu),
            "last_g_metrics": dict(self.last_g_metrics),
            "lr_changes": [dict(c) for c in self.lr_changes],
            "forked_from": self.forked_from,
            "sample_log": [dict(e) for e in self.sample_log],
        }

    def save_checkpoint(self) -> Path | None:
        """Write ``out_dir/checkpoint.pt`` atomically (tmp file + ``os.replace``, removed on failure) with a
        sha256 of its payload (:func:`seqgan_env.files.save_checked`); only rank 0 writes. Returns its path.

        Raises:
            DivergenceError: a weight is non-finite or diverged; nothing is written, the last good file stays.
        """
        path = self.checkpoint_path
        if path is None:
            return None
        self.check_weights("at a checkpoint")
        if self.parallel.is_main:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_checked(path, self.state_dict())
        self.parallel.barrier()  # every rank may read it from here on
        return path

    @staticmethod
    def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
        """Read and verify a checkpoint file (or a run directory holding ``checkpoint.pt``): checksum, version and
        required keys (:func:`seqgan_env.agents.checkpoint.read_checkpoint`)."""
        return read_checkpoint(path, PHASES)

    def load_checkpoint(self, path: str | os.PathLike[str], *, fork: bool = False) -> None:
        """Restore the state saved in ``path``; nothing changes (in memory or on disk) if it is invalid.

        ``fork=True`` starts *another* run from a run's pretraining: the checkpoint must be at the start of the
        adversarial phase (a run stopped with ``run(stop_after_rounds=0)``), and it may differ from this trainer
        in the agent's config, the caller's ``extra_config`` and the schedule of the later phases (``adv_rounds``,
        ``g_steps``, ``d_steps``, ``d_epochs``, ``eval_every``, ``checkpoint_every``, ``baseline_epochs``). The
        pretrained G, D, their optimizers and the metric rows are taken over; the result is exactly the run this
        trainer would give from scratch (pretraining does not read those settings). The summary records
        ``forked_from``.

        Raises:
            CheckpointError: unreadable, wrong version, or saved with a different configuration (the message
                names the settings that differ).
        """
        state = self.read_checkpoint(path)
        mine = json.loads(self.fingerprint())
        theirs = json.loads(state["fingerprint"])
        if fork:
            if (state["phase"], int(state["index"])) != ("adversarial", 0) or state.get("baseline") is not None:
                raise CheckpointError(
                    f"{path} is not at the start of the adversarial phase (it is at {state['phase']} unit "
                    f"{state['index']}); fork from a run stopped after pretraining (--stop-after-rounds 0)."
                )
            free = {"adv_rounds", "g_steps", "d_steps", "d_epochs", "eval_every", "checkpoint_every",
                    "baseline_epochs"}
            for fp in (mine, theirs):
                fp.pop("agent_config", None)
                fp.pop("extra", None)
                fp["schedule"] = {k: v for k, v in fp["schedule"].items() if k not in free}
        if mine != theirs:
            diff = differences(theirs, mine)
            details = "; ".join(f"{k}: {a!r} in the checkpoint, {b!r} now" for k, a, b in diff[:6])
            more = f" and {len(diff) - 6} more" if len(diff) > 6 else ""
            raise CheckpointError(
                f"checkpoint {path} was written with other settings: {details}{more}; resume with the settings it "
                "was written with."
            )
        backup = copy.deepcopy(self.state_dict())
        try:
            if fork:
                agent_state = state["agent"]
                if int(agent_state.get("steps", 0)) != 0 or "generator" not in agent_state:
                    raise ValueError("the checkpoint's agent has taken steps (or keeps no 'generator' state)")
                self.generator.load_state_dict(agent_state["generator"])
                state = {**state, "agent": self.agent.state_dict(), "lr_changes": []}
            self._load_state(state)
            if fork:
                self.forked_from = str(path)
                if self._baseline_snapshot is not None:
                    pretrained = copy.deepcopy(self.generator)
                    pretrained.load_state_dict(self._baseline_snapshot["generator"])
                    self.save_generator("mle_pretrained", pretrained)
        except Exception as exc:
            self._load_state(backup)
            raise CheckpointError(f"checkpoint {path} does not fit this trainer ({type(exc).__name__}: {exc}).") \
                from exc
        self.log.write_csv()  # metrics.csv as of the checkpoint (drops rows of units that will be redone)
        self._write_samples()

    def _load_state(self, state: dict[str, Any]) -> None:
        self.agent.load_state_dict(state["agent"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
        self.mle_optimizer.load_state_dict(state["mle_optimizer"])
        self._baseline_snapshot = state["baseline_snapshot"]
        self.reward_fn = None
        if state["reward_fn"]["built"]:
            rf = self.ensure_reward_fn()
            if state["reward_fn"]["rollout_generator"] is not None:
                rf.rollout_generator.load_state_dict(state["reward_fn"]["rollout_generator"])
        self.baseline_generator = self.baseline_optimizer = self.baseline_model = None
        if state["baseline"] is not None:
            self._make_baseline()
            assert self.baseline_generator is not None and self.baseline_optimizer is not None
            self.baseline_generator.load_state_dict(state["baseline"]["generator"])
            self.baseline_optimizer.load_state_dict(state["baseline"]["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        if torch.cuda.is_available() and state.get("cuda_rng"):
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        self.phase, self.index, self.started = state["phase"], int(state["index"]), bool(state["started"])
        self.d_updates = int(state.get("d_updates", 0))
        self.rows = [dict(r) for r in state["rows"]]
        self.elapsed = {p: 0.0 for p in PHASES[:-1]} | dict(state["elapsed"])
        self.cpu = {p: 0.0 for p in PHASES[:-1]} | dict(state.get("cpu", {}))
        self.last_g_metrics = dict(state.get("last_g_metrics", {}))
        self.lr_changes = [dict(c) for c in state.get("lr_changes", [])]
        self.forked_from = state.get("forked_from")
        self.sample_log = [dict(e) for e in state.get("sample_log", [])]
        self.mle = dataclasses.replace(self.mle, lr=float(self.mle_optimizer.param_groups[0]["lr"]))
