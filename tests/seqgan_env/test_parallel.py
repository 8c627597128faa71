"""Data parallelism over ranks: 2 gloo ranks on CPU under torchrun give what one process gives.

The work runs in ``ddp_worker.py`` (next to this file) under ``python -m torch.distributed.run``; each rank writes a
JSON file that the tests read. Plus the single-process behaviour of :class:`~seqgan_env.parallel.Parallel` and the
named streams.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from seqgan_env import streams
from seqgan_env.parallel import Parallel

WORKER = Path(__file__).with_name("ddp_worker.py")


def torchrun(*args: str, nproc: int = 2, timeout: int = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("TRITON_INTERPRET", None)
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", *args],
        capture_output=True, text=True, env=env, timeout=timeout,
    )


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out = tmp_path_factory.mktemp("ddp")
    res = torchrun(str(WORKER), str(out), "train")
    assert res.returncode == 0, res.stderr[-3000:]
    return [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]


def test_rewards_split_over_ranks_equal_one_process(two_ranks):
    assert all(r["q_identical"] for r in two_ranks)


def test_every_parameter_is_identical_on_both_ranks_after_training(two_ranks):
    """One unit of every phase (MLE, D pretraining, an adversarial round, the MLE-only baseline) on 2 ranks."""
    assert all(r["ranks_identical"] for r in two_ranks)
    assert two_ranks[0]["summary"] == two_ranks[1]["summary"] and two_ranks[0]["summary"]["world_size"] == 2


def test_two_ranks_compute_what_one_process_computes(two_ranks):
    main = two_ranks[0]
    assert main["max_param_diff_vs_one_process"] < 1e-5  # the order of floating-point sums only
    for k, v in main["single_summary"].items():
        assert abs(main["summary"][k] - v) < 1e-6, k


def test_a_loss_on_the_bare_module_is_not_synchronised(two_ranks):
    """The DDP trap the trainer avoids by computing every loss through its wrapper: the negative control."""
    assert not any(r["bare_module_ranks_identical"] for r in two_ranks)


def test_a_dead_rank_ends_the_collective_with_a_clear_error(tmp_path):
    torchrun(str(WORKER), str(tmp_path), "die")  # torchrun itself reports the failed group
    res = json.loads((tmp_path / "rank0.json").read_text())
    assert res["error"] is not None and "another rank probably died" in res["error"], res
    assert res["seconds"] < 30  # the error, not a hang


def test_single_process_context_is_the_identity():
    p = Parallel()
    assert not p.enabled and p.is_main and p.shard(10) == (0, 10)
    t = torch.arange(4.0)
    assert p.all_reduce_sum(t) is t and p.all_gather_rows(t) is t and p.sum_floats(1.5, 2.0) == [1.5, 2.0]
    m = torch.nn.Linear(2, 2)
    assert p.wrap(m) is m
    blocks = [Parallel(world_size=3, rank=r).shard(10) for r in range(3)]
    assert blocks == [(0, 3), (3, 6), (6, 10)]


def test_named_streams_are_pure_functions():
    assert streams.key(0, "mle", 3) == streams.key(0, "mle", 3)
    keys = {streams.key(0, "mle", 3), streams.key(0, "mle", 4), streams.key(1, "mle", 3), streams.key(0, "mlx", 3),
            streams.key(0, "mle", 3, 0), streams.key(0, "mle")}
    assert len(keys) == 6
    assert torch.equal(streams.row_seeds(5, "x", 2, rows=range(3, 6)), streams.row_seeds(5, "x", 2, rows=6)[3:])
    assert torch.equal(streams.permutation(1, "p", n=50), streams.permutation(1, "p", n=50))
    assert sorted(streams.permutation(1, "p", n=50).tolist()) == list(range(50))
    with pytest.raises(ValueError, match="seed"):
        streams.key(-1, "x")
    with pytest.raises(ValueError, match="path element"):
        streams.key(0, "x", -2)
