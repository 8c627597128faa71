"""SeqGAN on the synthetic oracle (the paper's Table 1 experiment), CleanRL style: one file, a typed ``Args``.

    python examples/oracle_train.py --preset quick --oracle-params /path/to/seqgan_oracle_params.npz --out runs/q
    python examples/oracle_train.py --resume runs/q            # continue a killed run to the same result
    torchrun --standalone --nproc-per-node 2 examples/oracle_train.py --preset tiny --out runs/t   # 2 ranks

Presets (every schedule knob below can still be overridden by its flag):

* ``paper``: the paper's / reference code's exact schedule (120 MLE epochs; D pretraining 50 rounds x 3 epochs on
  10,000 fresh negatives + the 10,000 real sequences; 200 rounds of 1 PG step with 16 rollouts and 5 x 3 D
  epochs; evaluation every 5 on 9,984 samples). About 29 h on a 2-core CPU; meant for a GPU.
* ``quick``: a CPU run of at most 20 minutes on 2 cores with the reference oracle (V=5000, T=20, the paper's
  networks and optimisers unchanged). See :data:`PRESETS` for how it shrinks the schedule.
* ``tiny``: seconds long, for tests: a V=50, T=8 random oracle, small data and a slimmed D.

Oracle: ``--oracle-params PATH``, else ``$SEQGAN_ORACLE_PARAMS`` (not for ``tiny``), else a seeded random oracle
(the log says which; only the reference file gives figures comparable with the paper).

Writes to ``--out DIR``: ``metrics.csv`` (phase, step, epoch, nll_oracle, nll_test, nll_self, d_loss, d_acc,
d_fake_score, d_train_acc, d_heldout_acc, seconds), ``generators/*.pt`` (loadable generator files), ``tb/``
(TensorBoard), ``summary.json`` (strict JSON: a non-finite figure is ``null`` and listed under ``nonfinite``),
``learning_curve.png``, ``checkpoint.pt`` (checksummed, written atomically) and ``args.json``.
A run holds ``DIR/.lock`` while it writes, so two runs cannot share a directory.

Errors in the command (a bad flag, a damaged file, an unwritable ``--out``) end with one ``error: ...`` line and
exit code 2 (``--debug`` shows the traceback). A run stopped by a NaN or a diverging weight exits with code 1 and
keeps its last good checkpoint; continue it with lower learning rates, e.g.
``--resume DIR --pg-lr 0.001`` (the change is recorded in the checkpoint and the summary).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from seqgan_env import streams
from seqgan_env.agents import AdversarialTrainer, ReinforceAgent, ReinforceConfig, ScheduleConfig, TrainingStopped
from seqgan_env.agents.trainer import plot_learning_curve
from seqgan_env.cli import ConfigCLI, Section, UsageError, check_rollout_backend, check_run_options, run_cli
from seqgan_env.config import DataConfig, DiscriminatorOptions, GeneratorConfig, MLEConfig
from seqgan_env.data import make_oracle_data
from seqgan_env.discriminator import Discriminator
from seqgan_env.files import RunLock, atomic_write, check_output_dir
from seqgan_env.generator import Generator
from seqgan_env.parallel import Parallel
from seqgan_env.presets import example_presets
from seqgan_env.runs import resolve_oracle


@dataclass
class RunArgs:
    """What the run is and where it goes (none of these change the result except ``seed`` and ``preset``)."""

    preset: str = "paper"
    """paper | quick | tiny (seqgan_env.presets.EXAMPLE_PRESETS["oracle_train"]): the sizes and budget the other
    flags start from"""
    oracle_params: str | None = None
    """the reference oracle .npz; else $SEQGAN_ORACLE_PARAMS; else a seeded random oracle"""
    out: str = "runs/oracle"
    """output directory"""
    resume: str | None = None
    """continue the run saved in this directory (its arguments are reused)"""
    fork_from: str | None = None
    """start this run from the pretraining of another run (stopped with --stop-after-rounds 0): the same result as
    from scratch for runs that differ only in the agent (--baseline, --reward-source ...) or the later phases"""
    device: str = "cpu"
    """torch device"""
    seed: int = 0
    """seeds the models, the trainer's random streams and the random oracle/data"""
    stop_after_rounds: int | None = None
    """stop (with a checkpoint) after this many adversarial rounds; resume later with --resume"""
    progress: bool = True
    """tqdm progress bars"""
    threads: int | None = None
    """torch.set_num_threads (None: torch's default; torchrun sets one thread per rank)"""
    dist_timeout: float = 600.0
    """seconds a rank waits for the others in a collective before the run stops (torchrun only)"""

    def __post_init__(self) -> None:
        check_run_options(threads=self.threads, device=self.device, dist_timeout=self.dist_timeout)
        if self.stop_after_rounds is not None and self.stop_after_rounds < 0:
            raise UsageError(f"--stop-after-rounds {self.stop_after_rounds}: pass a count >= 0.")


@dataclass
class Args:
    """The arguments: one typed config per concern (the library's own dataclasses, defaults = the paper's)."""

    run: RunArgs
    generator: GeneratorConfig  # vocab_size, seq_len (a reference oracle file fixes vocab_size)
    data: DataConfig  # num_train, num_test
    discriminator: DiscriminatorOptions  # d_filter_scale, d_lr
    schedule: ScheduleConfig
    agent: ReinforceConfig
    mle: MLEConfig  # mle_batch_size, mle_lr (its epochs are schedule.mle_epochs)


SECTIONS = [
    Section("run", RunArgs, title="run"),
    Section("generator", GeneratorConfig, include=("vocab_size", "seq_len"), title="task sizes (GeneratorConfig)"),
    Section("data", DataConfig, include=("num_train", "num_test"), title="oracle data (DataConfig)"),
    Section("discriminator", DiscriminatorOptions, prefix="d_", title="discriminator (DiscriminatorOptions)"),
    Section("schedule", ScheduleConfig, exclude=("d_batch_size",), title="schedule (ScheduleConfig)"),
    Section("agent", ReinforceConfig, include=("num_rollouts", "batch_size", "lr", "baseline", "rollout_policy",
                                                "loss_reduction", "reward_source", "backend"),
            rename={"batch_size": "pg_batch_size", "lr": "pg_lr", "backend": "rollout_backend"},
            title="REINFORCE (ReinforceConfig)"),
    Section("mle", MLEConfig, prefix="mle_", include=("batch_size", "lr", "batch_order", "drop_last"),
            title="MLE (MLEConfig)"),
]

#: ``--preset NAME`` -> flag values: one row of the task-size and budget tables of :mod:`seqgan_env.presets`.
PRESETS: dict[str, dict[str, Any]] = example_presets("oracle_train")

CLI = ConfigCLI(
    Args, SECTIONS, PRESETS, default_preset="paper", description=__doc__.split("\n")[0],
    choices={"preset": sorted(PRESETS), "baseline": ["none", "mean"], "rollout_policy": ["current", "delayed"],
             "loss_reduction": ["sum", "mean"], "reward_source": ["discriminator", "constant"],
             "rollout_backend": ["auto", "triton", "torch"], "mle_batch_order": ["reshuffle", "fixed"],
             "d_batch_order": ["reshuffle", "once"]},
)

# Flags that may differ on --resume (they do not change the result).
RESUME_FREE = {"resume", "out", "device", "stop_after_rounds", "progress", "threads", "dist_timeout", "fork_from"}
# Learning rates may be changed on --resume (e.g. after a divergence); the trainer records the change.
RESUME_LR = {"pg_lr": "pg", "mle_lr": "mle", "d_lr": "d"}


def parse_args(argv: list[str] | None = None) -> tuple[Args, dict[str, Any]]:
    """Args = defaults (the paper's) <- preset <- flags given. Returns (args, the flags given explicitly)."""
    values, given = CLI.parse(argv)  # one-line UsageError on bad input
    return CLI.build(values), given


def oracle_and_source(args: Args) -> tuple[Generator, str]:
    """The oracle (``--oracle-params``, else ``$SEQGAN_ORACLE_PARAMS`` except for tiny, else a seeded random one)."""
    try:
        return resolve_oracle(oracle_params=args.run.oracle_params, preset=args.run.preset, seed=args.run.seed,
                              vocab_size=args.generator.vocab_size, seq_len=args.generator.seq_len)
    except ValueError as exc:
        if "vocab_size" in str(exc):
            raise UsageError(str(exc)) from None
        raise


def build(args: Args, parallel: Parallel | None = None) -> AdversarialTrainer:
    """Oracle, data, G, D, the REINFORCE agent and the trainer, all from ``args`` (split over ``parallel``'s
    ranks under torchrun)."""
    parallel = parallel or Parallel()
    run = args.run
    dev = torch.device(run.device)
    if parallel.enabled and dev.type == "cuda":
        dev = parallel.device  # one GPU per rank
    oracle, source = oracle_and_source(args)
    if parallel.is_main:
        print(f"oracle: {source}", flush=True)
    oracle = oracle.to(dev)
    data = make_oracle_data(oracle, dataclasses.replace(args.data, seed=run.seed), parallel=parallel)
    gcfg = dataclasses.replace(args.generator, vocab_size=oracle.vocab_size)
    generator = Generator(gcfg, seed=streams.key(run.seed, "generator_init")).to(dev)
    dcfg = args.discriminator.config(gcfg.seq_len, oracle.vocab_size)
    discriminator = Discriminator(dcfg, seed=streams.key(run.seed, "discriminator_init")).to(dev)
    agent = ReinforceAgent(generator, args.agent)
    mle = dataclasses.replace(args.mle, epochs=args.schedule.mle_epochs)  # one epoch count: the schedule's
    result_args = {k: v for k, v in CLI.flatten(args).items() if k not in RESUME_FREE}
    return AdversarialTrainer(
        agent, discriminator, oracle, data, schedule=args.schedule, mle=mle, seed=run.seed, out_dir=run.out,
        progress=run.progress, extra_config={"args": result_args, "oracle": source}, parallel=parallel,
    )


def _resume_args(args: Args, given: dict[str, Any]) -> Args:
    """The arguments of the run in ``--resume DIR`` with the result-free flags (and learning rates) given now."""
    run_dir = Path(args.run.resume)  # type: ignore[arg-type]
    if "out" in given and Path(given["out"]).resolve() != run_dir.resolve():
        raise UsageError(
            f"--resume {run_dir} continues that run in its own directory; drop --out {given['out']} (a resumed run "
            "never writes elsewhere)."
        )
    if not (run_dir / "args.json").is_file():
        raise UsageError(
            f"--resume {run_dir}: no run there (no args.json); pass the --out directory of an earlier run."
        )
    if not (run_dir / "checkpoint.pt").is_file():
        raise UsageError(
            f"--resume {run_dir}: that run stopped before its first checkpoint, so there is nothing to continue; start "
            f"it again with its original command (its settings are in {run_dir / 'args.json'})."
        )
    saved = json.loads((run_dir / "args.json").read_text())
    AdversarialTrainer.read_checkpoint(run_dir)  # a damaged file is refused before anything else happens
    free = RESUME_FREE | set(RESUME_LR)
    clash = {k: (saved.get(k), v) for k, v in given.items() if k not in free and saved.get(k) != v}
    if clash:
        detail = ", ".join(f"--{k.replace('_', '-')} {v!r} (the run used {s!r})" for k, (s, v) in clash.items())
        raise UsageError(f"{run_dir} was run with other settings: {detail}; drop these flags to resume.")
    kept = {k: v for k, v in saved.items() if k not in RESUME_FREE and k in CLI.flat}
    now = {k: v for k, v in given.items() if k in RESUME_FREE}
    return CLI.build(CLI.defaults() | kept | now | {"out": str(run_dir), "resume": str(run_dir)})


def main(argv: list[str] | None = None) -> int:
    args, given = parse_args(argv)  # bad values are refused here, before any directory is created
    if args.run.resume is not None:
        if args.run.fork_from is not None:
            raise UsageError("--resume continues a run and --fork-from starts one; pass only one of them.")
        args = _resume_args(args, given)
    run = args.run
    if args.agent.backend == "triton":  # refused now, not after pretraining (a resume could not switch it)
        g = args.generator
        check_rollout_backend("--rollout-backend", "triton", run.device, emb_dim=g.emb_dim, hidden_dim=g.hidden_dim,
                              seq_len=g.seq_len)
    if run.threads:
        torch.set_num_threads(run.threads)
    # torchrun: one process per rank; nccl only for --device cuda (gloo keeps CPU runs on CPUs, even on a GPU machine)
    backend = "nccl" if torch.device(run.device).type == "cuda" else "gloo"
    parallel = Parallel.from_env(backend=backend, timeout_s=run.dist_timeout)
    try:
        out = check_output_dir(run.out, "--resume" if run.resume else "--out") if parallel.is_main \
            else Path(run.out)
        with RunLock(out) if parallel.is_main else contextlib.nullcontext():
            return _run(args, given, out, parallel)
    finally:
        parallel.close()


def _run(args: Args, given: dict[str, Any], out: Path, parallel: Parallel) -> int:
    run = args.run
    say = print if parallel.is_main else (lambda *a, **k: None)
    say(f"preset {run.preset}; output {out}" + (f"; {parallel.world_size} ranks" if parallel.enabled else ""),
        flush=True)
    if run.resume is None and (out / "checkpoint.pt").exists():
        raise UsageError(f"{out} already holds a run (checkpoint.pt); continue it with --resume {out} or pick "
                         "another --out.")
    trainer = build(args, parallel)
    if run.resume is not None:
        trainer.load_checkpoint(out)
        say(f"resumed from {out / 'checkpoint.pt'} at phase {trainer.phase}, unit {trainer.index}", flush=True)
        lrs = {RESUME_LR[k]: v for k, v in given.items() if k in RESUME_LR}
        if lrs:
            before = trainer.learning_rates()
            trainer.set_learning_rates(**lrs)
            say("learning rates changed (recorded in the checkpoint and summary.json): " + ", ".join(
                f"{k} {before.get(k)} -> {v}" for k, v in lrs.items()), flush=True)
    else:
        if run.fork_from is not None:
            trainer.load_checkpoint(run.fork_from, fork=True)
            say(f"forked from the pretraining of {run.fork_from}", flush=True)
        if parallel.is_main:
            saved_args = {k: v for k, v in CLI.flatten(args).items() if k not in RESUME_FREE}
            atomic_write(out / "args.json", lambda fh: fh.write(json.dumps(saved_args, indent=2) + "\n"),
                         mode="w")
    t0 = time.perf_counter()
    try:
        summary = trainer.run(stop_after_rounds=run.stop_after_rounds)
    except TrainingStopped as exc:
        hint = (f" Continue from the last good checkpoint with lower learning rates: --resume {out} --pg-lr "
                f"{trainer.learning_rates().get('pg', args.agent.lr) / 10:g}" if exc.checkpoint else "")
        if parallel.is_main:
            print(f"stopped: {exc}{hint}", file=sys.stderr)
        return 1
    finally:
        trainer.close()
    if not parallel.is_main:
        return 0
    if trainer.phase != "done":
        print(f"stopped after {trainer.index} adversarial rounds; checkpoint {out / 'checkpoint.pt'} "
              f"(continue with --resume {out})", flush=True)
        return 0
    plot_learning_curve(trainer.rows, out / "learning_curve.png",
                        title=f"SeqGAN vs MLE ({run.preset} preset, seed {run.seed})")
    print(f"done in {time.perf_counter() - t0:.1f} s (this invocation); total training time "
          f"{summary['timings_s']['total']:.1f} s wall, {summary['cpu_s']['total']:.1f} s process CPU", flush=True)
    print(f"NLL-oracle: MLE {summary['mle_nll_oracle']:.4f}  SeqGAN {summary['seqgan_nll_oracle']:.4f}   "
          f"NLL-test: MLE {summary['mle_nll_test']:.4f}  SeqGAN {summary['seqgan_nll_test']:.4f}", flush=True)
    return 0


def cli(argv: list[str] | None = None) -> int:
    """The command line: :func:`main` with one-line errors (exit code 2) for user mistakes."""
    return run_cli(main, argv)


if __name__ == "__main__":
    raise SystemExit(cli())
