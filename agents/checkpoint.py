"""Trainer checkpoints on disk: the file name and version, reading and verifying, and configuration fingerprints.

A checkpoint is a :func:`seqgan_env.files.save_checked` file (sha256 of its payload, written atomically) holding the
dict of :meth:`~seqgan_env.agents.AdversarialTrainer.state_dict`. :func:`read_checkpoint` refuses a missing,
damaged, foreign or other-version file with a :class:`CheckpointError` naming the problem; :func:`differences`
lists the settings in which two fingerprints differ, for a one-line message.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from seqgan_env.files import CorruptFileError, load_checked

__all__ = ["CHECKPOINT_NAME", "CHECKPOINT_VERSION", "CheckpointError", "read_checkpoint", "differences",
           "without_lr"]

CHECKPOINT_VERSION = 3
CHECKPOINT_NAME = "checkpoint.pt"
REQUIRED_KEYS = ("fingerprint", "phase", "index", "agent", "discriminator", "rows")


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, from another version or from an incompatible configuration."""


def read_checkpoint(path: str | os.PathLike[str], phases: tuple[str, ...]) -> dict[str, Any]:
    """Read and verify a checkpoint file (or a run directory holding ``checkpoint.pt``): checksum, version and
    required keys. ``phases`` are the valid phase names."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}.")
    try:
        state = load_checked(path)
    except CorruptFileError as exc:
        raise CheckpointError(str(exc)) from None
    if not isinstance(state, dict) or state.get("version") != CHECKPOINT_VERSION:
        got = state.get("version") if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(
            f"{path} has checkpoint version {got!r}; this version of seqgan-env reads version {CHECKPOINT_VERSION} "
            "(a run started with another version cannot be resumed; start it again)."
        )
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing or state["phase"] not in phases:
        raise CheckpointError(f"{path} is incomplete (missing {missing or 'a valid phase'}).")
    return state


def upgrade_fingerprint(fp: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint fingerprint with the names of this version (``schedule.batch_size`` became
    ``schedule.d_batch_size``) and the defaults of fields added since, so runs saved before still resume."""
    sched = fp.get("schedule")
    if isinstance(sched, dict) and "batch_size" in sched and "d_batch_size" not in sched:
        fp["schedule"] = sched = {("d_batch_size" if k == "batch_size" else k): v for k, v in sched.items()}
    # fields added later, with the behaviour of the runs saved before them
    if isinstance(sched, dict):
        sched.setdefault("d_batch_order", "reshuffle")
        sched.setdefault("d_drop_last", False)
    if isinstance(fp.get("mle"), dict):
        fp["mle"].setdefault("batch_order", "reshuffle")
        fp["mle"].setdefault("drop_last", False)
    return fp


def without_lr(config: Any) -> Any:
    """A config dict without its ``lr`` (learning rates may change on resume; see ``set_learning_rates``)."""
    return {k: v for k, v in config.items() if k != "lr"} if isinstance(config, dict) else config


def differences(a: Any, b: Any, where: str = "") -> list[tuple[str, Any, Any]]:
    """The leaves where two JSON-like values differ, as (dotted path, value in a, value in b)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[tuple[str, Any, Any]] = []
        for k in sorted(set(a) | set(b), key=str):
            out += differences(a.get(k), b.get(k), f"{where}.{k}" if where else str(k))
        return out
    return [] if a == b else [(where or "<root>", a, b)]
