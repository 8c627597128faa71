"""Generator files: a trained generator with its config, loadable on its own.

Every training run writes its generators as such files (``oracle_train.py``: ``generators/mle_pretrained.pt``,
``generators/mle_baseline.pt``, ``generators/seqgan.pt``; ``text_train.py``: ``mle.pt``, ``mle_baseline.pt``,
``seqgan.pt``, which also carry the vocabulary), and :func:`load_generator` reads any of them:

    loaded = load_generator("runs/quick/generators/seqgan.pt")
    loaded.generator.sample(10, seed=0, temperature=0.9)

Format: a :func:`seqgan_env.files.save_checked` file (sha256-checked, written atomically) holding
``{"format": "seqgan_env.generator/1", "generator_config": {...}, "generator_state_dict": {...}, "meta": {...}}``
and, for text, ``"vocabulary"`` (``seqgan_env.text.checkpoint`` writes that variant under its own format name).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .config import GeneratorConfig
from .files import load_checked, save_checked
from .generator import Generator

__all__ = ["GENERATOR_FORMAT", "TEXT_FORMAT", "GeneratorFile", "save_generator", "load_generator"]

GENERATOR_FORMAT = "seqgan_env.generator/1"
TEXT_FORMAT = "seqgan_env.text.checkpoint/1"


@dataclass
class GeneratorFile:
    """What :func:`load_generator` returns: the generator (eval mode), the file's ``meta`` and, for a text
    checkpoint, its vocabulary as a dict (``seqgan_env.text.Vocabulary.from_dict`` rebuilds it)."""

    generator: Generator
    meta: dict[str, Any] = field(default_factory=dict)
    vocabulary: dict[str, Any] | None = None


def generator_state(generator: Generator, meta: dict[str, Any] | None = None, *, fmt: str = GENERATOR_FORMAT) -> dict:
    """The dict a generator file holds (weights checked finite: a diverged generator is never written)."""
    state = {k: v.detach().cpu() for k, v in generator.state_dict().items()}
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise ValueError(f"the generator has non-finite weights in {bad}; it is not saved.")
    return {
        "format": fmt,
        "generator_config": dataclasses.asdict(generator.config),
        "generator_state_dict": state,
        "meta": _plain(dict(meta or {})),
    }


def _plain(x: Any) -> Any:
    """``meta`` as JSON-like plain data (floats that are NaN stay floats; paths become strings)."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, (str, int, bool)) or x is None:
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    return str(x)


def save_generator(path: str | os.PathLike[str], generator: Generator, meta: dict[str, Any] | None = None) -> Path:
    """Write ``generator`` (config and weights) and ``meta`` (plain data) to ``path``; parent folders are made."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_checked(path, generator_state(generator, meta))


def load_generator(path: str | os.PathLike[str], *, map_location: str | torch.device = "cpu") -> GeneratorFile:
    """Read a generator file or a text checkpoint. Raises ``ValueError`` (one line) for anything else."""
    state = load_checked(path, map_location=map_location, what="generator file")
    if not isinstance(state, dict) or state.get("format") not in (GENERATOR_FORMAT, TEXT_FORMAT):
        if isinstance(state, dict) and "fingerprint" in state and "phase" in state:
            raise ValueError(
                f"{path} is a training checkpoint, not a generator file; its run directory holds the generators "
                "(generators/*.pt for oracle_train.py, mle.pt and seqgan.pt for text_train.py)."
            )
        got = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"{path} is not a generator file (format {got!r}).")
    config = GeneratorConfig(**state["generator_config"])
    generator = Generator(config)
    generator.load_state_dict(state["generator_state_dict"])
    generator.to(map_location).eval()
    return GeneratorFile(generator=generator, meta=dict(state.get("meta", {})), vocabulary=state.get("vocabulary"))
