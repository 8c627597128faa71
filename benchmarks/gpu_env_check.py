"""On a GPU: the env's and the vector env's rewards run the fused kernel, and agree with the PyTorch reference.

``gym.make("SeqGAN-v0", device="cuda", reward_backend="triton")`` and ``gym.make_vec(..., num_envs=8)`` are stepped
through one episode beside the same envs with ``reward_backend="torch"``; the kernel's launches are counted and the
rollouts each scored batch holds are compared row by row (the kernel's float32 CDF scan and the reference's may pick
different tokens on about 3e-5 of draws, so >= 99 % of rows must be equal token for token, and the rewards close).
Needs Gymnasium (the GPU image has none: carry its wheel). Prints one JSON line; exit code 1 on a failed check.

    python benchmarks/gpu_env_check.py
    TRITON_INTERPRET=1 python benchmarks/gpu_env_check.py --id SeqGAN-tiny-v0 --device cpu --rollouts 2  # CPU smoke
"""

from __future__ import annotations

import json
import sys

import numpy as np
import torch

from seqgan_env.cli import ArgumentParser, run_cli


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--id", default="SeqGAN-v0")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--rollouts", type=int, default=16)
    a = ap.parse_args(argv)
    import gymnasium as gym

    from seqgan_env.kernels._loader import load_kernel_module

    if a.device == "cuda" and not torch.cuda.is_available():
        print("gpu_env_check: CUDA is not available", file=sys.stderr)
        return 2
    mod = load_kernel_module("rollout_triton")
    real = mod.mc_rollout_kernel
    launches = [0]

    class Spy:
        def __getitem__(self, grid):
            launches[0] += 1
            return real[grid]

        def __getattr__(self, name):
            return getattr(real, name)

    mod.mc_rollout_kernel = Spy()
    result: dict = {}
    ok = True
    kw = dict(num_rollouts=a.rollouts, seed=0, reward_mode="mc", device=a.device)
    rng = np.random.default_rng(0)
    for kind in ("env", "vector_env"):
        envs, seen = {}, {}
        for b in ("triton", "torch"):
            e = gym.make(a.id, reward_backend=b, **kw) if kind == "env" else \
                gym.make_vec(a.id, num_envs=8, reward_backend=b, **kw)
            rr = e.unwrapped.rollout_reward if kind == "env" else e.rollout_reward
            assert rr.backend == b, (kind, b, rr.backend)
            seen[b] = []
            score = rr.score

            def spy(tokens, score=score, store=seen[b]):
                store.append(tokens.clone())
                return score(tokens)

            rr.score = spy
            envs[b] = e
        t_len = envs["torch"].unwrapped.seq_len if kind == "env" else envs["torch"].seq_len
        vocab = envs["torch"].unwrapped.vocab_size if kind == "env" else envs["torch"].vocab_size
        actions = rng.integers(0, vocab, size=(t_len, 8))
        rewards = {}
        for b, e in envs.items():
            before = launches[0]
            e.reset(seed=3)
            rewards[b] = [np.asarray(e.step(a[0] if kind == "env" else a)[1]) for a in actions]
            result[f"{kind}_{b}_launches"] = launches[0] - before
        rows = equal = 0
        for x, y in zip(seen["triton"], seen["torch"]):
            rows += x.shape[0]
            equal += int((x == y).all(dim=1).sum())
        frac = equal / max(rows, 1)
        dr = float(np.max(np.abs(np.stack(rewards["triton"]) - np.stack(rewards["torch"]))))
        result[f"{kind}_rows_equal"] = frac
        result[f"{kind}_rows"] = rows
        result[f"{kind}_max_reward_diff"] = dr
        ok &= result[f"{kind}_triton_launches"] == t_len - 1 and result[f"{kind}_torch_launches"] == 0
        ok &= frac >= 0.99
    result["ok"] = bool(ok)
    print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
