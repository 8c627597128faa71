import torch

from seqgan_env.config import DataConfig, GeneratorConfig
from seqgan_env.data import discriminator_batches, iterate_batches, make_oracle_data
from seqgan_env.oracle import random_oracle


def test_oracle_data_is_seeded_and_held_out_differs():
    oracle = random_oracle(GeneratorConfig(vocab_size=40, seq_len=7), seed=3)
    cfg = DataConfig(num_train=300, num_test=200, seed=5)
    a, b = make_oracle_data(oracle, cfg), make_oracle_data(oracle, cfg)
    assert a.train.shape == (300, 7) and a.test.shape == (200, 7)
    assert torch.equal(a.train, b.train) and torch.equal(a.test, b.test)
    assert not torch.equal(a.train[:200], a.test)
    c = make_oracle_data(oracle, DataConfig(num_train=300, num_test=200, seed=6))
    assert not torch.equal(a.train, c.train)


def test_iterate_batches_covers_every_row_once():
    data = torch.arange(50).view(25, 2)
    seen = torch.cat(list(iterate_batches(data, 4, generator=torch.Generator().manual_seed(0))))
    assert seen.shape == (25, 2)
    assert sorted(seen[:, 0].tolist()) == data[:, 0].tolist()
    assert len(list(iterate_batches(data, 4, drop_last=True))) == 6


def test_discriminator_batches_labels():
    real = torch.zeros(10, 3, dtype=torch.long)
    fake = torch.ones(6, 3, dtype=torch.long)
    batches = list(discriminator_batches(real, fake, 4, generator=torch.Generator().manual_seed(0)))
    tokens = torch.cat([t for t, _ in batches])
    labels = torch.cat([y for _, y in batches])
    assert tokens.shape == (16, 3) and int(labels.sum()) == 10
    assert torch.equal(labels == 1, tokens[:, 0] == 0)
