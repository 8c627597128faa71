"""A small ABC reader that turns folk tunes into fixed-step pitch sequences, and the pitch MSE metric.

The paper (Nottingham tunes): "88 numbers represent the 88 piano keys ... with the pitch sampled every 0.4 s,
the MIDI files become sequences of numbers from 1 to 88 of length 32". ABC has no absolute tempo, so here the
melody is sampled on a musical grid: every ``step`` of a whole note (default 1/8, an eighth note), the sounding
pitch is recorded as its piano-key number (A0 = 1, middle C = 40, C8 = 88). During a rest the previous pitch is
held (leading rests are skipped), so every step has a pitch. Each tune gives its non-overlapping ``steps``-long
windows (default 32).

The reader handles what the music21 collections use: header fields (K: with modes and explicit accidentals,
L:, M:), inline fields ``[K:..]``, accidentals carried through the bar, octave marks, note lengths
(``3``, ``/``, ``3/2``, ``//``), broken rhythm (``>``, ``<``), tuplets ``(3`` / ``(p:q:r``, chords ``[CEG]``
(the highest note sounds), and skips grace notes ``{..}``, chord symbols and annotations ``".."``, decorations
(``!..!``, ``+..+``, ``~ . H..Y``), slurs, ties, repeats and comments. Repeats are not expanded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import torch

__all__ = [
    "Tune",
    "parse_abc",
    "key_accidentals",
    "tune_events",
    "sample_pitches",
    "pitch_windows",
    "abc_files",
    "music_sequences",
    "pitch_mse",
    "MIDI_A0",
]

MIDI_A0 = 21  # piano key 1
_LETTER_SEMITONE = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_SHARP_ORDER = "FCGDAEB"
_MAJOR_FIFTHS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F": -1}
_MODE_SHIFT = {"maj": 0, "ion": 0, "mix": -1, "dor": -2, "aeo": -3, "min": -3, "m": -3, "phr": -4, "lyd": 1,
               "loc": -5}


@dataclass
class Tune:
    """One ABC tune: its header fields (first value of each) and its body lines (with inline fields)."""

    header: dict[str, str] = field(default_factory=dict)
    body: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.header.get("T", "")


def parse_abc(text: str) -> list[Tune]:
    """Split an ABC file into tunes (each starts at ``X:``; the body starts after the first ``K:``).

    Field lines inside the body (``K:``, ``L:``, ``M:``) are kept in the body as inline fields ``[K:..]``.
    """
    tunes: list[Tune] = []
    cur: Tune | None = None
    in_body = False
    for raw in text.splitlines():
        line = raw.split("%", 1)[0].rstrip() if not raw.startswith("%%") else ""
        if not line.strip():
            continue
        m = re.match(r"^([A-Za-z]):(.*)$", line)
        if m:
            key, val = m.group(1), m.group(2).strip()
            if key == "X":
                cur = Tune(header={"X": val})
                tunes.append(cur)
                in_body = False
                continue
            if cur is None:
                continue
            if not in_body:
                cur.header.setdefault(key, val)
                if key == "K":
                    in_body = True
            elif key in "KLM":
                cur.body.append(f"[{key}:{val}]")
            continue
        if cur is not None and in_body:
            cur.body.append(line)
    return [t for t in tunes if t.body]


def key_accidentals(key: str) -> dict[str, int]:
    """Semitone alterations per letter for an ABC key (``"D"``, ``"Gm"``, ``"Ador"``, ``"F# min"``,
    ``"D exp ^f _b"``, ``"HP"``, ``"none"``)."""
    text = key.strip()
    acc: dict[str, int] = {}
    if not text or text.lower().startswith("none"):
        return acc
    if text.startswith(("HP", "Hp")):
        return {"F": 1, "C": 1}  # highland pipes: written with sharps on F and C (Hp) / none (HP); take Hp
    m = re.match(r"^([A-Ga-g])([#b]?)\s*([A-Za-z]*)(.*)$", text)
    if not m:
        return acc
    tonic, sign, mode_word, rest = m.group(1).upper(), m.group(2), m.group(3).lower(), m.group(4)
    mode = "maj"
    for name in _MODE_SHIFT:
        if mode_word.startswith(name) and (name != "m" or mode_word in ("m", "min", "minor")):
            mode = name
            break
    if mode_word.startswith("min"):
        mode = "min"
    fifths = _MAJOR_FIFTHS[tonic] + (7 if sign == "#" else -7 if sign == "b" else 0) + _MODE_SHIFT[mode]
    if fifths > 0:
        acc.update({ch: 1 for ch in _SHARP_ORDER[: min(fifths, 7)]})
    elif fifths < 0:
        acc.update({ch: -1 for ch in _SHARP_ORDER[::-1][: min(-fifths, 7)]})
    if mode_word == "exp":
        acc = {}
    for a, letter in re.findall(r"(\^\^|\^|__|_|=)([A-Ga-g])", mode_word + rest):
        acc[letter.upper()] = {"^": 1, "^^": 2, "_": -1, "__": -2, "=": 0}[a]
    return acc


def _parse_length(s: str, i: int) -> tuple[Fraction, int]:
    """Parse a note-length suffix at ``s[i:]``: ``3``, ``/``, ``//``, ``3/2``, ``/4``. Returns (factor, new i)."""
    m = re.match(r"(\d*)(/*)(\d*)", s[i:])
    assert m is not None
    num_s, slashes, den_s = m.groups()
    num = int(num_s) if num_s else 1
    if not slashes:
        return Fraction(num), i + len(num_s)
    if den_s:
        den = int(den_s) * 2 ** (len(slashes) - 1)
    else:
        den = 2 ** len(slashes)
    return Fraction(num, den), i + m.end()


def _meter_length(meter: str) -> Fraction:
    meter = meter.strip()
    if meter in ("C", "C|"):
        return Fraction(1)
    m = re.match(r"^(\d+)(?:\+\d+)*/(\d+)", meter)
    if not m:
        return Fraction(1)
    nums = [int(x) for x in re.findall(r"\d+", meter.split("/")[0])]
    return Fraction(sum(nums), int(m.group(2)))


def _default_unit(meter: str) -> Fraction:
    return Fraction(1, 16) if _meter_length(meter) < Fraction(3, 4) else Fraction(1, 8)


def tune_events(tune: Tune) -> list[tuple[int | None, Fraction]]:
    """The melody as (MIDI pitch or None for a rest, duration in whole notes) events."""
    meter = tune.header.get("M", "4/4")
    unit = _parse_unit(tune.header.get("L")) or _default_unit(meter)
    key = key_accidentals(tune.header.get("K", "C"))
    bar: dict[tuple[str, int], int] = {}
    events: list[tuple[int | None, Fraction]] = []
    tuplet_left, tuplet_ratio = 0, Fraction(1)
    broken_next = Fraction(1)
    text = " ".join(tune.body)
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in '"!+{':  # annotation / chord symbol, decorations, grace notes: skip to the closing mark
            close = "}" if ch == "{" else ch
            j = text.find(close, i + 1)
            i = n if j < 0 else j + 1
            continue
        if ch == "[" and i + 2 < n and text[i + 1].isalpha() and text[i + 2] == ":":  # inline field
            j = text.find("]", i)
            j = n if j < 0 else j
            fkey, fval = text[i + 1], text[i + 3 : j].strip()
            if fkey == "K":
                key = key_accidentals(fval)
            elif fkey == "L":
                unit = _parse_unit(fval) or unit
            elif fkey == "M":
                meter = fval
            i = j + 1
            continue
        if ch == "|" or ch == ":":
            bar = {}
            i += 1
            continue
        if ch == "(":
            m = re.match(r"\((\d)(?::(\d?))?(?::(\d?))?", text[i:])
            if m:
                p = int(m.group(1))
                q = int(m.group(2)) if m.group(2) else (3 if p in (2, 4, 8) else 2)
                r = int(m.group(3)) if m.group(3) else p
                tuplet_left, tuplet_ratio = r, Fraction(q, p)
                i += m.end()
                continue
            i += 1
            continue
        if ch in "<>":
            m = re.match(r"(<+|>+)", text[i:])
            assert m is not None
            k = len(m.group(1))
            short = Fraction(1, 2**k)
            if events:
                pitch, dur = events[-1]
                events[-1] = (pitch, dur * (2 - short) if ch == ">" else dur * short)
            broken_next = short if ch == ">" else 2 - short
            i += k
            continue
        is_chord = ch == "["
        if is_chord or ch in "^_=" or ch.upper() in _LETTER_SEMITONE or ch in "zxZX":
            pitches: list[int | None] = []
            first_len: Fraction | None = None
            j = i + 1 if is_chord else i
            while j < n:
                m = re.match(r"(\^\^|\^|__|_|=)?([A-Ga-gzxZX])([,']*)", text[j:])
                if not m:
                    break
                acc_s, letter, octs = m.groups()
                j += m.end()
                length, j = _parse_length(text, j)
                if first_len is None:
                    first_len = length
                if letter in "zxZX":
                    pitches.append(None)
                    if letter in "ZX":
                        first_len = _meter_length(meter) / unit * length
                else:
                    up = letter.upper()
                    octave = 5 if letter.islower() else 4
                    octave += octs.count("'") - octs.count(",")
                    slot = (up, octave)
                    if acc_s:
                        bar[slot] = {"^": 1, "^^": 2, "_": -1, "__": -2, "=": 0}[acc_s]
                    alter = bar.get(slot, key.get(up, 0))
                    pitches.append(12 * (octave + 1) + _LETTER_SEMITONE[up] + alter)
                if not is_chord:
                    break
                while j < n and text[j] in "-~. ":
                    j += 1
                if j < n and text[j] == "]":
                    j += 1
                    chord_len, j = _parse_length(text, j)
                    first_len = (first_len or Fraction(1)) * chord_len
                    break
            if not pitches:
                i += 1
                continue
            sounding = [p for p in pitches if p is not None]
            pitch = max(sounding) if sounding else None
            dur = unit * (first_len or Fraction(1)) * broken_next
            broken_next = Fraction(1)
            if tuplet_left > 0:
                dur *= tuplet_ratio
                tuplet_left -= 1
            events.append((pitch, dur))
            i = j
            continue
        i += 1
    return [(p, d) for p, d in events if d > 0]


def _parse_unit(value: str | None) -> Fraction | None:
    if not value:
        return None
    m = re.match(r"^\s*(\d+)\s*/\s*(\d+)", value)
    return Fraction(int(m.group(1)), int(m.group(2))) if m else None


def sample_pitches(events: Sequence[tuple[int | None, Fraction]], step: Fraction = Fraction(1, 8)) -> list[int]:
    """Piano-key numbers (1..88) sounding at times 0, step, 2*step, ... (rests hold the last pitch; leading
    rests are dropped; pitches outside the piano are clamped)."""
    out: list[int] = []
    t = Fraction(0)
    next_sample = Fraction(0)
    last: int | None = None
    started = False
    for pitch, dur in events:
        if pitch is None and not started:
            continue
        if not started:
            started = True
            t = next_sample = Fraction(0)
        if pitch is not None:
            last = min(88, max(1, pitch - MIDI_A0 + 1))
        end = t + dur
        while next_sample < end:
            out.append(last)  # type: ignore[arg-type]
            next_sample += step
        t = end
    return out


def pitch_windows(pitches: Sequence[int], steps: int = 32) -> list[list[int]]:
    """Non-overlapping ``steps``-long windows (the remainder is dropped)."""
    return [list(pitches[i : i + steps]) for i in range(0, len(pitches) - steps + 1, steps)]


def abc_files(corpus_dir: str | Path, collections: Iterable[str]) -> list[Path]:
    """The ``.abc`` files of the named collections under ``corpus_dir`` (music21's ``corpus`` folder)."""
    root = Path(corpus_dir)
    files: list[Path] = []
    for name in collections:
        folder = root / name
        if not folder.is_dir():
            raise FileNotFoundError(f"no collection {name!r} under {root}.")
        files.extend(sorted(folder.rglob("*.abc")))
    return files


def music_sequences(
    files: Iterable[str | Path], *, steps: int = 32, step: Fraction = Fraction(1, 8), max_windows: int | None = None,
) -> list[list[int]]:
    """Fixed-length pitch sequences from ABC files: tunes deduplicated by their body, then windows.

    Args:
        files: ABC files.
        steps: window length (paper: 32).
        step: sampling grid in whole notes (default an eighth note).
        max_windows: at most this many windows per tune (None: all).
    """
    seen: set[str] = set()
    out: list[list[int]] = []
    for f in files:
        for tune in parse_abc(Path(f).read_text(encoding="utf-8", errors="replace")):
            sig = "\n".join(tune.body)
            if sig in seen:
                continue
            seen.add(sig)
            wins = pitch_windows(sample_pitches(tune_events(tune), step), steps)
            out.extend(wins[:max_windows] if max_windows is not None else wins)
    return out


def pitch_mse(generated: Sequence[Sequence[int]], references: Sequence[Sequence[int]], *,
              batch_size: int = 1024) -> float:
    """Mean over generated sequences of the mean squared pitch difference (piano keys) to the *nearest* reference
    of the same length. (The paper reports an MSE without defining it; nearest-reference matching is what
    makes values of ~20 squared keys possible. Sequences of other lengths are an error.)"""
    if not generated or not references:
        raise ValueError("pitch_mse needs non-empty generated and reference sets.")
    g = torch.tensor([list(s) for s in generated], dtype=torch.float64)
    r = torch.tensor([list(s) for s in references], dtype=torch.float64)
    if g.shape[1] != r.shape[1]:
        raise ValueError(f"generated length {g.shape[1]} != reference length {r.shape[1]}.")
    best = []
    for i in range(0, g.shape[0], batch_size):
        d = torch.cdist(g[i : i + batch_size], r).pow(2) / g.shape[1]
        best.append(d.min(dim=1).values)
    return float(torch.cat(best).mean())
