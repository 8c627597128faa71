"""How often float rounding of the in-tile CDF changes a draw: the kernel's float32 scan against the reference.

The reference (``sample_tiles``, the ``"torch"`` backend) builds each tile's CDF with ``torch.cumsum``, which on
CPU accumulates float32 in float64; the Triton kernel's ``tl.cumsum`` is a float32 scan (the interpreter uses
numpy's sequential float32 ``cumsum``). This script feeds both CDFs the same logits and the same keyed uniforms
and counts the draws that differ. The logits are the next-token logits of a paper-size generator (V=5000, E=H=32,
N(0, 0.1) init, or MLE-trained when ``--checkpoint`` is given) at random prefixes.

    python benchmarks/cdf_rounding.py --draws 200000 --json benchmarks/results/cdf_rounding.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math

import numpy as np
import torch

from seqgan_env import Generator
from seqgan_env.cli import ArgumentParser, run_cli
from seqgan_env.kernels import derive_seeds, rollout_uniforms, sample_tiles


def sample_tiles_float32_scan(logits: torch.Tensor, u_pick: torch.Tensor, u_acc: torch.Tensor, bv: int) -> torch.Tensor:
    """``sample_tiles`` with the in-tile CDF accumulated sequentially in float32 (numpy), as the kernel's scan."""
    r, v = logits.shape
    nt = math.ceil(v / bv)
    lp = torch.full((r, nt * bv), float("-inf"))
    lp[:, :v] = logits
    lp = lp.view(r, nt, bv)
    m = torch.cummax(lp.amax(-1), dim=1).values
    m_safe = torch.where(m == float("-inf"), torch.zeros(()), m)
    e = (lp - m_safe[..., None]).exp()
    cs = torch.from_numpy(np.cumsum(e.numpy(), axis=-1, dtype=np.float32))
    s = cs[..., -1]
    cand = (cs <= (u_pick * s)[..., None]).sum(-1)
    cand = torch.minimum(cand, torch.clamp(v - torch.arange(nt) * bv, max=bv) - 1)
    z = torch.zeros(r)
    m_prev = torch.full((r,), float("-inf"))
    choice = torch.full((r,), -1, dtype=torch.long)
    for j in range(nt):
        z = z * torch.exp(m_prev - m_safe[:, j]) + s[:, j]
        choice = torch.where(u_acc[:, j] * z < s[:, j], j * bv + cand[:, j], choice)
        m_prev = m[:, j]
    return choice


@torch.no_grad()
def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", type=int, default=200_000)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    g = Generator(seed=0)
    differ, total = 0, 0
    chunk = 4096
    for i in range(0, args.draws, chunk):
        n = min(chunk, args.draws - i)
        prefixes = g.sample(n, seed=1000 + i)
        h, _ = g.prefix_states(prefixes)
        pos = torch.randint(0, 20, (n,), generator=torch.Generator().manual_seed(i))
        logits = h[torch.arange(n), pos] @ g.out.weight.T + g.out.bias
        seeds = derive_seeds(7, torch.arange(i, i + n))
        zeros = torch.zeros(n, dtype=torch.long)
        u_pick, u_acc = rollout_uniforms(seeds, zeros, zeros, 0, math.ceil(5000 / 256))
        a = sample_tiles(logits, u_pick, u_acc, 256)
        b = sample_tiles_float32_scan(logits, u_pick, u_acc, 256)
        differ += int((a != b).sum())
        total += n
    result = {"draws": total, "differ": differ, "rate": differ / total,
              "date_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "command": f"python benchmarks/cdf_rounding.py --draws {args.draws}"}
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
