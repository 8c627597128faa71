"""Tokenizers: by word (a small regex, no NLTK data needed) or by character.

``tokenize(line)`` splits words and punctuation: ``"We'll win, again."`` -> ``["We'll", "win", ",", "again", "."]``.
``tokenize(line, char=True)`` gives the characters, spaces included (a space is a token), with the line stripped.
:func:`detokenize` is the inverse used when decoding: characters are joined with nothing, words with a space and
no space before closing punctuation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["tokenize", "detokenize", "WORD_PATTERN"]

#: a word (letters/digits, with inner apostrophes: "don't", "America's") or any other single non-space character
WORD_PATTERN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")
_NO_SPACE_BEFORE = re.compile(r" ([,.;:!?%)\]}'’”])")
_NO_SPACE_AFTER = re.compile(r"([(\[{$“]) ")


def tokenize(line: str, *, char: bool = False, lower: bool = False) -> list[str]:
    """Split one line into tokens.

    Args:
        line: the text of one sequence.
        char: split into characters (spaces inside the line are kept as ``" "`` tokens; runs of whitespace
            become one space) instead of words.
        lower: lowercase first.

    Returns:
        The tokens; an empty list for a blank line.
    """
    text = " ".join(line.split())
    if lower:
        text = text.lower()
    if char:
        return list(text)
    return WORD_PATTERN.findall(text)


def detokenize(tokens: Sequence[str], *, char: bool = False) -> str:
    """Join tokens back into text (the inverse of :func:`tokenize` up to spacing around punctuation)."""
    if char:
        return "".join(tokens)
    text = " ".join(tokens)
    text = _NO_SPACE_BEFORE.sub(r"\1", text)
    return _NO_SPACE_AFTER.sub(r"\1", text)
