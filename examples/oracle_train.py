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

Writes to ``--out DIR``: ``metrics.csv`` (phase, step, epoch, nll_oracle, nll_test, d_loss, d_acc, g_reward,
seconds), ``tb/`` (TensorBoard), ``summary.json`` (strict JSON: a non-finite figure is ``null`` and listed under
``nonfinite``), ``learning_curve.png``, ``checkpoint.pt`` (checksummed, written atomically) and ``args.json``.
A run holds ``DIR/.lock`` while it writes, so two runs cannot share a directory.

Errors in the command (a bad flag, a damaged file, an unwritable ``--out``) end with one ``error: ...`` line and
exit code 2 (``--debug`` shows the traceback). A run stopped by a NaN or a diverging weight exits with code 1 and
keeps its last good checkpoint; continue it with lower learning rates, e.g.
``--resume DIR --pg-lr 0.001`` (the change is recorded in the checkpoint and the summary).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch

from seqgan_env import streams
from seqgan_env.agents import AdversarialTrainer, ReinforceAgent, ReinforceConfig, ScheduleConfig, TrainingStopped
from seqgan_env.agents.trainer import plot_learning_curve
from seqgan_env.cli import ArgumentParser, UsageError, run_cli
from seqgan_env.config import DataConfig, DiscriminatorConfig, GeneratorConfig, MLEConfig
from seqgan_env.data import make_oracle_data
from seqgan_env.discriminator import Discriminator
from seqgan_env.files import RunLock, atomic_write, check_output_dir
from seqgan_env.generator import Generator
from seqgan_env.parallel import Parallel
from seqgan_env.runs import resolve_oracle


@dataclass
class Args:
    # ---- run
    preset: str = "paper"
    """paper | quick | tiny: the schedule the other knobs start from"""
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
    # ---- sizes (a reference oracle file fixes vocab_size)
    vocab_size: int = 5000
    seq_len: int = 20
    num_train: int = 10_000
    num_test: int = 10_000
    d_filter_scale: float = 1.0
    """multiplies the paper's filter counts per width (1.0 = the paper's 1,720 filters)"""
    # ---- schedule (ScheduleConfig)
    mle_epochs: int = 120
    d_pretrain_rounds: int = 50
    d_pretrain_epochs: int = 3
    adv_rounds: int = 200
    g_steps: int = 1
    d_steps: int = 5
    d_epochs: int = 3
    eval_every: int = 5
    num_negatives: int | None = None
    """negatives (and positives) per D training call; None = the training-set size"""
    eval_samples: int = 9_984
    d_eval_samples: int = 1_024
    checkpoint_every: int = 5
    baseline_epochs: int | None = None
    """MLE-only baseline epochs; None = adv_rounds (one MLE epoch per adversarial round)"""
    # ---- REINFORCE (ReinforceConfig)
    num_rollouts: int = 16
    pg_batch_size: int = 64
    pg_lr: float = 0.01
    baseline: str = "none"
    rollout_policy: str = "current"
    loss_reduction: str = "sum"
    reward_source: str = "discriminator"
    """discriminator (paper) | constant: the ablation that replaces D's score by 0.5 (what does D contribute?)"""
    rollout_backend: str = "auto"
    # ---- MLE and D
    mle_batch_size: int = 64
    mle_lr: float = 0.01
    d_lr: float = 1e-4
    """the discriminator's Adam learning rate (paper: 1e-4)"""


#: Preset overrides of the ``Args`` defaults (which are the paper's).
PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},
    # quick: the paper's networks, optimisers, data (10,000 train / 10,000 test, V=5000, T=20) and PG step
    # (batch 64, Adam 0.01, sum loss, no baseline, current rollout policy) are unchanged. The schedule shrinks:
    #   MLE 120 -> 40 epochs;
    #   D pretraining 50 rounds x 3 epochs on 10k fresh negatives + 10k real -> 10 rounds x 1 epoch on 1,024 fresh
    #     negatives + 1,024 random real sequences (32 D steps a round, 147x fewer D steps in all);
    #   adversarial 200 -> 40 rounds, rollouts N 16 -> 4, D retraining per round 5 x 3 epochs on 10k + 10k ->
    #     1 x 1 epoch on 1,024 + 1,024 (32 D steps a round instead of 4,695);
    #   evaluation every 10 (paper: 5) on 9,984 samples (unchanged); MLE-only baseline 40 epochs (one per round).
    "quick": dict(
        mle_epochs=40, d_pretrain_rounds=10, d_pretrain_epochs=1, adv_rounds=40, g_steps=1, d_steps=1, d_epochs=1,
        num_negatives=1024, num_rollouts=4, eval_every=10, checkpoint_every=5,
    ),
    # tiny: a V=50, T=8 random oracle, 512 train / 256 test sequences, D with 5% of the paper's filters,
    # 3 MLE epochs, 2 D pretraining rounds, 4 adversarial rounds with N=2 rollouts, PG batch 16.
    "tiny": dict(
        vocab_size=50, seq_len=8, num_train=512, num_test=256, d_filter_scale=0.05, mle_epochs=3,
        d_pretrain_rounds=2, d_pretrain_epochs=1, adv_rounds=4, g_steps=1, d_steps=1, d_epochs=1,
        num_negatives=256, eval_every=2, eval_samples=256, d_eval_samples=128, checkpoint_every=2,
        num_rollouts=2, pg_batch_size=16, rollout_backend="torch",
    ),
}

# Flags that may differ on --resume (they do not change the result).
RESUME_FREE = {"resume", "out", "device", "stop_after_rounds", "progress", "threads", "dist_timeout", "fork_from"}
# Learning rates may be changed on --resume (e.g. after a divergence); the trainer records the change.
RESUME_LR = {"pg_lr": "pg", "mle_lr": "mle", "d_lr": "d"}


def _flag_type(f: dataclasses.Field) -> Any:
    t = str(f.type)
    if "bool" in t:
        return lambda s: {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}[s.lower()]
    if "int" in t:
        return int
    if "float" in t:
        return float
    return str


def _field_docs() -> dict[str, str]:
    """The string literal under each ``Args`` field (its attribute docstring), read from this file's source."""
    import ast

    tree = ast.parse(Path(__file__).read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Args")
    docs: dict[str, str] = {}
    for prev, node in zip(cls.body, cls.body[1:]):
        if (isinstance(prev, ast.AnnAssign) and isinstance(prev.target, ast.Name) and isinstance(node, ast.Expr)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            docs[prev.target.id] = " ".join(node.value.value.split())
    return docs


def build_parser(defaults: bool = True) -> argparse.ArgumentParser:
    """An argparse parser with one ``--kebab-case`` flag per ``Args`` field (help text from the docstrings).

    With ``defaults=False`` every default is ``argparse.SUPPRESS`` (to find which flags were given).
    """
    p = ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    choices = {"preset": sorted(PRESETS), "baseline": ["none", "mean"], "rollout_policy": ["current", "delayed"],
               "loss_reduction": ["sum", "mean"], "reward_source": ["discriminator", "constant"]}
    docs = _field_docs()
    for f in fields(Args):
        kw: dict[str, Any] = {"type": _flag_type(f), "choices": choices.get(f.name)}
        kw["default"] = argparse.SUPPRESS if not defaults else None
        if "None" in str(f.type):
            kw["type"] = _none_or(kw["type"])
        help_text = docs.get(f.name, f"Args.{f.name} (default: the preset's value)")
        p.add_argument("--" + f.name.replace("_", "-"), dest=f.name, help=help_text, **kw)
    return p


def _none_or(conv: Any) -> Any:
    def parse(s: str) -> Any:
        return None if s.lower() == "none" else conv(s)

    return parse


def parse_args(argv: list[str] | None = None) -> tuple[Args, dict[str, Any]]:
    """Args = Args defaults <- preset <- flags given. Returns (args, the flags given explicitly)."""
    given = vars(build_parser(defaults=False).parse_args(argv))  # one-line UsageError on bad input
    given.pop("debug", None)
    preset = given.get("preset", "paper")
    values = {f.name: f.default for f in fields(Args)} | PRESETS[preset] | given | {"preset": preset}
    return Args(**values), given


def oracle_and_source(args: Args) -> tuple[Generator, str]:
    """The oracle (``--oracle-params``, else ``$SEQGAN_ORACLE_PARAMS`` except for tiny, else a seeded random one)."""
    try:
        return resolve_oracle(oracle_params=args.oracle_params, preset=args.preset, seed=args.seed,
                              vocab_size=args.vocab_size, seq_len=args.seq_len)
    except ValueError as exc:
        if "vocab_size" in str(exc):
            raise UsageError(str(exc)) from None
        raise


def configs(args: Args) -> tuple[ReinforceConfig, ScheduleConfig, MLEConfig]:
    """The typed configs from ``args`` (their validation runs here, before anything is written)."""
    agent = ReinforceConfig(
        lr=args.pg_lr, batch_size=args.pg_batch_size, num_rollouts=args.num_rollouts,
        baseline=args.baseline, rollout_policy=args.rollout_policy, loss_reduction=args.loss_reduction,  # type: ignore[arg-type]
        backend=args.rollout_backend, reward_source=args.reward_source,  # type: ignore[arg-type]
    )
    schedule = ScheduleConfig(
        mle_epochs=args.mle_epochs, d_pretrain_rounds=args.d_pretrain_rounds, d_pretrain_epochs=args.d_pretrain_epochs,
        adv_rounds=args.adv_rounds, g_steps=args.g_steps, d_steps=args.d_steps, d_epochs=args.d_epochs,
        eval_every=args.eval_every, num_negatives=args.num_negatives, eval_samples=args.eval_samples,
        d_eval_samples=args.d_eval_samples, checkpoint_every=args.checkpoint_every,
        baseline_epochs=args.baseline_epochs,
    )
    mle = MLEConfig(epochs=args.mle_epochs, batch_size=args.mle_batch_size, lr=args.mle_lr)
    DiscriminatorConfig(lr=args.d_lr)  # validates --d-lr
    return agent, schedule, mle


def build(args: Args, parallel: Parallel | None = None) -> AdversarialTrainer:
    """Oracle, data, G, D, the REINFORCE agent and the trainer, all from ``args`` (split over ``parallel``'s
    ranks under torchrun)."""
    parallel = parallel or Parallel()
    agent_cfg, schedule, mle = configs(args)
    dev = torch.device(args.device)
    if parallel.enabled and dev.type == "cuda":
        dev = parallel.device  # one GPU per rank
    oracle, source = oracle_and_source(args)
    if parallel.is_main:
        print(f"oracle: {source}", flush=True)
    oracle = oracle.to(dev)
    data = make_oracle_data(oracle, DataConfig(num_train=args.num_train, num_test=args.num_test, seed=args.seed),
                            parallel=parallel)
    gcfg = GeneratorConfig(vocab_size=oracle.vocab_size, seq_len=args.seq_len)
    generator = Generator(gcfg, seed=streams.key(args.seed, "generator_init")).to(dev)
    dcfg = DiscriminatorConfig.for_length(args.seq_len, vocab_size=oracle.vocab_size)
    dcfg = dataclasses.replace(dcfg.with_filter_scale(args.d_filter_scale), lr=args.d_lr)
    discriminator = Discriminator(dcfg, seed=streams.key(args.seed, "discriminator_init")).to(dev)
    agent = ReinforceAgent(generator, agent_cfg)
    result_args = {k: v for k, v in dataclasses.asdict(args).items() if k not in RESUME_FREE}
    return AdversarialTrainer(
        agent, discriminator, oracle, data, schedule=schedule, mle=mle, seed=args.seed, out_dir=args.out,
        progress=args.progress, extra_config={"args": result_args, "oracle": source}, parallel=parallel,
    )


def _resume_args(args: Args, given: dict[str, Any]) -> Args:
    """The arguments of the run in ``--resume DIR`` with the result-free flags (and learning rates) given now."""
    run_dir = Path(args.resume)  # type: ignore[arg-type]
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
    defaults = {f.name: f.default for f in fields(Args)}
    kept = {k: v for k, v in saved.items() if k not in RESUME_FREE}
    now = {k: v for k, v in given.items() if k in RESUME_FREE}
    return Args(**(defaults | kept | now | {"out": str(run_dir), "resume": str(run_dir)}))


def main(argv: list[str] | None = None) -> int:
    args, given = parse_args(argv)
    if args.resume is not None:
        if args.fork_from is not None:
            raise UsageError("--resume continues a run and --fork-from starts one; pass only one of them.")
        args = _resume_args(args, given)
    configs(args)  # bad values are refused before any directory is created
    if args.threads:
        torch.set_num_threads(args.threads)
    parallel = Parallel.from_env(timeout_s=args.dist_timeout)  # torchrun: one process per rank
    try:
        out = check_output_dir(args.out, "--resume" if args.resume else "--out") if parallel.is_main \
            else Path(args.out)
        with RunLock(out) if parallel.is_main else contextlib.nullcontext():
            return _run(args, given, out, parallel)
    finally:
        parallel.close()


def _run(args: Args, given: dict[str, Any], out: Path, parallel: Parallel) -> int:
    say = print if parallel.is_main else (lambda *a, **k: None)
    say(f"preset {args.preset}; output {out}" + (f"; {parallel.world_size} ranks" if parallel.enabled else ""),
        flush=True)
    if args.resume is None and (out / "checkpoint.pt").exists():
        raise UsageError(f"{out} already holds a run (checkpoint.pt); continue it with --resume {out} or pick "
                         "another --out.")
    trainer = build(args, parallel)
    if args.resume is not None:
        trainer.load_checkpoint(out)
        say(f"resumed from {out / 'checkpoint.pt'} at phase {trainer.phase}, unit {trainer.index}", flush=True)
        lrs = {RESUME_LR[k]: v for k, v in given.items() if k in RESUME_LR}
        if lrs:
            before = trainer.learning_rates()
            trainer.set_learning_rates(**lrs)
            say("learning rates changed (recorded in the checkpoint and summary.json): " + ", ".join(
                f"{k} {before.get(k)} -> {v}" for k, v in lrs.items()), flush=True)
    else:
        if args.fork_from is not None:
            trainer.load_checkpoint(args.fork_from, fork=True)
            say(f"forked from the pretraining of {args.fork_from}", flush=True)
        if parallel.is_main:
            saved_args = {k: v for k, v in dataclasses.asdict(args).items() if k not in RESUME_FREE}
            atomic_write(out / "args.json", lambda fh: fh.write(json.dumps(saved_args, indent=2) + "\n"),
                         mode="w")
    t0 = time.perf_counter()
    try:
        summary = trainer.run(stop_after_rounds=args.stop_after_rounds)
    except TrainingStopped as exc:
        hint = (f" Continue from the last good checkpoint with lower learning rates: --resume {out} --pg-lr "
                f"{trainer.learning_rates().get('pg', args.pg_lr) / 10:g}" if exc.checkpoint else "")
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
                        title=f"SeqGAN vs MLE ({args.preset} preset, seed {args.seed})")
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
