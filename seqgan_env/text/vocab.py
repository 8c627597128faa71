"""A token vocabulary with reserved ids, saved and loaded as JSON.

Reserved ids come first, in this order:

* ``<pad>`` = 0: fills a sequence after its end (never fed to the model as a start, never a real token);
* ``<start>`` = 1: the generator's start token x_1 (``GeneratorConfig(start_token=vocab.start_id)``);
* ``<unk>`` (optional): stands for tokens outside the vocabulary (present when the vocabulary was cut by
  ``max_size``/``min_freq``, or when asked for);
* ``<end>`` (optional): marks the end of a sequence shorter than the fixed length (needed only when lengths vary).

Ordinary tokens follow, most frequent first (ties in string order), so building is deterministic.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Vocabulary", "PAD", "START", "UNK", "END", "VOCAB_FORMAT"]

PAD, START, UNK, END = "<pad>", "<start>", "<unk>", "<end>"
VOCAB_FORMAT = "seqgan_env.text.Vocabulary/1"


@dataclass
class Vocabulary:
    """A bijection between tokens and ids ``0..len-1`` with reserved ids for pad, start and optionally unk/end.

    Build one with :meth:`build`; do not list the special tokens yourself.

    Attributes:
        tokens: the id -> token table (specials first).
        has_unk: whether ``<unk>`` is in the table.
        has_end: whether ``<end>`` is in the table.
        char: whether the sequences were tokenized by character (decides how :meth:`decode_text` joins tokens).
        lower: whether the text was lowercased before tokenizing.
    """

    tokens: list[str]
    has_unk: bool = False
    has_end: bool = False
    char: bool = False
    lower: bool = False
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        expected = self.special_tokens(self.has_unk, self.has_end)
        if list(self.tokens[: len(expected)]) != expected:
            raise ValueError(f"a vocabulary must start with the special tokens {expected}, got {self.tokens[:4]}.")
        self._index = {tok: i for i, tok in enumerate(self.tokens)}
        if len(self._index) != len(self.tokens):
            dup = [t for t, c in Counter(self.tokens).items() if c > 1]
            raise ValueError(f"duplicate tokens in the vocabulary: {dup[:5]}.")

    # ------------------------------------------------------------------ construction
    @staticmethod
    def special_tokens(unk: bool, end: bool) -> list[str]:
        """The reserved tokens for the given options, in id order."""
        return [PAD, START] + ([UNK] if unk else []) + ([END] if end else [])

    @classmethod
    def build(
        cls,
        sequences: Iterable[Sequence[str]],
        *,
        max_size: int | None = None,
        min_freq: int = 1,
        unk: bool | None = None,
        end: bool = False,
        char: bool = False,
        lower: bool = False,
    ) -> Vocabulary:
        """Count the tokens of ``sequences`` and build the table.

        Args:
            sequences: tokenized sequences.
            max_size: the most ids in all, specials included (``None``: no limit).
            min_freq: drop tokens seen fewer times.
            unk: include ``<unk>``; ``None`` (default) includes it exactly when a token was dropped.
            end: include ``<end>`` (needed when sequences are shorter than the fixed length).
            char, lower: recorded for decoding (see the attributes).
        """
        counts: Counter[str] = Counter()
        for seq in sequences:
            counts.update(seq)
        reserved = set(cls.special_tokens(True, True))
        clash = reserved.intersection(counts)
        if clash:
            raise ValueError(f"the data contains reserved tokens {sorted(clash)}; remove or rename them.")
        ranked = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
        dropped = len(ranked) < len(counts)
        if max_size is not None:
            # <unk> takes a slot only if it is asked for, or (unk=None) if some token must be dropped anyway
            with_unk = bool(unk) or (unk is None and (dropped or len(ranked) > max_size - len(
                cls.special_tokens(False, end))))
            n_special = len(cls.special_tokens(with_unk, end))
            room = max_size - n_special
            if room < 1:
                raise ValueError(f"max_size={max_size} leaves no room for tokens after {n_special} specials.")
            dropped = dropped or len(ranked) > room
            ranked = ranked[:room]
        has_unk = dropped if unk is None else bool(unk)
        if dropped and not has_unk:
            raise ValueError("tokens were dropped by max_size/min_freq but unk=False; allow <unk> or keep them.")
        return cls(cls.special_tokens(has_unk, end) + ranked, has_unk=has_unk, has_end=end, char=char, lower=lower)

    # ------------------------------------------------------------------ lookups
    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._index

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def start_id(self) -> int:
        return 1

    @property
    def unk_id(self) -> int | None:
        return 2 if self.has_unk else None

    @property
    def end_id(self) -> int | None:
        return self._index[END] if self.has_end else None

    @property
    def num_special(self) -> int:
        return 2 + int(self.has_unk) + int(self.has_end)

    def token_to_id(self, token: str) -> int:
        """The id of ``token``; ``<unk>``'s id when it is unknown, or ``KeyError`` without ``<unk>``."""
        idx = self._index.get(token)
        if idx is not None:
            return idx
        if self.has_unk:
            return 2
        raise KeyError(f"token {token!r} is not in the vocabulary and it has no <unk>; rebuild it with unk=True.")

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Token strings -> ids (no start, end or padding added)."""
        return [self.token_to_id(t) for t in tokens]

    def decode(self, ids: Iterable[int], *, keep_special: bool = False) -> list[str]:
        """Ids -> token strings. Stops at the first ``<end>`` or ``<pad>`` and drops ``<start>`` unless
        ``keep_special`` (``<unk>`` is kept either way)."""
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.tokens):
                raise ValueError(f"id {i} is outside the vocabulary of {len(self.tokens)} tokens.")
            tok = self.tokens[i]
            if not keep_special:
                if tok in (END, PAD):
                    break
                if tok == START:
                    continue
            out.append(tok)
        return out

    def decode_text(self, ids: Iterable[int]) -> str:
        """Ids -> a line of text (see :func:`seqgan_env.text.tokenize.detokenize`)."""
        from .tokenize import detokenize

        return detokenize(self.decode(ids), char=self.char)

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what :meth:`save` writes and checkpoints embed)."""
        return {
            "format": VOCAB_FORMAT,
            "tokens": list(self.tokens),
            "has_unk": self.has_unk,
            "has_end": self.has_end,
            "char": self.char,
            "lower": self.lower,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocabulary:
        """Inverse of :meth:`to_dict`."""
        if data.get("format") != VOCAB_FORMAT:
            raise ValueError(f"not a vocabulary dict (format {data.get('format')!r}, expected {VOCAB_FORMAT!r}).")
        return cls(
            list(data["tokens"]),
            has_unk=bool(data["has_unk"]),
            has_end=bool(data["has_end"]),
            char=bool(data.get("char", False)),
            lower=bool(data.get("lower", False)),
        )

    def save(self, path: str | Path) -> None:
        """Write the vocabulary as UTF-8 JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        """Read a vocabulary written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def add_to_state(self, state: dict[str, Any], key: str = "vocabulary") -> dict[str, Any]:
        """Store the vocabulary in a checkpoint dict under ``key`` (returns ``state`` for chaining)."""
        state[key] = self.to_dict()
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any], key: str = "vocabulary") -> Vocabulary:
        """The vocabulary stored by :meth:`add_to_state`."""
        if key not in state:
            raise KeyError(f"the checkpoint has no {key!r} entry; it was not saved with a vocabulary.")
        return cls.from_dict(state[key])
