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

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..config import GeneratorConfig
from ..files import load_checked, save_checked
from ..generator import Generator
from .vocab import Vocabulary

__all__ = ["CHECKPOINT_FORMAT", "TextCheckpoint", "save_text_checkpoint", "load_text_checkpoint", "sample_text"]

CHECKPOINT_FORMAT = "seqgan_env.text.checkpoint/1"


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
    state: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "generator_state_dict": {k: v.detach().cpu() for k, v in generator.state_dict().items()},
        "generator_config": dataclasses.asdict(generator.config),
        "meta": dict(meta or {}),
    }
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
    state = load_checked(path, map_location=map_location, what="text checkpoint")
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        if isinstance(state, dict) and "fingerprint" in state and "phase" in state:
            raise ValueError(
                f"{path} is a training checkpoint (oracle_train.py/the trainer), not a text checkpoint; decode the "
                "mle.pt or seqgan.pt that text_train.py writes."
            )
        got = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"{path} is not a text checkpoint (format {got!r}, expected {CHECKPOINT_FORMAT!r}).")
    config = GeneratorConfig(**state["generator_config"])
    vocab = Vocabulary.from_state(state)
    _check_match(config, vocab)
    generator = Generator(config)
    generator.load_state_dict(state["generator_state_dict"])
    generator.to(map_location).eval()
    return TextCheckpoint(generator=generator, vocab=vocab, meta=dict(state.get("meta", {})))


@torch.no_grad()
def sample_text(generator: Generator, vocab: Vocabulary, num: int, *, seed: int | None = None) -> list[str]:
    """Sample ``num`` sequences from ``generator`` and decode them to lines of text."""
    rng = torch.Generator(device=generator.device).manual_seed(seed) if seed is not None else None
    ids = generator.sample_batches(num, generator=rng)
    return [vocab.decode_text(row) for row in ids.tolist()]
