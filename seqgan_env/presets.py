"""Every preset of the project, in one place (pure configuration: no Gymnasium, importable anywhere).

**Task presets of the environment** (:data:`PRESETS`, ``gym.make("SeqGAN-v0", preset=...)``):

* ``"oracle"``: the paper's synthetic task. V = 5000, T = 20, the paper's generator (embedding 32, hidden 32) and
  the paper's discriminator (12 widths, 1,720 filters). The oracle is the reference file when given
  (``oracle_params=`` or ``$SEQGAN_ORACLE_PARAMS``), else the seeded random oracle.
* ``"tiny"``: the same task shrunk for tests and quick agent runs. V = 32, T = 8, embedding and hidden 16, the
  paper's widths up to 8 with a tenth of the filters (120 in all), discriminator embedding 16. Always a seeded
  random oracle unless ``oracle_params`` names a file of vocabulary 32.
"""

from __future__ import annotations

import textwrap
import warnings
from dataclasses import dataclass
from typing import Any

from .config import DiscriminatorConfig, GeneratorConfig

__all__ = ["Preset", "PRESETS", "ORACLE_SEED", "TASK_SIZES", "BUDGETS", "EXAMPLE_PRESETS", "example_presets",
           "preset_table"]

#: Seed of the random oracle the presets build (the task is the same whatever the env's ``seed``).
ORACLE_SEED = 0


@dataclass(frozen=True)
class Preset:
    """Sizes of an environment task. ``filter_divisor`` divides the paper's filter counts (at least 1 filter per
    width; 10 keeps a tenth). ``filter_scale`` is its former, misleading name (everywhere else a *scale*
    multiplies): read-only, deprecated."""

    name: str
    vocab_size: int
    seq_len: int
    emb_dim: int = 32
    hidden_dim: int = 32
    disc_emb_dim: int = 64
    filter_divisor: int = 1
    use_oracle_env_var: bool = False

    @property
    def filter_scale(self) -> int:
        """Deprecated: the old name of :attr:`filter_divisor` (it divides the filter counts)."""
        warnings.warn("Preset.filter_scale is deprecated: it is the divisor of the filter counts; use "
                      "Preset.filter_divisor.", DeprecationWarning, stacklevel=2)
        return self.filter_divisor

    def generator_config(self, vocab_size: int | None = None, seq_len: int | None = None) -> GeneratorConfig:
        """The generator (and random oracle) config, with optional size overrides."""
        return GeneratorConfig(
            vocab_size=self.vocab_size if vocab_size is None else vocab_size,
            seq_len=self.seq_len if seq_len is None else seq_len,
            emb_dim=self.emb_dim,
            hidden_dim=self.hidden_dim,
        )

    def discriminator_config(self, vocab_size: int | None = None, seq_len: int | None = None) -> DiscriminatorConfig:
        """The paper's discriminator trimmed to the length (``DiscriminatorConfig.for_length``), scaled down."""
        cfg = DiscriminatorConfig.for_length(
            self.seq_len if seq_len is None else seq_len,
            self.vocab_size if vocab_size is None else vocab_size,
            emb_dim=self.disc_emb_dim,
        )
        if self.filter_divisor != 1:
            cfg = cfg.with_filter_scale(1.0 / self.filter_divisor)
        return cfg


PRESETS: dict[str, Preset] = {
    "oracle": Preset("oracle", vocab_size=5000, seq_len=20, use_oracle_env_var=True),
    "tiny": Preset("tiny", vocab_size=32, seq_len=8, emb_dim=16, hidden_dim=16, disc_emb_dim=16, filter_divisor=10),
}


# ------------------------------------------------------------------------------------------------------------------
# The examples' presets: task sizes apart from schedule budgets. Each is a set of command-line values (flat names:
# the flags without "--", the keys of a run's args.json); an example's preset is one row of each table.
# ------------------------------------------------------------------------------------------------------------------

TASK_SIZES: dict[str, dict[str, Any]] = {
    # the paper's synthetic task: V=5000, T=20, 10,000 train / 10,000 held-out oracle sequences, the paper's D
    "oracle": dict(vocab_size=5000, seq_len=20, num_train=10_000, num_test=10_000, d_filter_scale=1.0),
    # oracle_train.py's seconds-long test task: a V=50, T=8 random oracle, 512/256 sequences, 5% of D's filters
    "oracle-tiny": dict(vocab_size=50, seq_len=8, num_train=512, num_test=256, d_filter_scale=0.05),
    # sb3_train.py on the env's "oracle" task (V=5000, T=20): 10,000/2,000 sequences, 10% of D's filters
    "sb3-oracle": dict(num_train=10_000, num_test=2_000, d_filter_scale=0.1),
    # sb3_train.py on the env's "tiny" task (V=32, T=8, its own slim D): 512/256 sequences
    "sb3-tiny": dict(num_train=512, num_test=256, d_filter_scale=1.0),
    # text_train.py: the networks (the corpus fixes V and T)
    "text-paper": dict(emb_dim=32, hidden_dim=32, d_filter_scale=1.0),
    "text-quick": dict(emb_dim=32, hidden_dim=32, d_filter_scale=0.25),
    "text-tiny": dict(emb_dim=16, hidden_dim=16, d_filter_scale=0.05),
}
"""Task presets of the examples (sizes: the problem and the networks)."""

BUDGETS: dict[str, dict[str, Any]] = {
    # the paper / reference code: 120 MLE epochs; D pretraining 50 rounds x 3 epochs on 10,000 fresh negatives +
    # the 10,000 real sequences; 200 rounds of 1 PG step (N=16) and 5 x 3 D epochs; evaluation every 5
    "oracle-paper": {},
    # the paper's networks, optimisers and PG step unchanged, the schedule shrunk to at most 20 minutes on 2 CPU
    # cores: MLE 40 epochs; D pretraining 10 rounds x 1 epoch on 1,024 + 1,024; 40 rounds with N=4 and 1 x 1 D
    # epoch on 1,024 + 1,024; evaluation every 10; MLE-only baseline 40 epochs (one per round)
    "oracle-quick": dict(mle_epochs=40, d_pretrain_rounds=10, d_pretrain_epochs=1, adv_rounds=40, g_steps=1,
                         d_steps=1, d_epochs=1, num_negatives=1024, num_rollouts=4, eval_every=10,
                         checkpoint_every=5),
    # seconds: 3 MLE epochs, 2 D rounds, 4 adversarial rounds with N=2 and PG batch 16
    "oracle-tiny": dict(mle_epochs=3, d_pretrain_rounds=2, d_pretrain_epochs=1, adv_rounds=4, g_steps=1, d_steps=1,
                        d_epochs=1, num_negatives=256, eval_every=2, eval_samples=256, d_eval_samples=128,
                        checkpoint_every=2, num_rollouts=2, pg_batch_size=16, rollout_backend="torch"),
    # sb3_train.py: 5 MLE epochs, 5 D pretraining rounds of 1 epoch, N=4, 32 rounds of 1,280 tokens (the paper's
    # PG batch of 64 sequences) each followed by 1 D epoch on 1,024 + 1,024
    "sb3-quick": dict(mle_epochs=5, d_pretrain_rounds=5, d_pretrain_epochs=1, d_epochs=1, num_rollouts=4,
                      timesteps=40_960, num_negatives=1_024, eval_samples=2_000, d_eval_samples=1_000),
    "sb3-tiny": dict(mle_epochs=2, d_pretrain_rounds=2, d_pretrain_epochs=1, d_epochs=1, num_envs=8, n_steps=16,
                     batch_size=64, num_rollouts=2, timesteps=4_096, num_negatives=256, eval_every=4,
                     eval_samples=256, d_eval_samples=128, pg_batch_size=16, learning_rate=1e-3),
    # text_train.py: the paper's schedule; quick: MLE 30 epochs, D pretraining 5 x 2 epochs on 1,024, 20 rounds
    # of 1 PG step (N=8) and 1 x 2 D epochs on 1,024, BLEU on 500 samples; tiny: seconds
    "text-paper": {},
    "text-quick": dict(mle_epochs=30, d_pretrain_rounds=5, d_pretrain_epochs=2, adv_rounds=20, d_steps=1,
                       d_epochs=2, num_negatives=1024, num_rollouts=8, bleu_samples=500),
    "text-tiny": dict(mle_epochs=2, d_pretrain_rounds=1, d_pretrain_epochs=1, adv_rounds=2, d_steps=1, d_epochs=1,
                      num_negatives=64, num_rollouts=2, pg_batch_size=8, bleu_samples=20, num_show=3),
}
"""Schedule presets of the examples (budgets: epochs, rounds, rollouts, samples)."""

EXAMPLE_PRESETS: dict[str, dict[str, tuple[str, str]]] = {
    "oracle_train": {"paper": ("oracle", "oracle-paper"), "quick": ("oracle", "oracle-quick"),
                     "tiny": ("oracle-tiny", "oracle-tiny")},
    "sb3_train": {"quick": ("sb3-oracle", "sb3-quick"), "tiny": ("sb3-tiny", "sb3-tiny")},
    "text_train": {"paper": ("text-paper", "text-paper"), "quick": ("text-quick", "text-quick"),
                   "tiny": ("text-tiny", "text-tiny")},
}
"""``--preset NAME`` of each example: (task preset, budget preset)."""


def example_presets(example: str) -> dict[str, dict[str, Any]]:
    """The ``--preset`` values of ``example`` (``"oracle_train"``, ``"sb3_train"``, ``"text_train"``): preset
    name -> flat flag values (the task sizes, then the budget)."""
    return {name: TASK_SIZES[task] | BUDGETS[budget] for name, (task, budget) in EXAMPLE_PRESETS[example].items()}


def preset_table() -> str:
    """Every example preset as a Markdown table (docs/presets.md is this table; a test keeps them equal)."""
    rows = ["| example | --preset | task sizes | budget |", "|---|---|---|---|"]

    def fmt(values: dict[str, Any]) -> str:
        return ", ".join(f"`{k}={v}`" for k, v in values.items()) or "the defaults (the paper's values)"

    for example, presets in EXAMPLE_PRESETS.items():
        for name, (task, budget) in presets.items():
            rows.append(f"| {example}.py | {name} | {task}: {fmt(TASK_SIZES[task])} | {budget}: "
                        f"{fmt(BUDGETS[budget])} |")
    env = ", ".join(f"`{p.name}` (V={p.vocab_size}, T={p.seq_len}, G {p.emb_dim}/{p.hidden_dim}, D embedding "
                    f"{p.disc_emb_dim}, filters / {p.filter_divisor})" for p in PRESETS.values())
    return "\n".join(rows) + "\n\n" + textwrap.fill(f"Environment tasks (`gym.make(..., preset=...)`): {env}.",
                                                      width=118) + "\n"
