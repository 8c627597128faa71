"""Whole-setup checkpoints: :func:`save_setup` / :func:`load_setup` (the algorithm, the env's D and generator,
the env config) and the :data:`ALGORITHM_MODULES` allow-list ``load_setup`` imports algorithm classes from."""

from __future__ import annotations

import dataclasses
import importlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.base_class import BaseAlgorithm

from seqgan_env.discriminator import Discriminator
from seqgan_env.files import load_checked, save_checked
from seqgan_env.generator import Generator

from .vec_env import SB3VecEnvAdapter, make_sb3_env

__all__ = ["Setup", "save_setup", "load_setup"]

#: Env keyword arguments that are objects; :func:`save_setup` stores them as weights, not in ``env_config.json``.
_OBJECT_KWARGS = ("generator", "discriminator", "rollout_reward", "reward_fn", "vocab", "score_fn")


@dataclasses.dataclass
class Setup:
    """What :func:`load_setup` returns: the algorithm, the env (adapter) and the discriminator it reads."""

    model: Any
    env: SB3VecEnvAdapter
    discriminator: Discriminator
    extra: dict[str, Any]


def _jsonable(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The env kwargs that go to ``env_config.json``: plain values (paths and devices as strings); model objects
    and the autoreset mode (the adapter always uses SAME_STEP) are left out."""
    out: dict[str, Any] = {}
    for k, v in kwargs.items():
        if k in _OBJECT_KWARGS or isinstance(v, AutoresetMode):
            continue
        if isinstance(v, (Path, torch.device)):
            v = str(v)
        if v is not None and not isinstance(v, (bool, int, float, str)):
            raise ValueError(f"env kwarg {k}={v!r} cannot be saved in env_config.json; pass a plain value.")
        out[k] = v
    return out


def save_setup(
    directory: str | Path, model: Any, env: SB3VecEnvAdapter, *, extra: Mapping[str, Any] | None = None
) -> Path:
    """Save the algorithm, the env's discriminator and generator, and the env config in one directory.

    Files: ``model.zip`` (``model.save``; any object with ``save``/``load``), ``algo.json`` (the algorithm's class
    path), ``env_config.json`` (the env's plain keyword arguments; the reference oracle is stored by path, never
    copied), ``discriminator.pt`` and ``generator.pt`` (the env's D and rollout generator: config and weights), and
    ``extra`` in ``algo.json``. Returns the directory.

    Not saved: a ``vocab`` object and a custom ``rollout_reward`` (``load_setup`` rebuilds the reward from G, D and the
    saved ``num_rollouts``/``rollout_policy``/``reward_backend``; pass ``vocab=`` to ``load_setup`` again).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    base = env.unwrapped
    model.save(directory / "model.zip")
    cls = type(model)
    (directory / "algo.json").write_text(json.dumps(
        {"class": f"{cls.__module__}:{cls.__qualname__}", "extra": dict(extra or {})}, indent=2))
    (directory / "env_config.json").write_text(json.dumps(_jsonable(env.env_kwargs), indent=2))
    for name in ("discriminator", "generator"):
        module = getattr(base, name)
        save_checked(directory / f"{name}.pt",
                     {"config": dataclasses.asdict(module.config), "state_dict": module.state_dict()})
    return directory


def _config_from(cls: type, d: Mapping[str, Any]) -> Any:
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


#: Modules ``load_setup`` may import an algorithm class from (``algo.json`` names the class; nothing else is imported).
ALGORITHM_MODULES: tuple[str, ...] = ("stable_baselines3", "sb3_contrib", "seqgan_env.agents")


def _algorithm_class(path: str, directory: Path) -> type:
    """The class named ``module:qualname`` in ``algo.json``, only from :data:`ALGORITHM_MODULES`, and only an SB3
    ``BaseAlgorithm`` or :class:`~seqgan_env.agents.sb3_reinforce.ReinforceAlgorithm`."""
    module, _, qualname = path.partition(":")
    if not qualname or module.split(".")[0] not in {m.split(".")[0] for m in ALGORITHM_MODULES} or not any(
        module == m or module.startswith(m + ".") for m in ALGORITHM_MODULES
    ):
        raise ValueError(
            f"{directory / 'algo.json'} names the algorithm class {path!r}; load_setup only loads classes from "
            f"{list(ALGORITHM_MODULES)} (SB3, sb3-contrib, this package). Load other algorithms yourself."
        )
    from ..sb3_reinforce import ReinforceAlgorithm

    cls: Any = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part, None)
    if not (isinstance(cls, type) and (issubclass(cls, BaseAlgorithm) or issubclass(cls, ReinforceAlgorithm))):
        raise ValueError(f"{path!r} in {directory / 'algo.json'} is not an SB3 algorithm class.")
    return cls


def load_setup(directory: str | Path, *, device: str | torch.device | None = None, **env_overrides: Any) -> Setup:
    """Rebuild what :func:`save_setup` wrote: the env (same config, the saved D and generator), then the model
    loaded onto it.

    Args:
        directory: what :func:`save_setup` wrote.
        device: where the env's models, its rewards and the algorithm go (default: the device saved in
            ``env_config.json``, i.e. where the setup ran). ``device="cpu"`` loads a GPU run on a machine without one.
        env_overrides: replace saved env kwargs (e.g. ``oracle_params`` on another machine).
    """
    from seqgan_env.checks import resolve_device
    from seqgan_env.config import DiscriminatorConfig, GeneratorConfig

    directory = Path(directory)
    meta = json.loads((directory / "algo.json").read_text())
    env_kwargs = json.loads((directory / "env_config.json").read_text())
    env_kwargs.update(env_overrides)
    dev = env_kwargs["device"] = resolve_device(device if device is not None else env_kwargs.get("device", "cpu"))
    saved = {n: load_checked(directory / f"{n}.pt", what=f"{n} file") for n in ("discriminator", "generator")}
    disc = Discriminator(_config_from(DiscriminatorConfig, saved["discriminator"]["config"]))
    disc.load_state_dict(saved["discriminator"]["state_dict"])
    gen = Generator(_config_from(GeneratorConfig, saved["generator"]["config"]))
    gen.load_state_dict(saved["generator"]["state_dict"])
    disc, gen = disc.to(dev), gen.to(dev)
    env = make_sb3_env(generator=gen, discriminator=disc, **env_kwargs)
    cls = _algorithm_class(str(meta.get("class", "")), directory)
    if issubclass(cls, BaseAlgorithm):
        model = cls.load(directory / "model.zip", env=env, device=dev)
    else:
        model = cls.load(directory / "model.zip", env=env, discriminator=disc)
    return Setup(model=model, env=env, discriminator=disc, extra=meta.get("extra", {}))
