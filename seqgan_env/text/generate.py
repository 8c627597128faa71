"""Decode a trained text checkpoint to text.

    python -m seqgan_env.text.generate --checkpoint runs/poems/seqgan.pt --num 10 [--seed 0] [--out samples.txt]
    seqgan-text-generate --checkpoint runs/poems/mle.pt --temperature 0.8 --top-p 0.95

Prints one sampled sequence per line (or writes them to ``--out``). The checkpoint is the format of
:func:`seqgan_env.text.checkpoint.save_text_checkpoint` (generator weights and config plus the vocabulary).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

from ..cli import ArgumentParser, UsageError, run_cli
from .checkpoint import load_text_checkpoint, sample_text

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (2 with one ``error: ...`` line for a bad command)."""
    return run_cli(_main, argv)


def _main(argv: list[str]) -> int:
    parser = ArgumentParser(prog="seqgan-text-generate", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True, type=Path, help="a text checkpoint (.pt)")
    parser.add_argument("--num", type=int, default=10, help="how many sequences to sample")
    parser.add_argument("--seed", type=int, default=None, help="seed of the sampling (default: random)")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="sample softmax(logits / T): below 1 is more conservative, above 1 more diverse")
    parser.add_argument("--top-p", type=float, default=1.0,
                        help="nucleus sampling: keep the most likely tokens up to this mass (1.0: all)")
    parser.add_argument("--out", type=Path, default=None, help="write the lines here instead of stdout")
    args = parser.parse_args(argv)
    if args.num < 1:
        raise UsageError(f"--num {args.num}: pass a number of sequences >= 1.")
    if not (math.isfinite(args.temperature) and args.temperature > 0):
        raise UsageError(f"--temperature {args.temperature}: pass a number > 0 (1.0 samples the model as trained).")
    if not (math.isfinite(args.top_p) and 0 < args.top_p <= 1):
        raise UsageError(f"--top-p {args.top_p}: pass a number in (0, 1] (1.0 turns truncation off).")
    if not args.checkpoint.is_file():
        raise UsageError(f"no checkpoint at {args.checkpoint}; pass the mle.pt or seqgan.pt of a text_train.py run.")
    ckpt = load_text_checkpoint(args.checkpoint)
    lines = sample_text(ckpt.generator, ckpt.vocab, args.num, seed=args.seed, temperature=args.temperature,
                        top_p=args.top_p)
    text = "\n".join(lines) + "\n"
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
