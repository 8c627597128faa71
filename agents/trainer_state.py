"""The trainer's state on disk: its configuration fingerprint, the checkpoint it writes and restores (exactly, or
forked from another run's pretraining), and the generator files of a run.

These are functions of an :class:`~seqgan_env.agents.trainer.AdversarialTrainer` (its methods ``fingerprint``,
``state_dict``, ``save_checkpoint``, ``load_checkpoint`` and ``save_generator`` call them); the file format and its
checks are in :mod:`~seqgan_env.agents.checkpoint`.

**Checkpoints and resume.** ``out_dir/checkpoint.pt`` is written (a temporary file, fsynced, then
``os.replace``; removed if the write fails) with a sha256 of its payload (:mod:`seqgan_env.files`), after every
``checkpoint_every`` units of any phase, at every phase change and when ``run`` stops early. The weights are
checked first: a non-finite or diverged weight is never saved. It holds the agent, D and its optimizer, the MLE
optimizer, the baseline copy, the rollout policy's delayed copy, the unit counters the streams are keyed by,
torch's global RNG states (for custom agents that use them), the metric rows, the learning-rate changes and the
elapsed time. :meth:`AdversarialTrainer.load_checkpoint` validates the file (complete, checksum, version, same
configuration fingerprint) before changing anything, so a resumed run repeats an uninterrupted one with the same
seed exactly (same thread count and device assumed) and a bad file leaves everything untouched.

**Non-finite losses, scores or weights**, and weights that diverge past ``max_weight``, raise
:class:`TrainingStopped` (a :class:`~seqgan_env.updates.NonFiniteLossError`); no checkpoint is written after the
failure, so the last good one survives.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from seqgan_env.files import save_checked
from seqgan_env.generator import Generator
from seqgan_env.generator_files import save_generator as write_generator_file
from seqgan_env.runs import data_digest, oracle_digest
from seqgan_env.updates import NonFiniteLossError

from .checkpoint import CHECKPOINT_VERSION, CheckpointError, differences, upgrade_fingerprint, without_lr
from .schedule import PHASES

if TYPE_CHECKING:
    from .trainer import AdversarialTrainer


class DivergenceError(NonFiniteLossError):
    """A model's weights became non-finite or exceeded ``MAX_WEIGHT`` (a learning rate far too high)."""

__all__ = [
    "fingerprint", "state_dict", "save_checkpoint", "load_checkpoint", "restore", "save_generator", "learning_rates",
    "set_learning_rates", "check_weights", "DivergenceError",
]


def fingerprint(trainer: AdversarialTrainer) -> str:
    """A JSON string of everything a checkpoint must agree on to be resumed by this trainer."""
    agent_state = trainer.agent.state_dict()
    fp = {  # learning rates are left out: a resumed run may lower them (set_learning_rates records it)
        "schedule": asdict(trainer.schedule),
        "mle": without_lr(asdict(trainer.mle)),
        "agent_type": type(trainer.agent).__name__,
        "agent_config": without_lr(agent_state.get("config")),
        "generator": asdict(trainer.generator.config),
        "discriminator": without_lr(asdict(trainer.discriminator.config)),
        "seed": trainer.seed,
        "data_sha256": data_digest(trainer.data),
        "oracle_sha256": oracle_digest(trainer.oracle),
        "extra": trainer.extra_config,
    }
    return json.dumps(fp, sort_keys=True, default=str)


def state_dict(trainer: AdversarialTrainer) -> dict[str, Any]:
    """The full trainer state (see the module docstring): tensors and plain data (``weights_only``-loadable)."""
    reward_state = None
    if trainer.rollout_reward is not None and trainer.rollout_reward.rollout_generator is not trainer.generator:
        reward_state = trainer.rollout_reward.rollout_generator.state_dict()
    baseline = None
    if trainer.baseline_generator is not None and trainer.baseline_optimizer is not None:
        baseline = {"generator": trainer.baseline_generator.state_dict(),
                    "optimizer": trainer.baseline_optimizer.state_dict()}
    return {
        "version": CHECKPOINT_VERSION,
        "fingerprint": trainer.fingerprint(),
        "phase": trainer.phase,
        "index": trainer.index,
        "d_updates": trainer.d_updates,
        "started": trainer.started,
        "agent": trainer.agent.state_dict(),
        "discriminator": trainer.discriminator.state_dict(),
        "d_optimizer": trainer.d_optimizer.state_dict(),
        "mle_optimizer": trainer.mle_optimizer.state_dict(),
        "rollout_reward": {"built": trainer.rollout_reward is not None, "rollout_generator": reward_state},
        "baseline_snapshot": trainer._baseline_snapshot,
        "baseline": baseline,
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "rows": [dict(r) for r in trainer.rows],
        "elapsed": dict(trainer.elapsed),
        "cpu": dict(trainer.cpu),
        "last_g_metrics": dict(trainer.last_g_metrics),
        "lr_changes": [dict(c) for c in trainer.lr_changes],
        "forked_from": trainer.forked_from,
        "sample_log": [dict(e) for e in trainer.sample_log],
    }


def save_checkpoint(trainer: AdversarialTrainer) -> Path | None:
    """Write ``out_dir/checkpoint.pt`` atomically (tmp file + ``os.replace``, removed on failure) with a
    sha256 of its payload (:func:`seqgan_env.files.save_checked`); only rank 0 writes. Returns its path.

    Raises:
        DivergenceError: a weight is non-finite or diverged; nothing is written, the last good file stays.
    """
    path = trainer.checkpoint_path
    if path is None:
        return None
    trainer.check_weights("at a checkpoint")
    if trainer.parallel.is_main:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_checked(path, trainer.state_dict())
    trainer.parallel.barrier()  # every rank may read it from here on
    return path


def load_checkpoint(trainer: AdversarialTrainer, path: str | os.PathLike[str], *, fork: bool = False) -> None:
    """Restore the state saved in ``path``; nothing changes (in memory or on disk) if it is invalid.

    ``fork=True`` starts *another* run from a run's pretraining: the checkpoint must be at the start of the
    adversarial phase (a run stopped with ``run(stop_after_rounds=0)``), and it may differ from this trainer
    in the agent's config, the caller's ``extra_config`` and the schedule of the later phases (``adv_rounds``,
    ``g_steps``, ``d_steps``, ``d_epochs``, ``checkpoint_every``, ``baseline_epochs``; not ``eval_every``, which
    picks the pretraining rows, nor the MLE and D learning rates, which pretraining uses). The
    pretrained G, D, their optimizers and the metric rows are taken over; the result is exactly the run this
    trainer would give from scratch (pretraining does not read those settings). The summary records
    ``forked_from``.

    Raises:
        CheckpointError: unreadable, wrong version, or saved with a different configuration (the message
            names the settings that differ).
    """
    state = trainer.read_checkpoint(path)
    mine = json.loads(trainer.fingerprint())
    theirs = upgrade_fingerprint(json.loads(state["fingerprint"]))
    if fork:
        if (state["phase"], int(state["index"])) != ("adversarial", 0) or state.get("baseline") is not None:
            raise CheckpointError(
                f"{path} is not at the start of the adversarial phase (it is at {state['phase']} unit "
                f"{state['index']}); fork from a run stopped after pretraining (--stop-after-rounds 0)."
            )
        rates = {"mle": "mle_optimizer", "d": "d_optimizer"}  # pretraining reads both: they must agree
        now = trainer.learning_rates()
        clash = {k: (float(state[key]["param_groups"][0]["lr"]), now[k]) for k, key in rates.items()
                 if float(state[key]["param_groups"][0]["lr"]) != now[k]}
        if clash:
            detail = ", ".join(f"{k} learning rate {a:g} there, {b:g} here" for k, (a, b) in clash.items())
            raise CheckpointError(
                f"{path} was pretrained with other learning rates ({detail}); pretraining reads them, so fork only "
                "with the same rates (or change them later with --resume)."
            )
        free = {"adv_rounds", "g_steps", "d_steps", "d_epochs", "checkpoint_every", "baseline_epochs"}
        for fp in (mine, theirs):
            fp.pop("agent_config", None)
            fp.pop("extra", None)
            fp["schedule"] = {k: v for k, v in fp["schedule"].items() if k not in free}
    if mine != theirs:
        diff = differences(theirs, mine)
        details = "; ".join(f"{k}: {a!r} in the checkpoint, {b!r} now" for k, a, b in diff[:6])
        more = f" and {len(diff) - 6} more" if len(diff) > 6 else ""
        fix = ("fork only from a run pretrained with the same settings" if fork
               else "resume with the settings it was written with")
        raise CheckpointError(f"checkpoint {path} was written with other settings: {details}{more}; {fix}.")
    backup = copy.deepcopy(trainer.state_dict())
    try:
        if fork:
            agent_state = state["agent"]
            if int(agent_state.get("steps", 0)) != 0 or "generator" not in agent_state:
                raise ValueError("the checkpoint's agent has taken steps (or keeps no 'generator' state)")
            trainer.generator.load_state_dict(agent_state["generator"])
            state = {**state, "agent": trainer.agent.state_dict(), "lr_changes": []}
        restore(trainer, state)
        if fork:
            trainer.forked_from = str(path)
            if trainer._baseline_snapshot is not None:
                pretrained = copy.deepcopy(trainer.generator)
                pretrained.load_state_dict(trainer._baseline_snapshot["generator"])
                trainer.save_generator("mle_pretrained", pretrained)
    except Exception as exc:
        restore(trainer, backup)
        raise CheckpointError(f"checkpoint {path} does not fit this trainer ({type(exc).__name__}: {exc}).") \
            from exc
    trainer.log.write_csv()  # metrics.csv as of the checkpoint (drops rows of units that will be redone)
    trainer._write_samples()


def restore(trainer: AdversarialTrainer, state: dict[str, Any]) -> None:
    trainer.agent.load_state_dict(state["agent"])
    trainer.discriminator.load_state_dict(state["discriminator"])
    trainer.d_optimizer.load_state_dict(state["d_optimizer"])
    trainer.mle_optimizer.load_state_dict(state["mle_optimizer"])
    trainer._baseline_snapshot = state["baseline_snapshot"]
    trainer.rollout_reward = None
    saved_reward = state.get("rollout_reward", state.get("reward_fn"))  # "reward_fn": checkpoints before 0.2
    if saved_reward["built"]:
        rf = trainer.ensure_rollout_reward()
        if saved_reward["rollout_generator"] is not None:
            rf.rollout_generator.load_state_dict(saved_reward["rollout_generator"])
    trainer.baseline_generator = trainer.baseline_optimizer = trainer.baseline_model = None
    if state["baseline"] is not None:
        trainer._make_baseline()
        assert trainer.baseline_generator is not None and trainer.baseline_optimizer is not None
        trainer.baseline_generator.load_state_dict(state["baseline"]["generator"])
        trainer.baseline_optimizer.load_state_dict(state["baseline"]["optimizer"])
    torch.set_rng_state(state["torch_rng"])
    if torch.cuda.is_available() and state.get("cuda_rng"):
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    trainer.phase, trainer.index, trainer.started = state["phase"], int(state["index"]), bool(state["started"])
    trainer.d_updates = int(state.get("d_updates", 0))
    trainer.rows = [dict(r) for r in state["rows"]]
    trainer.elapsed = {p: 0.0 for p in PHASES[:-1]} | dict(state["elapsed"])
    trainer.cpu = {p: 0.0 for p in PHASES[:-1]} | dict(state.get("cpu", {}))
    trainer.last_g_metrics = dict(state.get("last_g_metrics", {}))
    trainer.lr_changes = [dict(c) for c in state.get("lr_changes", [])]
    trainer.forked_from = state.get("forked_from")
    trainer.sample_log = [dict(e) for e in state.get("sample_log", [])]
    trainer.mle = dataclasses.replace(trainer.mle, lr=float(trainer.mle_optimizer.param_groups[0]["lr"]))


def save_generator(trainer: AdversarialTrainer, name: str, generator: Generator) -> Path | None:
    """Write ``out_dir/generators/<name>.pt`` (:func:`seqgan_env.generator_files.save_generator`: the config,
    the weights and what the run was), rank 0 only. Returns the path."""
    if trainer.out_dir is None:
        return None
    path = trainer.out_dir / "generators" / f"{name}.pt"
    if trainer.parallel.is_main:
        meta = {"model": name, "seed": trainer.seed, "schedule": asdict(trainer.schedule),
                "agent": {"type": type(trainer.agent).__name__, "config": trainer.agent.state_dict().get("config")},
                "extra": trainer.extra_config, "rows": [dict(r) for r in trainer.rows]}
        write_generator_file(path, generator, meta)
    return path


# ---------------------------------------------------------------- learning rates and the weight guard
def learning_rates(trainer: AdversarialTrainer) -> dict[str, float]:
    """The current learning rates: ``pg`` (the agent's optimizer, if it has one), ``mle`` and ``d``."""
    out = {"mle": float(trainer.mle_optimizer.param_groups[0]["lr"]),
           "d": float(trainer.d_optimizer.param_groups[0]["lr"])}
    opt = getattr(trainer.agent, "optimizer", None)
    if isinstance(opt, torch.optim.Optimizer):
        out["pg"] = float(opt.param_groups[0]["lr"])
    return out

def set_learning_rates(
    trainer: AdversarialTrainer, *, pg: float | None = None, mle: float | None = None, d: float | None = None
) -> None:
    """Change learning rates from now on (e.g. on ``--resume`` after a divergence) and record the change in
    the checkpoint and the summary (``learning_rate_changes``). ``pg`` needs an agent with
    ``set_learning_rate``; ``mle`` applies to pretraining and the MLE-only baseline, ``d`` to D's Adam."""
    change: dict[str, Any] = {"phase": trainer.phase, "unit": trainer.index}
    for name, value in (("pg", pg), ("mle", mle), ("d", d)):
        if value is None:
            continue
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"the new {name} learning rate {value!r} must be a finite number > 0.")
        change[f"{name}_lr"] = {"from": trainer.learning_rates().get(name), "to": float(value)}
        if name == "pg":
            if not hasattr(trainer.agent, "set_learning_rate"):
                raise ValueError(f"{type(trainer.agent).__name__} has no set_learning_rate; cannot change its lr.")
            trainer.agent.set_learning_rate(float(value))  # type: ignore[attr-defined]
        elif name == "mle":
            trainer.mle = dataclasses.replace(trainer.mle, lr=float(value))
            for opt in (trainer.mle_optimizer, trainer.baseline_optimizer):
                if opt is not None:
                    for group in opt.param_groups:
                        group["lr"] = float(value)
        else:
            for group in trainer.d_optimizer.param_groups:
                group["lr"] = float(value)
    if len(change) > 2:
        trainer.lr_changes.append(change)

def check_weights(trainer: AdversarialTrainer, where: str = "") -> None:
    """Raise :class:`DivergenceError` if a weight of G, D or the baseline G is non-finite or above
    ``max_weight`` in absolute value."""
    models = {"generator": trainer.generator, "discriminator": trainer.discriminator}
    if trainer.baseline_generator is not None:
        models["MLE-only baseline generator"] = trainer.baseline_generator
    if trainer.rollout_reward is not None and trainer.rollout_reward.rollout_generator is not trainer.generator:
        models["rollout generator"] = trainer.rollout_reward.rollout_generator
    for what, model in models.items():
        for name, p in model.named_parameters():
            biggest = float(p.detach().abs().max()) if p.numel() else 0.0
            if not math.isfinite(biggest):
                raise DivergenceError(f"the {what}'s {name} holds non-finite values {where}".rstrip())
            if biggest > trainer.max_weight:
                raise DivergenceError(
                    f"the {what} diverged {where}: max |{name}| = {biggest:.3g} > {trainer.max_weight:g} "
                    "(the learning rate is far too high)".replace("  ", " ")
                )
