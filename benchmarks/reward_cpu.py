"""Batched PyTorch Monte Carlo reward vs plain loops, on CPU.

Three ways to compute the paper's Q_t for a batch of B finished sequences (B*(T-1)*N rollouts):

* ``batched``: ``RolloutReward.q_values`` (backend "torch"): every rollout of every prefix is one batch of rows,
  prefix LSTM states computed once and shared by the N rollouts, the discriminator scored in chunks of 4,096.
* ``plain_loop``: loop over b, t, n; one rollout at a time, one LSTM step (batch 1) per call, one discriminator
  call (batch 1) per rollout. At the paper size it is timed on a measured fraction of the sequences
  (``--loop-seqs``) and extrapolated linearly to B (the work per sequence is the same for every b).
* ``ports_loop``: the public ports' structure (LantaoYu/SeqGAN, its PyTorch ports): for n in N, for t in T-1,
  complete all B prefixes of length t (one LSTM step of batch B per call) and score them (D of batch B).

Then, at the paper config, the discriminator's scoring precision (``RolloutReward(score_precision=...)``): the
batched reward with fp32, tf32 (no effect on CPU) and bf16 scoring (autocast; oneDNN uses AMX where the CPU has it),
each against the same rollouts scored by the discriminator in float64 (max |dQ|), and D alone on 4,096
paper-size sequences (time and max |dD| against float64).

Usage: ``python benchmarks/reward_cpu.py --json results.json [--skip-paper] [--loop-seqs 2] [--threads 1]``
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import platform
import sys
import time

import torch

from seqgan_env import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig
from seqgan_env.cli import ArgumentParser, run_cli
from seqgan_env.generator import lstm_cell
from seqgan_env.kernels import disc_score
from seqgan_env.rewards import RolloutReward


@torch.no_grad()
def plain_loop(g: Generator, d: Discriminator, seqs: torch.Tensor, n_roll: int, rng: torch.Generator) -> torch.Tensor:
    """Q (B, T) rollout by rollout: loop over b, t, n; one LSTM step (batch 1) and one D call per rollout."""
    w = g.weights()
    b_size, t_len = seqs.shape
    hdim = g.config.hidden_dim
    out = torch.zeros(b_size, t_len)
    for b in range(b_size):
        for t in range(1, t_len):
            total = 0.0
            for _ in range(n_roll):
                h, c = torch.zeros(1, hdim), torch.zeros(1, hdim)
                h, c = lstm_cell(w.emb[g.config.start_token][None], h, c, w.w_ih, w.w_hh, w.bias)
                y = seqs[b, :t].tolist()
                for tok in y:
                    h, c = lstm_cell(w.emb[tok][None], h, c, w.w_ih, w.w_hh, w.bias)
                for _p in range(t, t_len):
                    cdf = torch.softmax(h @ w.w_out.T + w.b_out, -1).cumsum(-1)
                    u = torch.rand(1, 1, generator=rng) * cdf[:, -1:]
                    tok = int(torch.searchsorted(cdf, u, right=True).clamp_(max=cdf.shape[-1] - 1))
                    y.append(tok)
                    h, c = lstm_cell(w.emb[tok][None], h, c, w.w_ih, w.w_hh, w.bias)
                total += float(d.prob_real(torch.tensor([y]))[0])
            out[b, t - 1] = total / n_roll
        out[b, t_len - 1] = float(d.prob_real(seqs[b : b + 1])[0])
    return out


@torch.no_grad()
def ports_loop(g: Generator, d: Discriminator, seqs: torch.Tensor, n_roll: int, rng: torch.Generator) -> torch.Tensor:
    """Q (B, T) as the reference code and its ports: for n, for t: roll out all B prefixes, score with D."""
    b_size, t_len = seqs.shape
    out = torch.zeros(b_size, t_len)
    h_all, c_all = g.prefix_states(seqs)
    for _ in range(n_roll):
        for t in range(1, t_len):
            y = g.sample(b_size, generator=rng, prefix=seqs[:, :t], state=(h_all[:, t], c_all[:, t]))
            out[:, t - 1] += d.prob_real(y, batch_size=b_size)
    out[:, : t_len - 1] /= n_roll
    out[:, t_len - 1] = d.prob_real(seqs)
    return out


def timed(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def run_config(name: str, v: int, t: int, b: int, n: int, *, paper_d: bool, loop_seqs: int | None,
               repeats: int) -> dict:
    g = Generator(GeneratorConfig(vocab_size=v, seq_len=t), seed=1)
    dcfg = DiscriminatorConfig.for_length(t, v)
    if not paper_d:
        import dataclasses

        dcfg = dataclasses.replace(dcfg, num_filters=tuple(max(1, k // 10) for k in dcfg.num_filters), emb_dim=16)
    d = Discriminator(dcfg, seed=2)
    seqs = g.sample(b, seed=3)
    rf = RolloutReward(g, d, n, backend="torch")
    rf.q_values(seqs[:2], seed=1)  # warm-up (allocator, thread pool) on two sequences
    batched = timed(lambda: rf.q_values(seqs, seed=0), repeats)
    ports = timed(lambda: ports_loop(g, d, seqs, n, torch.Generator().manual_seed(0)), 1)
    m = b if loop_seqs is None else min(loop_seqs, b)
    loop_measured = timed(lambda: plain_loop(g, d, seqs[:m], n, torch.Generator().manual_seed(0)), 1)[0]
    loop_full = loop_measured * b / m
    best = min(batched)
    return {
        "config": name,
        "vocab_size": v, "seq_len": t, "batch": b, "num_rollouts": n,
        "rollouts": b * (t - 1) * n,
        "discriminator_filters": dcfg.total_filters,
        "batched_s": batched, "batched_best_s": best, "batched_median_s": sorted(batched)[len(batched) // 2],
        "ports_loop_s": ports[0],
        "plain_loop_measured_seqs": m,
        "plain_loop_measured_s": loop_measured,
        "plain_loop_s": loop_full,
        "plain_loop_extrapolated": m < b,
        "ratio_plain_loop_over_batched": loop_full / best,
        "ratio_ports_loop_over_batched": ports[0] / best,
    }


@torch.no_grad()
def precision_study(repeats: int, d_rows: int = 4096) -> dict:
    """Paper config: the reward with each scoring precision against float64 scoring of the same rollouts."""
    v, t, b, n = 5000, 20, 64, 16
    g = Generator(GeneratorConfig(vocab_size=v, seq_len=t), seed=1)
    d = Discriminator(DiscriminatorConfig.for_length(t, v), seed=2)
    d64 = copy.deepcopy(d).double()
    seqs = g.sample(b, seed=3)
    exact = RolloutReward(g, d, n, backend="torch", score_fn=lambda y: d64.prob_real(y, batch_size=256).float())
    q64 = exact.q_values(seqs, seed=0)  # the same rollouts as below (same seeds), D in float64
    out: dict = {"config": "paper", "vocab_size": v, "seq_len": t, "batch": b, "num_rollouts": n,
                 "rollouts": b * (t - 1) * n, "reward": {}, "d_only": {"rows": d_rows}}
    for prec in ("fp32", "tf32", "bf16"):
        rf = RolloutReward(g, d, n, backend="torch", score_precision=prec)
        rf.q_values(seqs[:2], seed=1)  # warm-up
        times = timed(lambda rf=rf: rf.q_values(seqs, seed=0), repeats)
        q = rf.q_values(seqs, seed=0)
        out["reward"][prec] = {"times_s": times, "median_s": sorted(times)[len(times) // 2],
                               "max_abs_dq_vs_float64": float((q - q64).abs().max())}
        print(prec, out["reward"][prec], flush=True)
    tokens = torch.randint(0, v, (d_rows, t), generator=torch.Generator().manual_seed(5))
    exact_d = d64.prob_real(tokens, batch_size=256).float()
    w = d.score_weights()
    for prec in ("fp32", "tf32", "bf16"):
        disc_score(w, tokens[:256], precision=prec, batch_size=256)  # warm-up
        times = timed(lambda prec=prec: disc_score(w, tokens, precision=prec, batch_size=256), max(repeats, 3))
        got = disc_score(w, tokens, precision=prec, batch_size=256)
        out["d_only"][prec] = {"times_s": times, "median_s": sorted(times)[len(times) // 2],
                               "max_abs_dd_vs_float64": float((got - exact_d).abs().max()),
                               "mean_abs_dd_vs_float64": float((got - exact_d).abs().mean())}
        print("D only", prec, out["d_only"][prec], flush=True)
    for part in ("reward", "d_only"):
        base = out[part]["fp32"]["median_s"]
        for prec in ("tf32", "bf16"):
            out[part][prec]["speedup_vs_fp32"] = base / out[part][prec]["median_s"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", required=True, help="where to write the results")
    ap.add_argument("--skip-paper", action="store_true", help="only the small config")
    ap.add_argument("--loop-seqs", type=int, default=2, help="sequences the plain loop runs at the paper size")
    ap.add_argument("--repeats", type=int, default=2, help="timed repeats of the batched call")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    ap.add_argument("--machine", default="2-core CPU dev box", help="a name for the machine, stored in the JSON")
    args = ap.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    results = {
        "benchmark": "reward_cpu",
        "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
        "date_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": args.machine,
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "loadavg_before": os.getloadavg(),
        "configs": [],
    }
    results["configs"].append(
        run_config("small", 100, 10, 8, 4, paper_d=False, loop_seqs=None, repeats=max(args.repeats, 5))
    )
    print(json.dumps(results["configs"][-1], indent=1), flush=True)
    if not args.skip_paper:
        results["configs"].append(
            run_config("paper", 5000, 20, 64, 16, paper_d=True, loop_seqs=args.loop_seqs, repeats=args.repeats)
        )
        print(json.dumps(results["configs"][-1], indent=1), flush=True)
        results["precision"] = precision_study(args.repeats)
    results["loadavg_after"] = os.getloadavg()
    with open(args.json, "w") as f:
        json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
