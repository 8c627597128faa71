"""seqgan_env.checks, and the public calls that use it: a bad size, seed or device is one ValueError naming it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from seqgan_env import Discriminator, Generator
from seqgan_env.checks import check_int, check_number, resolve_device
from seqgan_env.presets import PRESETS
from seqgan_env.rewards import RolloutReward
from seqgan_env.task import build_task

TINY = PRESETS["tiny"]


def test_check_int_takes_whole_numbers_only():
    assert check_int("n", 3) == 3 and check_int("n", np.int64(4)) == 4 and check_int("n", 5.0) == 5
    assert type(check_int("n", np.int32(2))) is int
    for bad in (2.5, True, math.nan, math.inf, "3", None):
        with pytest.raises(ValueError, match=r"^n=.* must be a whole number"):
            check_int("n", bad)
    with pytest.raises(ValueError, match=r"^n=0 must be a whole number >= 1; the paper uses 16\.$"):
        check_int("n", 0, minimum=1, hint="the paper uses 16")


def test_check_number_bounds():
    assert check_number("g", 1, low=0, high=1) == 1.0
    for bad in (math.nan, -0.1, 1.1, True):
        with pytest.raises(ValueError, match=r"^g=.* must be a finite number in \[0, 1\]"):
            check_number("g", bad, low=0, high=1)
    with pytest.raises(ValueError, match=r"must be a finite number > 0"):
        check_number("lr", 0.0, low=0, low_open=True)


def test_resolve_device_names_the_fix():
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match=r"device='foo' is not a torch device; pass 'cpu', 'cuda' or 'cuda:N'"):
        resolve_device("foo")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"^--device='cuda' but CUDA is not available .*; pass 'cpu'\.$"):
            resolve_device("cuda", "--device")


def test_resolve_device_makes_bare_cuda_the_current_gpu(monkeypatch):
    """``.to("cuda")`` puts a module on cuda:<current>; a bare "cuda" must compare equal to it (it did not, and
    every model passed with device="cuda" was refused)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)
    assert resolve_device("cuda") == torch.device("cuda", 1) == resolve_device(torch.device("cuda:1"))
    with pytest.raises(ValueError, match=r"only 2 GPU\(s\) are visible; pass 'cuda:0' to cuda:1"):
        resolve_device("cuda:2")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="GPU-only test: CUDA is not available here")
def test_models_moved_to_cuda_match_device_cuda():
    g = Generator(TINY.generator_config(), seed=0).to("cuda")
    d = Discriminator(TINY.discriminator_config(), seed=0).to("cuda")
    task = build_task(preset="tiny", generator=g, discriminator=d, device="cuda")
    assert task.device == g.device


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"vocab_size": 2.5}, r"vocab_size=2\.5 must be a whole number >= 1"),
    ({"seq_len": 3.5}, r"seq_len=3\.5 must be a whole number >= 1"),
    ({"seed": 1.5}, r"seed=1\.5 must be a whole number >= 0"),
    ({"num_rollouts": math.nan}, r"num_rollouts=nan must be a whole number >= 1"),
    ({"device": "gpu0"}, r"device='gpu0' is not a torch device"),
])
def test_env_arguments_are_checked(kwargs, match):
    from seqgan_env.env import SeqGANEnv

    with pytest.raises(ValueError, match=match):
        SeqGANEnv(preset="tiny", **kwargs)


def test_sample_sizes_are_checked():
    g = Generator(TINY.generator_config(), seed=0)
    for bad in (-1, 2.5):
        with pytest.raises(ValueError, match=r"^num=.* must be a whole number >= 0"):
            g.sample(bad, seed=0)
    with pytest.raises(ValueError, match=r"^length=0 must be a whole number >= 1"):
        g.sample(2, seed=0, length=0)
    assert g.sample(0, seed=0).shape == (0, TINY.seq_len)


def test_prefix_lengths_must_be_integers():
    g, d = Generator(TINY.generator_config(), seed=0), Discriminator(TINY.discriminator_config(), seed=0)
    r = RolloutReward(g, d, 2, backend="torch")
    y = g.sample(2, seed=1)
    with pytest.raises(ValueError, match=r"lengths must be integer prefix lengths, got dtype torch\.float32"):
        r.prefix_values(y, torch.tensor([1.5, 2.0]), seed=0)
    assert r.prefix_values(y, torch.tensor([1, 2]), seed=0).shape == (2,)


@pytest.mark.parametrize("make", [
    lambda y: torch.tensor(0.5),                               # a scalar
    lambda y: torch.full(y.shape, 0.5),                        # (R, T)
    lambda y: torch.full((y.shape[0], 1), 0.5),                # (R, 1), once accepted silently
    lambda y: np.full(y.shape[0], 0.5),                        # not a tensor
    lambda y: torch.ones(y.shape[0], dtype=torch.long),        # not float
])
def test_score_fn_output_is_checked(make):
    g, d = Generator(TINY.generator_config(), seed=0), Discriminator(TINY.discriminator_config(), seed=0)
    r = RolloutReward(g, d, 2, backend="torch", score_fn=make)
    with pytest.raises(ValueError, match=r"score_fn must return a \(3,\) float tensor"):
        r.score(g.sample(3, seed=0))


def test_score_fn_of_the_right_shape_is_used():
    g, d = Generator(TINY.generator_config(), seed=0), Discriminator(TINY.discriminator_config(), seed=0)
    r = RolloutReward(g, d, 2, backend="torch", score_fn=lambda y: (y[:, 0] % 2).double())
    y = g.sample(5, seed=0)
    s = r.score(y)
    assert s.dtype == torch.float32 and torch.equal(s, (y[:, 0] % 2).float())
    with pytest.raises(ValueError, match="score_fn must be callable"):
        RolloutReward(g, d, 2, backend="torch", score_fn=0.5)


def test_float_seeds_are_refused_not_truncated():
    g, d = Generator(TINY.generator_config(), seed=0), Discriminator(TINY.discriminator_config(), seed=0)
    r = RolloutReward(g, d, 2, backend="torch")
    y = g.sample(1, seed=1)
    for kw in ({"row_seeds": [1.7]}, {"row_seeds": torch.tensor([1.9])}, {"seed": 1.5}):
        with pytest.raises(ValueError, match="seed"):
            r.prefix_values(y, torch.tensor([3]), **kw)
    with pytest.raises(ValueError, match="seed"):
        g.sample(2, seed=1.5)
    torch.testing.assert_close(r.prefix_values(y, torch.tensor([3]), seed=np.int64(1)),
                               r.prefix_values(y, torch.tensor([3]), seed=1), rtol=0, atol=0)
