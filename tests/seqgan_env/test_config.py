import dataclasses

import pytest

from seqgan_env.config import DataConfig, DiscriminatorConfig, GeneratorConfig, MLEConfig


def test_defaults_are_the_papers():
    assert dataclasses.astuple(GeneratorConfig()) == (5000, 32, 32, 20, 0, 0.1)
    assert (MLEConfig().epochs, MLEConfig().batch_size, MLEConfig().lr, MLEConfig().grad_clip) == (120, 64, 0.01, 5.0)
    assert DataConfig().num_train == 10_000
    d = DiscriminatorConfig()
    assert sum(d.num_filters) == d.total_filters == 1720


@pytest.mark.parametrize(
    "factory, match",
    [
        (lambda: GeneratorConfig(hidden_dim=0), "hidden_dim=0"),
        (lambda: GeneratorConfig(init_std=-1.0), "init_std"),
        (lambda: MLEConfig(batch_size=0), "batch_size=0"),
        (lambda: MLEConfig(epochs=-1), "epochs=-1"),
        (lambda: DataConfig(num_test=0), "num_test=0"),
        (lambda: DiscriminatorConfig(dropout_keep=0.0), "dropout_keep"),
        (lambda: DiscriminatorConfig(seq_len=5, filter_sizes=(1, 6), num_filters=(2, 2)), r"\[6\]"),
    ],
)
def test_bad_values_name_themselves(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_configs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        GeneratorConfig().vocab_size = 3  # type: ignore[misc]


def test_with_filter_scale():
    cfg = DiscriminatorConfig().with_filter_scale(0.1)
    assert cfg.num_filters == (10, 20, 20, 20, 20, 10, 10, 10, 10, 10, 16, 16)
    assert cfg.filter_sizes == DiscriminatorConfig().filter_sizes
    assert DiscriminatorConfig().with_filter_scale(0.001).num_filters == (1,) * 12
    with pytest.raises(ValueError, match="must be positive"):
        DiscriminatorConfig().with_filter_scale(0.0)
