"""Text checkpoints: a generator together with the vocabulary that decodes it.

Format: a :func:`seqgan_env.files.save_checked` file (a sha256-checked ``torch.save`` payload, written atomically,
read with ``weights_only=True``) holding::

    {
        "format": "seqgan_env.text.checkpoint/1",
        "generator_state_dict": {...},            # Generator.state_dict()
        "generator_config": {...},                # dataclasses.asdict(GeneratorConfig)
        "vocabulary": {...},                      # Vocabulary.to_dict()
        "meta": {...},                            # free-form JSON-able info (corpus, step, metrics)
    }

The generator's ``start_token`` must be the vocabulary's ``start_id``; :func:`save_text_checkpoint` checks it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import streams
from ..config import GeneratorConfig
from ..files import CorruptFileError, save_checked
from ..generator import Generator
from ..generator_files import TEXT_FORMAT, generator_state, load_generator
from .vocab import Vocabulary

__all__ = ["CHECKPOINT_FORMAT", "TextCheckpoint", "save_text_checkpoint", "load_text_checkpoint", "sample_text"]

CHECKPOINT_FORMAT = TEXT_FORMAT


@dataclass
class TextCheckpoint:
    """A loaded checkpoint: the generator (in eval mode), its vocabulary and the free-form ``meta``."""

    generator: Generator
    vocab: Vocabulary
    meta: dict[str, Any] = field(default_factory=dict)


def _check_match(config: GeneratorConfig, vocab: Vocabulary) -> None:
    if config.vocab_size != len(vocab):
        raise ValueError(f"generator vocab_size {config.vocab_size} != vocabulary size {len(vocab)}.")
    if config.start_token != vocab.start_id:
        raise ValueError(
            f"generator start_token {config.start_token} != the vocabulary's start id {vocab.start_id}; build the "
            "generator with GeneratorConfig(start_token=vocab.start_id)."
        )


def save_text_checkpoint(
    path: str | Path, generator: Generator, vocab: Vocabulary, meta: dict[str, Any] | None = None
) -> None:
    """Write ``generator`` (state dict and config) and ``vocab`` to ``path`` (parent folders are created)."""
    _check_match(generator.config, vocab)
    state = generator_state(generator, meta, fmt=CHECKPOINT_FORMAT)
    vocab.add_to_state(state)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checked(path, state)


def load_text_checkpoint(path: str | Path, *, map_location: str | torch.device = "cpu") -> TextCheckpoint:
    """Read a checkpoint written by :func:`save_text_checkpoint`.

    Raises:
        ValueError: missing, damaged (checksum) or another kind of file (an ``oracle_train.py`` checkpoint is named
            as such), with a one-line message.
    """
    try:
        loaded = load_generator(path, map_location=map_location)
    except CorruptFileError as exc:
        raise ValueError(str(exc).replace("generator file", "text checkpoint")) from None
    except ValueError as exc:
        msg = str(exc)
        if "training checkpoint" in msg:
            raise ValueError(
                f"{path} is a training checkpoint (oracle_train.py/the trainer), not a text checkpoint; decode the "
                "mle.pt or seqgan.pt that text_train.py writes."
            ) from None
        raise ValueError(msg.replace("is not a generator file", "is not a text checkpoint")) from None
    if loaded.vocabulary is None:
        raise ValueError(f"{path} is a generator file without a vocabulary, not a text checkpoint.")
    vocab = Vocabulary.from_dict(loaded.vocabulary)
    _check_match(loaded.generator.config, vocab)
    return TextCheckpoint(generator=loaded.generator, vocab=vocab, meta=loaded.meta)


@torch.no_grad()
def sample_text(
    generator: Generator, vocab: Vocabulary, num: int, *, seed: int | None = None, temperature: float = 1.0,
    top_p: float = 1.0,
) -> list[str]:
    """Sample ``num`` sequences from ``generator`` at ``temperature`` (and nucleus ``top_p``) and decode them to
    lines of text. ``seed`` fixes the samples (row b is the same whatever ``num``)."""
    if seed is not None:
        ids = generator.sample_batches(num, row_seeds=streams.row_seeds(seed, "text_generate", rows=num,
                                                                       device=generator.device),
                                       temperature=temperature, top_p=top_p)
    else:
        ids = generator.sample_batches(num, temperature=temperature, top_p=top_p)
    return [vocab.decode_text(row) for row in ids.tolist()]
