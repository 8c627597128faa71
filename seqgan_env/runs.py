"""Finished training runs, loaded back for evaluation (what ``examples/evaluate.py`` reads).

A run directory of ``examples/oracle_train.py`` holds ``args.json``, ``checkpoint.pt`` and ``generators/*.pt``
(:mod:`seqgan_env.generator_files`); one of ``examples/text_train.py`` holds ``args.json``, ``vocab.json``,
``trainer/checkpoint.pt`` and the text checkpoints ``mle.pt``, ``mle_baseline.pt``, ``seqgan.pt``.
:func:`load_run` reads either, rebuilds what the run was scored against (the oracle and its held-out data, or
the corpus split and its BLEU references) from ``args.json``, and checks the rebuild against the digests in the
run's checkpoint, so an evaluation never silently scores against other data.

    run = load_run("runs/quick")                       # an OracleRun or a TextRun
    run.models["seqgan"].sample(4, seed=0, temperature=0.9)
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .config import DataConfig, GeneratorConfig
from .data import SequenceData, make_oracle_data
from .files import load_checked
from .generator import Generator
from .generator_files import load_generator
from .oracle import ORACLE_ENV_VAR, default_oracle_path, load_oracle, oracle_file_label, random_oracle

__all__ = [
    "ORACLE_MODELS", "TEXT_MODELS", "OracleRun", "TextRun", "RunError", "load_run", "data_digest", "oracle_digest",
    "resolve_oracle", "to_device",
]

ORACLE_MODELS = ("mle_pretrained", "mle_baseline", "seqgan")
"""The generator files of an oracle run, in ``generators/``: pretrained MLE, the MLE-only baseline, SeqGAN."""
TEXT_MODELS = ("mle", "mle_baseline", "seqgan")
"""The text checkpoints of a text run (``<name>.pt`` in the run directory)."""


class RunError(ValueError):
    """A run directory that cannot be evaluated (missing files, or a rebuild that does not match the run)."""


def data_digest(data: SequenceData) -> str:
    """sha256 of the training and held-out rows (the trainer's checkpoint records it)."""
    return hashlib.sha256(data.train.cpu().numpy().tobytes() + data.test.cpu().numpy().tobytes()).hexdigest()


def oracle_digest(oracle: Generator | None) -> str:
    """sha256 of the oracle's weights (``None``: a text corpus, which has no oracle)."""
    h = hashlib.sha256()
    if oracle is None:
        h.update(b"the generator itself")  # the bytes of the former text convention, kept for old checkpoints
    else:
        for v in oracle.state_dict().values():
            h.update(v.detach().cpu().float().numpy().tobytes())
    return h.hexdigest()


def resolve_oracle(
    *, oracle_params: str | None, preset: str, seed: int, vocab_size: int, seq_len: int
) -> tuple[Generator, str]:
    """The oracle of ``examples/oracle_train.py``'s settings, and a description of its source: the file
    ``oracle_params``; else ``$SEQGAN_ORACLE_PARAMS`` (not for the ``tiny`` preset, whose V is 50); else the
    random oracle seeded by ``seed``. Raises ``ValueError`` naming the fix when the file's V is not ``vocab_size``."""
    path = oracle_params or (default_oracle_path() if preset != "tiny" else None)
    if path is None:
        cfg = GeneratorConfig(vocab_size=vocab_size, seq_len=seq_len)
        return random_oracle(cfg, seed=seed), f"seeded random oracle (seed {seed}; not the paper's oracle)"
    from_env = "" if oracle_params else f" (from ${ORACLE_ENV_VAR})"
    try:
        oracle = load_oracle(path, seq_len=seq_len)
    except ValueError as exc:
        fix = f"; fix or unset ${ORACLE_ENV_VAR}" if from_env else ""
        raise ValueError(f"{exc}{from_env}{fix}") from None
    if oracle.vocab_size != vocab_size:
        raise ValueError(
            f"the oracle file{from_env} has vocab_size {oracle.vocab_size} but --vocab-size is {vocab_size}; use "
            f"--vocab-size {oracle.vocab_size} (or no oracle file for the {preset} preset)."
        )
    return oracle, f"{oracle_file_label(path)}{from_env}"


@dataclass
class OracleRun:
    """A run of ``oracle_train.py``: its ``args``, the oracle and data it trained on, and its generators by name
    (:data:`ORACLE_MODELS` that exist; the baseline only when it trained for at least one epoch)."""

    path: Path
    args: dict[str, Any]
    oracle: Generator
    oracle_source: str
    data: SequenceData
    models: dict[str, Generator] = field(default_factory=dict)
    kind: str = "oracle"


@dataclass
class TextRun:
    """A run of ``text_train.py``: its ``args``, the corpus, the BLEU references and real held-out rows exactly
    as the run scored them, and its generators by name (:data:`TEXT_MODELS` that exist)."""

    path: Path
    args: dict[str, Any]
    corpus: Any  # seqgan_env.text.TextCorpus
    reference_ids: Tensor
    real_ids: Tensor
    models: dict[str, Generator] = field(default_factory=dict)
    kind: str = "text"


def _fingerprint(checkpoint: Path) -> dict[str, Any]:
    if not checkpoint.is_file():
        raise RunError(f"{checkpoint.parent} has no {checkpoint.name}; pass the --out directory of a finished run.")
    state = load_checked(checkpoint)
    return json.loads(state["fingerprint"])


def load_run(path: str | os.PathLike[str], *, oracle_params: str | None = None) -> OracleRun | TextRun:
    """Load the run in ``path`` (an ``oracle_train.py`` or ``text_train.py`` output directory).

    Args:
        path: the run's ``--out`` directory.
        oracle_params: the oracle file, when it is no longer where the run's ``args.json`` says (oracle runs).

    Raises:
        RunError: not a run, no generator in it, or the rebuilt oracle/data differ from the run's (the message
            says which and what to pass).
    """
    run = Path(path)
    if not (run / "args.json").is_file():
        raise RunError(f"{run} has no args.json; pass the --out directory of an oracle_train.py or text_train.py run.")
    args = json.loads((run / "args.json").read_text(encoding="utf-8"))
    if "corpus" in args:
        return _load_text_run(run, args)
    return _load_oracle_run(run, args, oracle_params)


def _load_oracle_run(run: Path, args: dict[str, Any], oracle_params: str | None) -> OracleRun:
    fp = _fingerprint(run / "checkpoint.pt")
    given = oracle_params or args.get("oracle_params")
    if given is not None and not Path(given).is_file():
        raise RunError(f"{run} was trained with the oracle file {given}, which is not there; pass --oracle-params "
                       "with where it is now.")
    oracle, source = resolve_oracle(oracle_params=given, preset=args.get("preset", ""), seed=int(args["seed"]),
                                    vocab_size=int(args["vocab_size"]), seq_len=int(args["seq_len"]))
    if oracle_digest(oracle) != fp["oracle_sha256"]:
        raise RunError(f"the oracle rebuilt for {run} ({source}) is not the one it trained with; pass "
                       "--oracle-params with the run's oracle file.")
    data = make_oracle_data(oracle, DataConfig(num_train=int(args["num_train"]), num_test=int(args["num_test"]),
                                               seed=int(args["seed"])))
    if data_digest(data) != fp["data_sha256"]:
        raise RunError(f"the oracle data rebuilt for {run} differ from the run's (another version of the data "
                       "sampler?); it cannot be evaluated on its own held-out set.")
    models: dict[str, Generator] = {}
    for name in ORACLE_MODELS:
        f = run / "generators" / f"{name}.pt"
        if not f.is_file():
            continue
        loaded = load_generator(f)
        if name == "mle_baseline" and loaded.meta.get("schedule", {}).get("baseline_epochs") == 0:
            continue  # a baseline of 0 epochs is the pretrained generator again (files of earlier versions)
        models[name] = loaded.generator
    if not models:
        raise RunError(f"{run} has no generators/*.pt; it predates generator files or stopped before pretraining "
                       "ended.")
    return OracleRun(run, args, oracle, source, data, models)


def _load_text_run(run: Path, args: dict[str, Any]) -> TextRun:
    from .evaluation import text_reference_split
    from .text.checkpoint import load_text_checkpoint
    from .text.prepare import CorpusConfig

    fp = _fingerprint(run / "trainer" / "checkpoint.pt")
    task = CorpusConfig(**{f.name: args[f.name] for f in fields(CorpusConfig) if f.name in args})
    corpus, _ = task.load(int(args.get("seed", 0)))
    if data_digest(SequenceData(train=corpus.train, test=corpus.test)) != fp["data_sha256"]:
        raise RunError(f"the corpus rebuilt from {run / 'args.json'} ({args['corpus']}) differs from the one the run "
                       "trained on; evaluate it where its corpus (and --source) is as it was.")
    refs, real = text_reference_split(corpus.test, num_real=int(args.get("bleu_samples", 1000)),
                                      num_references=args.get("bleu_references"), seed=int(args.get("seed", 0)))
    models: dict[str, Generator] = {}
    for name in TEXT_MODELS:
        f = run / f"{name}.pt"
        if f.is_file():
            ck = load_text_checkpoint(f)
            if ck.vocab.tokens != corpus.vocab.tokens:
                raise RunError(f"{f} has another vocabulary than the corpus rebuilt from {run / 'args.json'}.")
            models[name] = ck.generator
    if not models:
        raise RunError(f"{run} has no mle.pt or seqgan.pt; it stopped before MLE pretraining ended.")
    return TextRun(run, args, corpus, refs, real, models)


def to_device(run: OracleRun | TextRun, device: str | torch.device) -> None:
    """Move the run's models (and oracle) to ``device``."""
    for m in run.models.values():
        m.to(device)
    if isinstance(run, OracleRun):
        run.oracle.to(device)
