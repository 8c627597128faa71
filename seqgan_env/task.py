"""The task builder: the models and the reward of a SeqGAN task, shared by the env and the examples.

:func:`build_task` turns a preset (sizes, :mod:`seqgan_env.presets`) plus optional models into a :class:`Task`:
the generator G, the discriminator D, the rollout reward over them, the oracle when one is needed, the sizes and an
optional id -> text table. Models that are passed in are used as they are (shared by reference) after their sizes,
vocabularies and devices are checked against each other and against the keyword arguments; missing ones are built
fresh and seeded from ``seed``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ._compat import alias_property
from .checks import check_int, resolve_device
from .discriminator import Discriminator
from .generator import Generator
from .oracle import make_oracle
from .presets import ORACLE_SEED, PRESETS
from .rewards import RolloutReward

__all__ = ["Task", "build_task", "check_vocab"]


@dataclass
class Task:
    """What :func:`build_task` returns.

    Attributes:
        generator, discriminator: G and D (shared by reference with whoever passed them in).
        rollout_reward: the :class:`~seqgan_env.rewards.RolloutReward` over G and D.
        oracle: the task's oracle, or ``None`` (see :func:`build_task`).
        vocab_size, seq_len: V and T.
        device: where the models live.
        vocab: an id -> text table (V strings) or ``None``; ``char_vocab``: join tokens without spaces.
    """

    generator: Generator
    discriminator: Discriminator
    rollout_reward: RolloutReward
    oracle: Generator | None
    vocab_size: int
    seq_len: int
    device: torch.device
    vocab: list[str] | None
    char_vocab: bool

    reward_fn = alias_property("Task", "reward_fn", "rollout_reward")


def _pick(name: str, given: int | None, *found: tuple[str, int]) -> int | None:
    """The size a model fixes (all must agree with each other and with the kwarg), or the kwarg."""
    for what, value in found:
        if given is not None and value != given:
            raise ValueError(
                f"{name}={given} but the {what} has {name} {value}; drop {name}= or pass a {what} built for {given}."
            )
        given = value
    return given


def check_vocab(vocab: Any, vocab_size: int) -> tuple[list[str] | None, bool]:
    """``vocab`` (a sequence of V strings, or an object with ``.tokens`` and optionally ``.char``) as
    ``(list of V strings, char)``; ``(None, False)`` for ``None``. Raises ``ValueError`` for anything else."""
    if vocab is None:
        return None, False
    char = bool(getattr(vocab, "char", False))
    table = getattr(vocab, "tokens", vocab)
    if isinstance(table, str) or not isinstance(table, Sequence) or not all(isinstance(x, str) for x in table):
        raise ValueError("vocab must be a sequence of strings (id -> token text) or an object with .tokens.")
    if len(table) != vocab_size:
        raise ValueError(
            f"vocab has {len(table)} entries but vocab_size is {vocab_size}; give one string per token id."
        )
    return list(table), char


def build_task(
    *,
    preset: str = "oracle",
    vocab_size: int | None = None,
    seq_len: int | None = None,
    generator: Generator | None = None,
    discriminator: Discriminator | None = None,
    rollout_reward: RolloutReward | None = None,
    num_rollouts: int = 16,
    rollout_policy: str = "current",
    reward_backend: str = "auto",
    score_fn: Callable[[Tensor], Tensor] | None = None,
    score_precision: str = "fp32",
    device: str | torch.device = "cpu",
    seed: int | None = None,
    oracle_params: Any = None,
    vocab: Any = None,
) -> Task:
    """Build (or check and adopt) the models and the reward of a task.

    Args:
        preset: ``"oracle"`` (the paper's task) or ``"tiny"``; supplies the sizes the other arguments leave open.
        vocab_size, seq_len: override the preset; must match passed models.
        generator, discriminator: models to use (on ``device``); default fresh ones seeded from ``seed`` (via
            ``np.random.SeedSequence(seed)``; ``None`` means 0).
        rollout_reward: a :class:`RolloutReward` to adopt (its G and D are used; passing other models beside it is an
            error, and so are ``score_fn``/``score_precision`` other than the defaults).
        num_rollouts, rollout_policy, reward_backend, score_fn, score_precision: the new reward's settings.
        device: where the models are built (``"cuda"`` means the current GPU, so models moved with
            ``.to("cuda")`` match); passed models must already be there.
        oracle_params: path of the reference oracle. An oracle is built when G is built here or when this is given:
            the file, else ``$SEQGAN_ORACLE_PARAMS`` (preset ``"oracle"`` at V = 5000), else the seeded random oracle.
        vocab: an id -> text table (see :func:`check_vocab`).
    """
    if preset not in PRESETS:
        raise ValueError(f"preset={preset!r} is unknown; choose one of {sorted(PRESETS)}.")
    p = PRESETS[preset]
    if rollout_reward is not None:
        if not isinstance(rollout_reward, RolloutReward):
            raise ValueError("rollout_reward must be a seqgan_env.rewards.RolloutReward, got "
                             f"{type(rollout_reward).__name__}.")
        for what, given, own in (
            ("generator", generator, rollout_reward.generator),
            ("discriminator", discriminator, rollout_reward.discriminator),
        ):
            if given is not None and given is not own:
                raise ValueError(
                    f"both rollout_reward and a different {what} were passed; pass only rollout_reward (its {what} "
                    "is used)."
                )
        if score_fn is not None or score_precision != "fp32":
            raise ValueError("score_fn/score_precision configure a new reward; with rollout_reward= set them on it.")
        rr = rollout_reward
        for name, given, default, own in (
            ("num_rollouts", num_rollouts, 16, (rr.num_rollouts,)),
            ("rollout_policy", rollout_policy, "current", (rr.rollout_policy,)),
            ("reward_backend", reward_backend, "auto", (rr.requested_backend, rr.backend)),
        ):
            if given != default and given not in own:
                raise ValueError(
                    f"{name}={given!r} but the rollout_reward passed has {name} {own[-1]!r}; drop {name}= (the "
                    f"rollout_reward's setting is used) or build the RolloutReward with {given!r}."
                )
        generator, discriminator = rollout_reward.generator, rollout_reward.discriminator
    if generator is not None and discriminator is not None and generator.vocab_size != discriminator.vocab_size:
        raise ValueError(
            f"generator vocab_size {generator.vocab_size} != discriminator vocab_size {discriminator.vocab_size}; "
            "build both with the same vocabulary."
        )
    found_v = [(w, m.vocab_size) for w, m in (("generator", generator), ("discriminator", discriminator)) if m]
    found_t = [(w, m.seq_len) for w, m in (("generator", generator), ("discriminator", discriminator)) if m]
    v = _pick("vocab_size", vocab_size, *found_v)
    t = _pick("seq_len", seq_len, *found_t)
    v = p.vocab_size if v is None else check_int("vocab_size", v, minimum=1)
    t = p.seq_len if t is None else check_int("seq_len", t, minimum=1)
    seed = None if seed is None else check_int("seed", seed, minimum=0)
    dev = resolve_device(device)
    for what, m in (("generator", generator), ("discriminator", discriminator)):
        if m is not None and m.device != dev:
            raise ValueError(
                f"the {what} is on {m.device} but device={str(dev)!r}; pass device={str(m.device)!r} "
                f"or move the {what} with .to({str(dev)!r})."
            )
    gen_cfg = p.generator_config(v, t)

    oracle = None
    if generator is None or oracle_params is not None:
        use_env = p.use_oracle_env_var and v == PRESETS["oracle"].vocab_size
        oracle = make_oracle(oracle_params, config=gen_cfg, seed=ORACLE_SEED, use_env=use_env).to(dev)
    gen_seed, disc_seed = (int(x) for x in np.random.SeedSequence(0 if seed is None else seed).generate_state(2))
    if generator is None:
        generator = Generator(gen_cfg, seed=gen_seed).to(dev)
    if discriminator is None:
        discriminator = Discriminator(p.discriminator_config(v, t), seed=disc_seed).to(dev)
    if rollout_reward is None:
        rollout_reward = RolloutReward(
            generator, discriminator, num_rollouts, rollout_policy=rollout_policy,  # type: ignore[arg-type]
            backend=reward_backend, score_fn=score_fn, score_precision=score_precision,  # type: ignore[arg-type]
        )
    table, char = check_vocab(vocab, v)
    return Task(generator, discriminator, rollout_reward, oracle, v, t, dev, table, char)
