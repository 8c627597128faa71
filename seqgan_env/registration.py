"""Registers the environment ids with Gymnasium (called by ``import seqgan_env`` when Gymnasium is installed).

String entry points only, so ``EnvSpec.to_json()`` works and ``seqgan_env.env`` (which imports Gymnasium) is
imported only when an env is made.

* ``SeqGAN-v0``: the paper's oracle task (``preset="oracle"``, V = 5000, T = 20).
* ``SeqGAN-tiny-v0``: the small task (``preset="tiny"``, V = 32, T = 8).

``gym.make(id, **kwargs)`` builds :class:`seqgan_env.env.SeqGANEnv`; ``gym.make_vec(id, num_envs=n)`` builds the
native :class:`seqgan_env.env.SeqGANVectorEnv`. The ids carry no ``max_episode_steps``: every episode ends by itself
after exactly T tokens, and a ``TimeLimit`` would only be able to cut it before the discriminator's reward (for
example with ``seq_len`` above the id's T), in ``gym.make`` and in the sync and async ``make_vec`` alike.
"""

from __future__ import annotations

import gymnasium

__all__ = ["ENV_IDS", "register_envs"]

ENV_IDS: dict[str, str] = {"SeqGAN-v0": "oracle", "SeqGAN-tiny-v0": "tiny"}


def register_envs() -> None:
    """Register every id in :data:`ENV_IDS` that is not registered yet."""
    for env_id, preset in ENV_IDS.items():
        if env_id in gymnasium.registry:
            continue
        gymnasium.register(
            id=env_id,
            entry_point="seqgan_env.env:SeqGANEnv",
            vector_entry_point="seqgan_env.env:SeqGANVectorEnv",
            kwargs={"preset": preset},
        )
