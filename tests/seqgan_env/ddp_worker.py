"""Run by tests/seqgan_env/test_parallel.py under ``torchrun --nproc-per-node 2`` (gloo, CPU); not a test module.

    python -m torch.distributed.run --standalone --nproc-per-node 2 ddp_worker.py OUT_DIR train|die

``train``: rollout rewards split over the ranks, then a tiny trainer (one unit of every phase) split over the ranks,
the same trainer in one process (rank 0), and the DDP trap (a loss computed on the bare module). Each rank writes
``OUT_DIR/rank{r}.json``. ``die``: rank 1 exits at once; rank 0 records how its next collective fails.
"""

from __future__ import annotations

import json
import os
import sys
import time

import torch

from seqgan_env import streams
from seqgan_env.agents import AdversarialTrainer, ReinforceAgent, ReinforceConfig, ScheduleConfig
from seqgan_env.config import DataConfig, DiscriminatorConfig, GeneratorConfig
from seqgan_env.data import make_oracle_data
from seqgan_env.discriminator import Discriminator
from seqgan_env.generator import Generator
from seqgan_env.kernels import derive_seeds
from seqgan_env.oracle import random_oracle
from seqgan_env.parallel import DistributedError, Parallel
from seqgan_env.rewards import RolloutReward

V, T = 24, 6
SCHEDULE = ScheduleConfig(mle_epochs=1, d_pretrain_rounds=1, d_pretrain_epochs=1, adv_rounds=1, g_steps=1, d_steps=1,
                          d_epochs=1, eval_every=1, num_negatives=70, eval_samples=50, d_eval_samples=30,
                          checkpoint_every=1, baseline_epochs=1, batch_size=16)


def models(seed: int = 0) -> tuple[Generator, Discriminator]:
    g = Generator(GeneratorConfig(vocab_size=V, seq_len=T, emb_dim=8, hidden_dim=8), seed=seed)
    d = Discriminator(DiscriminatorConfig(vocab_size=V, seq_len=T, emb_dim=8, filter_sizes=(1, 2, 3),
                                          num_filters=(6, 6, 6)), seed=seed + 1)
    return g, d


def trainer(parallel: Parallel) -> AdversarialTrainer:
    oracle = random_oracle(GeneratorConfig(vocab_size=V, seq_len=T, emb_dim=8, hidden_dim=8), seed=5)
    data = make_oracle_data(oracle, DataConfig(num_train=90, num_test=40, seed=3), parallel=parallel)
    g, d = models(1)
    agent = ReinforceAgent(g, ReinforceConfig(batch_size=13, num_rollouts=2, backend="torch"))
    return AdversarialTrainer(agent, d, oracle, data, schedule=SCHEDULE, seed=7, tensorboard=False,
                              parallel=parallel)


def flat(*modules: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for m in modules for p in m.parameters()])


def train(out: str, p: Parallel) -> None:
    res: dict = {"rank": p.rank, "world_size": p.world_size}
    # 1. rollout rewards: each rank scores its block of the batch; together they are the one-process Q
    g, d = models()
    rf = RolloutReward(g, d, 3, backend="torch")
    b = 5
    seqs, seeds = g.sample(b, seed=1), derive_seeds(2, torch.arange(b))
    lo, hi = p.shard(b)
    q = p.all_gather_rows(rf.q_values(seqs[lo:hi], row_seeds=seeds[lo:hi]))
    res["q_identical"] = bool(torch.equal(q, rf.q_values(seqs, row_seeds=seeds)))
    # 2. one unit of every phase, split over the ranks
    tr = trainer(p)
    summary = tr.run()
    params = flat(tr.generator, tr.discriminator, tr.baseline_generator)
    both = p.all_gather_rows(params[None])
    res["ranks_identical"] = bool(torch.equal(both[0], both[1]))
    res["summary"] = {k: summary[k] for k in ("mle_nll_oracle", "seqgan_nll_oracle", "mle_nll_test",
                                              "seqgan_nll_test", "world_size")}
    if p.is_main:  # the same trainer in one process
        single = trainer(Parallel())
        ref = single.run()
        res["max_param_diff_vs_one_process"] = float((flat(single.generator, single.discriminator,
                                                           single.baseline_generator) - params).abs().max())
        res["single_summary"] = {k: ref[k] for k in res["summary"] if k != "world_size"}
    # 3. the DDP trap: a loss computed on the bare module is not synchronised, so the ranks drift apart
    g2, _ = models(3)
    agent = ReinforceAgent(g2, ReinforceConfig(batch_size=8, backend="torch"))
    agent.bind(g2, p)  # the bare module instead of the trainer's DDP wrapper
    tokens = torch.randint(0, V, (4, T), generator=torch.Generator().manual_seed(100 + p.rank))
    agent.update(tokens, torch.rand(4, T, generator=torch.Generator().manual_seed(p.rank)), global_batch=8)
    both = p.all_gather_rows(flat(g2)[None])
    res["bare_module_ranks_identical"] = bool(torch.equal(both[0], both[1]))
    with open(os.path.join(out, f"rank{p.rank}.json"), "w") as fh:
        json.dump(res, fh)


def die(out: str, p: Parallel) -> None:
    if p.rank == 1:
        os._exit(0)  # a rank that dies without a word
    t0 = time.perf_counter()
    try:
        p.all_reduce_sum(torch.ones(3))
        res = {"error": None}
    except DistributedError as exc:
        res = {"error": str(exc)}
    res["seconds"] = time.perf_counter() - t0
    with open(os.path.join(out, "rank0.json"), "w") as fh:
        json.dump(res, fh)


if __name__ == "__main__":
    out_dir, mode = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    parallel = Parallel.from_env(timeout_s=30)
    assert parallel.world_size == 2, parallel
    {"train": train, "die": die}[mode](out_dir, parallel)
    if mode == "train":
        parallel.close()
    _ = streams  # (imported so a failure to import the module shows here)
