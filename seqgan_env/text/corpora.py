"""Text corpora as fixed-length id tensors with a seeded train/test split.

Any text file with one sequence per line, or a folder of such files, becomes a :class:`TextCorpus`:

1. lines are read (blank lines skipped) and tokenized by word or, with ``char=True``, by character;
2. a seeded permutation splits them into train and test (``test_size``: a fraction or a count);
3. a :class:`~seqgan_env.text.vocab.Vocabulary` is built (by default from all lines, as the text-GAN
   benchmarks do, so the test set has no unknown tokens; ``vocab_from="train"`` builds it from train only);
4. each sequence becomes exactly ``seq_len`` ids.

How ``<end>`` and ``<pad>`` are used (the generator has no notion of variable length; the model simply learns
to emit ``<end>`` and then ``<pad>``):

* a sequence of L < seq_len tokens is ``tokens + [<end>] + [<pad>] * (seq_len - L - 1)``;
* a sequence of exactly seq_len tokens gets no ``<end>``;
* a longer one is cut to seq_len tokens (``too_long="truncate"``, the default) or left out (``"drop"``);
* when every sequence has exactly ``seq_len`` tokens (poems, music) no ``<end>`` is reserved at all
  (``end=None`` decides this automatically).

Decoding (:meth:`Vocabulary.decode`) stops at the first ``<end>`` or ``<pad>``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor

from ..data import iterate_batches
from .tokenize import tokenize
from .vocab import Vocabulary

__all__ = ["read_lines", "encode_fixed", "split_indices", "TextCorpus", "build_corpus", "load_corpus"]

TEXT_SUFFIXES = (".txt", ".text", ".tok", "")


def read_lines(path: str | Path) -> list[str]:
    """The non-blank lines (stripped) of a text file, or of every file in a folder (recursively, in path order,
    files ending in .txt/.text/.tok or with no suffix; hidden files skipped)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(
            f for f in p.rglob("*")
            if f.is_file() and f.suffix.lower() in TEXT_SUFFIXES and not f.name.startswith(".")
        )
        if not files:
            raise FileNotFoundError(f"no text files (*.txt, *.text, *.tok) under {p}.")
    elif p.is_file():
        files = [p]
    else:
        raise FileNotFoundError(f"corpus path {p} does not exist; pass a text file (one sequence per line) or folder.")
    lines: list[str] = []
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{f} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); convert it, e.g. "
                f"iconv -f latin1 -t utf-8 {f.name} > {f.stem}.utf8.txt"
            ) from None
        lines.extend(s for s in (raw.strip() for raw in text.splitlines()) if s)
    if not lines:
        raise ValueError(f"the corpus {p} has no non-blank lines; pass a text file with one sequence per line.")
    return lines


def encode_fixed(
    sequences: Sequence[Sequence[str]], vocab: Vocabulary, seq_len: int, *,
    too_long: Literal["truncate", "drop"] = "truncate",
) -> tuple[Tensor, list[int]]:
    """Encode token sequences as a (N, seq_len) long tensor with ``<end>``/``<pad>`` as described above.

    Returns the tensor and the indices (into ``sequences``) of the rows kept.
    """
    if seq_len < 1:
        raise ValueError(f"seq_len={seq_len} must be positive.")
    rows: list[list[int]] = []
    kept: list[int] = []
    for i, seq in enumerate(sequences):
        ids = vocab.encode(seq)
        if len(ids) > seq_len:
            if too_long == "drop":
                continue
            if too_long != "truncate":
                raise ValueError(f"too_long={too_long!r}; use 'truncate' or 'drop'.")
            ids = ids[:seq_len]
        elif len(ids) < seq_len:
            if vocab.end_id is None:
                raise ValueError(
                    f"sequence {i} has {len(ids)} tokens < seq_len={seq_len} but the vocabulary has no <end>; "
                    "build it with end=True."
                )
            ids = ids + [vocab.end_id] + [vocab.pad_id] * (seq_len - len(ids) - 1)
        rows.append(ids)
        kept.append(i)
    data = torch.tensor(rows, dtype=torch.long) if rows else torch.empty(0, seq_len, dtype=torch.long)
    return data, kept


def split_indices(n: int, test_size: float | int, seed: int) -> tuple[list[int], list[int]]:
    """A seeded random split of ``range(n)``: (train, test) index lists, each in increasing order.

    ``test_size`` in (0, 1) is a fraction (rounded, at least 1 when n >= 2), an int >= 1 a count.
    """
    if isinstance(test_size, float) and not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size={test_size} as a fraction must be in (0, 1).")
    n_test = max(1, round(n * test_size)) if isinstance(test_size, float) else int(test_size)
    if not 1 <= n_test < n:
        raise ValueError(f"cannot hold out {n_test} of {n} sequences; use a smaller test_size or more data.")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    return sorted(perm[n_test:]), sorted(perm[:n_test])


@dataclass
class TextCorpus:
    """A tokenized corpus: ``train`` (N_train, T) and ``test`` (N_test, T) long id tensors and the vocabulary.

    Attributes:
        vocab: the vocabulary (its ``start_id`` is the generator's start token).
        train, test: fixed-length id tensors.
        seq_len: T.
        char: tokenized by character.
    """

    vocab: Vocabulary
    train: Tensor
    test: Tensor
    seq_len: int
    char: bool = False

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def batches(
        self, split: Literal["train", "test"] = "train", batch_size: int = 64, *, shuffle: bool = True,
        generator: torch.Generator | None = None, drop_last: bool = False,
    ) -> Iterator[Tensor]:
        """(batch_size, T) long batches of a split (the last one smaller unless ``drop_last``)."""
        data = self.train if split == "train" else self.test
        return iterate_batches(data, batch_size, shuffle=shuffle, generator=generator, drop_last=drop_last)

    def decode(self, ids: Tensor) -> list[list[str]]:
        """(N, T) ids -> token lists (stopping at ``<end>``/``<pad>``): what BLEU is computed on."""
        return [self.vocab.decode(row) for row in ids.tolist()]

    def decode_text(self, ids: Tensor) -> list[str]:
        """(N, T) ids -> lines of text."""
        return [self.vocab.decode_text(row) for row in ids.tolist()]

    def test_references(self) -> list[list[str]]:
        """The test split as token lists: the references of BLEU."""
        return self.decode(self.test)

    def generator_config_kwargs(self) -> dict[str, int]:
        """``vocab_size``, ``seq_len`` and ``start_token`` for :class:`~seqgan_env.config.GeneratorConfig`."""
        return {"vocab_size": self.vocab_size, "seq_len": self.seq_len, "start_token": self.vocab.start_id}


def build_corpus(
    lines: Sequence[str], *,
    char: bool = False,
    lower: bool = False,
    seq_len: int | None = None,
    test_size: float | int = 0.1,
    seed: int = 0,
    max_vocab: int | None = None,
    min_freq: int = 1,
    end: bool | None = None,
    too_long: Literal["truncate", "drop"] = "truncate",
    vocab_from: Literal["all", "train"] = "all",
) -> TextCorpus:
    """Tokenize, split, build the vocabulary and encode ``lines`` (one sequence each).

    Args:
        lines: the sequences as text.
        char, lower: tokenizer options (see :func:`~seqgan_env.text.tokenize.tokenize`).
        seq_len: the fixed length T; ``None`` takes the longest sequence (plus one for ``<end>`` when lengths vary).
        test_size: held-out fraction or count.
        seed: seed of the split.
        max_vocab, min_freq: cut the vocabulary (unknown tokens then map to ``<unk>``).
        end: reserve ``<end>``; ``None`` reserves it unless every sequence has exactly ``seq_len`` tokens.
        too_long: ``"truncate"`` or ``"drop"`` sequences longer than ``seq_len``.
        vocab_from: count tokens over ``"all"`` lines (default) or the ``"train"`` split only.
    """
    seqs = [tokenize(line, char=char, lower=lower) for line in lines]
    seqs = [s for s in seqs if s]
    if len(seqs) < 2:
        raise ValueError(f"the corpus has {len(seqs)} non-empty sequences; need at least 2 to split.")
    lengths = {len(s) for s in seqs}
    if seq_len is None:
        seq_len = max(lengths) + (0 if len(lengths) == 1 and end is not True else 1)
    if end is None:
        end = lengths != {seq_len}
    train_idx, test_idx = split_indices(len(seqs), test_size, seed)
    counted = seqs if vocab_from == "all" else [seqs[i] for i in train_idx]
    vocab = Vocabulary.build(counted, max_size=max_vocab, min_freq=min_freq, end=end, char=char, lower=lower,
                             unk=True if vocab_from == "train" else None)
    train, _ = encode_fixed([seqs[i] for i in train_idx], vocab, seq_len, too_long=too_long)
    test, _ = encode_fixed([seqs[i] for i in test_idx], vocab, seq_len, too_long=too_long)
    if train.shape[0] == 0 or test.shape[0] == 0:
        raise ValueError(f"no sequences left after too_long={too_long!r} with seq_len={seq_len}; raise seq_len.")
    return TextCorpus(vocab=vocab, train=train, test=test, seq_len=seq_len, char=char)


def load_corpus(path: str | Path, **kwargs: object) -> TextCorpus:
    """:func:`build_corpus` over :func:`read_lines` of a file or folder (same keyword arguments)."""
    return build_corpus(read_lines(path), **kwargs)  # type: ignore[arg-type]
