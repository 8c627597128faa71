"""Named task presets for the environment (pure configuration: no Gymnasium, importable anywhere).

* ``"oracle"``: the paper's synthetic task. V = 5000, T = 20, the paper's generator (embedding 32, hidden 32) and
  the paper's discriminator (12 widths, 1,720 filters). The oracle is the reference file when given
  (``oracle_params=`` or ``$SEQGAN_ORACLE_PARAMS``), else the seeded random oracle.
* ``"tiny"``: the same task shrunk for tests and quick agent runs. V = 32, T = 8, embedding and hidden 16, the
  paper's widths up to 8 with a tenth of the filters (120 in all), discriminator embedding 16. Always a seeded
  random oracle unless ``oracle_params`` names a file of vocabulary 32.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import DiscriminatorConfig, GeneratorConfig

__all__ = ["Preset", "PRESETS", "ORACLE_SEED"]

#: Seed of the random oracle the presets build (the task is the same whatever the env's ``seed``).
ORACLE_SEED = 0


@dataclass(frozen=True)
class Preset:
    """Sizes of a task. ``filter_scale`` divides the paper's filter counts (at least 1 filter per width)."""

    name: str
    vocab_size: int
    seq_len: int
    emb_dim: int = 32
    hidden_dim: int = 32
    disc_emb_dim: int = 64
    filter_scale: int = 1
    use_oracle_env_var: bool = False

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
        if self.filter_scale != 1:
            cfg = cfg.with_filter_scale(1.0 / self.filter_scale)
        return cfg


PRESETS: dict[str, Preset] = {
    "oracle": Preset("oracle", vocab_size=5000, seq_len=20, use_oracle_env_var=True),
    "tiny": Preset("tiny", vocab_size=32, seq_len=8, emb_dim=16, hidden_dim=16, disc_emb_dim=16, filter_scale=10),
}
