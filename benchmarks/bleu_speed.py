"""BLEU-2..4 of 1,000 hypotheses against 10,000 references: seqgan_env.text.bleu vs a per-sentence NLTK loop.

Usage: python benchmarks/bleu_speed.py [--hyps 1000] [--refs 10000] [--nltk-subset 20] [--corpus FILE]
                                       [--json benchmarks/results/bleu_speed.json]

The NLTK loop (``sentence_bleu(refs, h, (1/n,)*n, smoothing_function=SmoothingFunction().method1)`` per
hypothesis, the Texygen recipe) is timed on the first ``--nltk-subset`` hypotheses only and extrapolated
linearly to all of them (its cost is the same for every hypothesis: it recounts all references); the JSON says
so. The fast path is timed in full, table building included, and its scores on the subset are checked against
NLTK's. Data: ``--corpus FILE`` (one sentence per line; the first hyps+refs lines are used) or, by default,
seeded synthetic sentences (Zipf-distributed words from a 5,000-word vocabulary, 10-30 words).
"""

from __future__ import annotations

import json
import math
import platform
import random
import time
from pathlib import Path

import torch

from seqgan_env.cli import ArgumentParser, run_cli


def synthetic(n: int, seed: int, vocab: int = 5000) -> list[list[str]]:
    """``n`` sentences of 10-30 Zipf(1)-distributed words."""
    rng = random.Random(seed)
    weights = [1.0 / (k + 1) for k in range(vocab)]
    words = [f"w{k}" for k in range(vocab)]
    return [rng.choices(words, weights, k=rng.randint(10, 30)) for _ in range(n)]


def main(argv: list[str] | None = None) -> None:
    ap = ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hyps", type=int, default=1000)
    ap.add_argument("--refs", type=int, default=10_000)
    ap.add_argument("--nltk-subset", type=int, default=20)
    ap.add_argument("--orders", type=int, nargs="+", default=[2, 3, 4])
    ap.add_argument("--corpus", type=Path, default=None)
    ap.add_argument("--label", default="2-core CPU dev box", help="a name for the machine, stored in the JSON")
    ap.add_argument("--json", type=Path, default=Path("benchmarks/results/bleu_speed.json"))
    args = ap.parse_args(argv)

    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    from seqgan_env.text.bleu import BleuReference
    from seqgan_env.text.tokenize import tokenize

    if args.corpus is not None:
        lines = [tokenize(s) for s in args.corpus.read_text(encoding="utf-8").splitlines() if s.strip()]
        if len(lines) < args.hyps + args.refs:
            raise SystemExit(f"{args.corpus} has {len(lines)} lines; need {args.hyps + args.refs}.")
        hyps, refs = lines[: args.hyps], lines[args.hyps : args.hyps + args.refs]
        data = str(args.corpus)
    else:
        hyps, refs = synthetic(args.hyps, seed=1), synthetic(args.refs, seed=2)
        data = "synthetic Zipf(1) words, vocabulary 5,000, 10-30 words per sentence"

    t0 = time.perf_counter()
    table = BleuReference(refs, max(args.orders))
    t_build = time.perf_counter() - t0
    fast: dict[int, float] = {}
    for n in args.orders:
        fast[n] = table.bleu(hyps, n)
    t_fast = time.perf_counter() - t0

    smooth = SmoothingFunction().method1
    sub = hyps[: args.nltk_subset]
    t0 = time.perf_counter()
    nltk_sub = {n: [sentence_bleu(refs, h, (1 / n,) * n, smoothing_function=smooth) for h in sub] for n in args.orders}
    t_nltk_sub = time.perf_counter() - t0
    t_nltk = t_nltk_sub * len(hyps) / len(sub)
    max_diff = max(
        abs(table.sentence_bleu(h, n) - s) for n in args.orders for h, s in zip(sub, nltk_sub[n])
    )

    result = {
        "benchmark": "bleu_speed",
        "machine": args.label,
        "platform": platform.platform(),
        "cpu_threads_torch": torch.get_num_threads(),
        "data": data,
        "hypotheses": len(hyps),
        "references": len(refs),
        "orders": args.orders,
        "fast_seconds_total": round(t_fast, 3),
        "fast_seconds_table_build": round(t_build, 3),
        "nltk_seconds_measured": round(t_nltk_sub, 3),
        "nltk_hypotheses_measured": len(sub),
        "nltk_seconds_extrapolated_to_all": round(t_nltk, 1),
        "nltk_note": f"NLTK timed on {len(sub)} of {len(hyps)} hypotheses and extrapolated linearly",
        "speedup": round(t_nltk / t_fast, 1),
        "max_abs_diff_vs_nltk_on_subset": max_diff,
        "bleu": {str(n): fast[n] for n in args.orders},
    }
    assert math.isfinite(result["speedup"])
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
