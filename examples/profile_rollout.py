"""Profile the Monte Carlo rollout reward: the ports' loop structure, batched PyTorch and the fused Triton kernel.

Each implementation computes Q_t for a batch of B sequences (N rollouts per prefix, prefixes t = 1..T-1, so
B*N*(T-1) rollouts) and is timed twice: the rollouts alone (prefix states + sampling), and with the
discriminator (the full reward). Implementations:

* ``loop``: the public ports' structure: Python loops over n and t, the prefix re-run and one LSTM step per call
  (``torch.multinomial``), one discriminator call of batch B per (n, t).
* ``torch``: all rollouts as one batch through the ``"torch"`` backend (``seqgan_env.kernels.rollout_reference``,
  the kernel's Philox-exact PyTorch twin and the CPU path), eager.
* ``torch-graph``: batched PyTorch with static shapes (inverse-CDF sampling, ``torch.rand``) captured as one CUDA
  graph (GPU only).
* ``triton[-BR]``: the fused kernel (GPU only), for each ``--block-r``.

The batched implementations score with ``seqgan_env.kernels.disc_score`` (``--d-precision``). Medians: GPU with
``triton.testing.do_bench`` (CUDA events as a fallback), CPU with ``time.perf_counter``.

    python examples/profile_rollout.py                      # paper config on GPU, a small one on CPU
    python examples/profile_rollout.py --vocab 5000 --batch 64 --rollouts 16 --length 20 --json out.json
    python examples/profile_rollout.py --trace traces/      # torch.profiler chrome traces, one per implementation
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

from seqgan_env.checks import check_int, resolve_device
from seqgan_env.cli import ArgumentParser, UsageError, run_cli
from seqgan_env.config import PAPER_FILTER_SIZES, PAPER_NUM_FILTERS, DiscriminatorConfig, GeneratorConfig
from seqgan_env.discriminator import Discriminator
from seqgan_env.generator import Generator, LSTMWeights, lstm_cell
from seqgan_env.kernels import (
    compiled_resources,
    derive_seeds,
    disc_score,
    rollout_reference,
    triton_available,
    triton_rollout,
)
from seqgan_env.kernels.disc_score import _precision, score_unchecked

PAPER = {"vocab": 5000, "hidden": 32, "batch": 64, "rollouts": 16, "length": 20}
CPU_DEFAULT = {"vocab": 1000, "hidden": 32, "batch": 8, "rollouts": 4, "length": 20}

Fn = Callable[[], Tensor]


# ---------------------------------------------------------------------------------------------------- timing
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_ms(fn: Fn, device: torch.device, repeats: int) -> tuple[float, float]:
    """(median, min) wall time of ``fn`` in ms (do_bench / CUDA events on GPU, perf_counter on CPU)."""
    if device.type == "cuda":
        if triton_available():
            from triton.testing import do_bench

            res = do_bench(fn, warmup=25, rep=100, quantiles=[0.5, 0.0])
            return float(res[0]), float(res[1])
        fn()
        times = []
        for _ in range(max(repeats, 3)):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            torch.cuda.synchronize()
            times.append(a.elapsed_time(b))
        return statistics.median(times), min(times)
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times)


# ---------------------------------------------------------------------------------------------------- implementations
def prefix_states_unchecked(w: LSTMWeights, seqs: Tensor, start_token: int = 0) -> tuple[Tensor, Tensor]:
    """Prefix states (B, T+1, H) of every prefix, without host synchronisation (CUDA-graph capturable)."""
    b = seqs.shape[0]
    hid = w.w_hh.shape[-1]
    h = torch.zeros(b, hid, device=seqs.device)
    c = torch.zeros_like(h)
    h, c = lstm_cell(w.emb[torch.full_like(seqs[:, 0], start_token)], h, c, w.w_ih, w.w_hh, w.bias)
    hs, cs = [h], [c]
    for t in range(seqs.shape[1]):
        h, c = lstm_cell(w.emb[seqs[:, t]], h, c, w.w_ih, w.w_hh, w.bias)
        hs.append(h)
        cs.append(c)
    return torch.stack(hs, 1), torch.stack(cs, 1)


def expand_rows(g: Generator, seqs: Tensor, n: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The rows of ``RolloutReward.q_values``: (rows (R, T), starts (R,), h0, c0), R = B*(T-1)*N (row-minor n)."""
    b, t_len = seqs.shape
    w = g.weights()
    hs, cs = prefix_states_unchecked(w, seqs, g.config.start_token)
    starts = torch.arange(1, t_len, device=seqs.device).repeat(b)
    bi = torch.arange(b, device=seqs.device).repeat_interleave(t_len - 1)
    h0 = hs[bi, starts].repeat_interleave(n, 0)
    c0 = cs[bi, starts].repeat_interleave(n, 0)
    return seqs[bi].repeat_interleave(n, 0), starts.repeat_interleave(n, 0), h0, c0


def batched(g: Generator, seqs: Tensor, n: int, backend: Callable[..., Tensor], score: Callable[[Tensor], Tensor]):
    """(rollout-only fn, full-reward fn) for a batched backend."""
    b, t_len = seqs.shape

    seeds = derive_seeds(1234, torch.arange(b)).to(seqs.device).repeat_interleave((t_len - 1) * n)
    ids = torch.arange(n, device=seqs.device).repeat(b * (t_len - 1))

    def rollout() -> Tensor:
        rows, starts, h0, c0 = expand_rows(g, seqs, n)
        return backend(g.weights(), rows, starts, h0, c0, seeds=seeds, rollout_ids=ids)

    def full() -> Tensor:
        rolled = rollout()
        q = score(rolled).view(b, t_len - 1, n).mean(-1)
        return torch.cat([q, score(seqs).view(b, 1)], dim=1)

    return rollout, full


def loop_structure(g: Generator, d: Discriminator, seqs: Tensor, n: int):
    """The ports' structure: for n, for t: re-run the prefix, then one LSTM step per call; D per (n, t)."""
    b, t_len = seqs.shape
    w = g.weights()

    def one(with_d: bool) -> Tensor:
        q = torch.zeros(b, t_len, device=seqs.device)
        for _ in range(n):
            for t in range(1, t_len):
                h = torch.zeros(b, w.w_hh.shape[-1], device=seqs.device)
                c = torch.zeros_like(h)
                x = w.emb[torch.full((b,), g.config.start_token, device=seqs.device, dtype=torch.long)]
                out = seqs.clone()
                for p in range(t_len):
                    h, c = lstm_cell(x, h, c, w.w_ih, w.w_hh, w.bias)
                    if p >= t:
                        probs = torch.softmax(h @ w.w_out.T + w.b_out, dim=-1)
                        out[:, p] = torch.multinomial(probs, 1).squeeze(1)
                    x = w.emb[out[:, p]]
                if with_d:
                    q[:, t - 1] += d.prob_real(out) / n
        if with_d:
            q[:, -1] = d.prob_real(seqs)
        return q

    return (lambda: one(False)), (lambda: one(True))


def static_torch_rollout(w: LSTMWeights, rows: Tensor, starts: Tensor, h0: Tensor, c0: Tensor) -> Tensor:
    """Batched rollouts with static shapes (every row steps every position, masked): CUDA-graph capturable."""
    out = rows.clone()
    h, c = h0, c0
    for p in range(rows.shape[1]):
        active = (starts <= p)[:, None]
        cdf = torch.softmax(h @ w.w_out.T + w.b_out, dim=-1).cumsum(dim=-1)
        u = torch.rand(cdf.shape[0], 1, device=cdf.device) * cdf[:, -1:]
        tok = torch.searchsorted(cdf, u, right=True).squeeze(1).clamp_(max=cdf.shape[-1] - 1)
        out[:, p] = torch.where(active[:, 0], tok, out[:, p])
        h_new, c_new = lstm_cell(w.emb[tok], h, c, w.w_ih, w.w_hh, w.bias)
        h = torch.where(active, h_new, h)
        c = torch.where(active, c_new, c)
    return out


def cuda_graph(g: Generator, seqs: Tensor, n: int, d: Discriminator, precision: str):
    """(rollout-only, full) replays of two captured CUDA graphs of the static batched PyTorch reward."""
    b, t_len = seqs.shape

    def rollout() -> Tensor:
        rows, starts, h0, c0 = expand_rows(g, seqs, n)
        return static_torch_rollout(g.weights(), rows, starts, h0, c0)

    def full() -> Tensor:
        rolled = rollout()
        with _precision(precision, seqs.device):
            q = score_unchecked(d.score_weights(), rolled).view(b, t_len - 1, n).mean(-1)
            return torch.cat([q, score_unchecked(d.score_weights(), seqs).view(b, 1)], dim=1)

    replays = []
    for fn in (rollout, full):
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):
                fn()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_out = fn()
        replays.append((graph, static_out))
    return tuple((lambda gr=gr, o=o: (gr.replay(), o)[1]) for gr, o in replays)


# ---------------------------------------------------------------------------------------------------- main
def build(args: argparse.Namespace, device: torch.device) -> tuple[Generator, Discriminator, Tensor]:
    g = Generator(
        GeneratorConfig(vocab_size=args.vocab, emb_dim=args.emb or args.hidden, hidden_dim=args.hidden,
                        seq_len=args.length),
        seed=0,
    ).to(device)
    keep = [(k, f) for k, f in zip(PAPER_FILTER_SIZES, PAPER_NUM_FILTERS) if k <= args.length]
    dcfg = DiscriminatorConfig(
        vocab_size=args.vocab, seq_len=args.length, filter_sizes=tuple(k for k, _ in keep),
        num_filters=tuple(f for _, f in keep),
    )
    d = Discriminator(dcfg, seed=0).to(device).eval()
    g.requires_grad_(False)
    d.requires_grad_(False)
    seqs = g.sample(args.batch, seed=0)
    return g, d, seqs


def main(argv: list[str] | None = None) -> dict:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vocab", type=int, help="V (GPU default 5000, CPU 1000)")
    ap.add_argument("--hidden", type=int, help="H (default 32)")
    ap.add_argument("--emb", type=int, default=None, help="E (default: = hidden)")
    ap.add_argument("--batch", type=int, help="B (GPU default 64, CPU 8)")
    ap.add_argument("--rollouts", type=int, help="N (GPU default 16, CPU 4)")
    ap.add_argument("--length", type=int, help="T (default 20)")
    ap.add_argument("--device", default=None, help="cuda or cpu (default: cuda if available)")
    ap.add_argument("--d-precision", default=None, choices=["fp32", "tf32", "bf16"],
                    help="discriminator scoring precision (GPU default tf32, CPU fp32)")
    ap.add_argument("--precision", default="tf32", choices=["ieee", "tf32", "tf32x3"], help="Triton dot precision")
    ap.add_argument("--block-r", default="16,32,64", help="comma-separated Triton BLOCK_R values to time")
    ap.add_argument("--num-warps", default="8", help="comma-separated Triton num_warps values to time (with each "
                    "--block-r)")
    ap.add_argument("--d-sweep", action="store_true", help="also time D alone on the B*N*(T-1) rollout rows in "
                    "fp32, tf32 and bf16, each against float64 (max |dD|)")
    ap.add_argument("--repeats", type=int, default=5, help="CPU timing repeats (median; the loop uses half, >= 3)")
    ap.add_argument("--skip", default="", help="comma-separated implementations to skip (e.g. loop)")
    ap.add_argument("--json", type=Path, default=None, help="write the figures to this JSON file")
    ap.add_argument("--trace", type=Path, default=None, help="write torch.profiler chrome traces into this folder")
    args = ap.parse_args(argv)
    for name in ("vocab", "hidden", "emb", "batch", "rollouts", "length", "repeats"):
        if getattr(args, name) is not None:
            check_int(f"--{name}", getattr(args, name), minimum=2 if name == "length" else 1)
    for name in ("block_r", "num_warps"):
        for v in getattr(args, name).split(","):
            if not v.strip().isdigit() or int(v) < 1:
                raise UsageError(f"--{name.replace('_', '-')} {getattr(args, name)!r}: pass whole numbers >= 1 "
                                 "separated by commas, e.g. 16,32.")

    device = resolve_device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"), "--device")
    defaults = PAPER if device.type == "cuda" else CPU_DEFAULT
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    d_prec = args.d_precision or ("tf32" if device.type == "cuda" else "fp32")
    torch.manual_seed(0)
    g, d, seqs = build(args, device)
    n = args.rollouts
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    def score(tokens: Tensor) -> Tensor:
        return disc_score(d.score_weights(), tokens, precision=d_prec)

    impls: dict[str, tuple[Fn, Fn] | str] = {}
    impls["loop"] = loop_structure(g, d, seqs, n)
    impls["torch"] = batched(g, seqs, n, rollout_reference, score)
    if device.type == "cuda":
        try:
            impls["torch-graph"] = cuda_graph(g, seqs, n, d, d_prec)
        except Exception as exc:  # report, keep profiling the rest
            impls["torch-graph"] = f"capture failed: {type(exc).__name__}: {exc}"
    else:
        impls["torch-graph"] = "skipped: CUDA graphs need a GPU"
    if device.type == "cuda" and triton_available():
        warps = [int(x) for x in args.num_warps.split(",") if x.strip()]
        for br in [int(x) for x in args.block_r.split(",") if x.strip()]:
            for nw in warps:
                def kern(*a, br=br, nw=nw, **kw):
                    return triton_rollout(*a, block_r=br, num_warps=nw, precision=args.precision, **kw)
                name = f"triton-{br}" if len(warps) == 1 else f"triton-{br}-w{nw}"
                impls[name] = batched(g, seqs, n, kern, score)
    else:
        impls["triton"] = "skipped: the Triton kernel needs CUDA here (the CPU interpreter is for tests only)"

    rows = []
    for name, impl in impls.items():
        if name in skip:
            continue
        if isinstance(impl, str):
            rows.append({"impl": name, "rollout_ms": None, "reward_ms": None, "note": impl})
            print(f"{name:>14}: {impl}", flush=True)
            continue
        entry: dict = {"impl": name, "note": ""}
        for key, fn in zip(("rollout_ms", "reward_ms"), impl):
            try:
                reps = args.repeats if name != "loop" else max(3, args.repeats // 2)
                entry[key], entry[key.replace("_ms", "_min_ms")] = time_ms(fn, device, reps)
            except Exception as exc:
                entry[key] = entry[key.replace("_ms", "_min_ms")] = None
                entry["note"] = f"{type(exc).__name__}: {exc}"[:200]
        rows.append(entry)
        print(f"{name:>14}: rollout {entry['rollout_ms']} ms, reward {entry['reward_ms']} ms {entry['note']}",
              flush=True)

    base = next((r for r in rows if r["impl"] == "loop" and r["rollout_ms"]), None)
    torch_row = next((r for r in rows if r["impl"] == "torch" and r["rollout_ms"]), None)
    for r in rows:
        for key in ("rollout_ms", "reward_ms"):
            val = r.get(key)
            for ref_row, tag in ((base, "vs_loop"), (torch_row, "vs_torch")):
                ok = val and ref_row and ref_row.get(key)
                r[f"{key[:-3]}_{tag}"] = (ref_row[key] / val) if ok else None

    cfg = {k: getattr(args, k) for k in ("vocab", "hidden", "batch", "rollouts", "length")}
    cfg["emb"] = args.emb or args.hidden
    cfg["num_rollout_rows"] = args.batch * args.rollouts * (args.length - 1)
    dev_name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    header = (
        f"device {dev_name} ({device.type}), torch {torch.__version__}, "
        f"config V={cfg['vocab']} E={cfg['emb']} H={cfg['hidden']} B={cfg['batch']} N={cfg['rollouts']} "
        f"T={cfg['length']} ({cfg['num_rollout_rows']} rollouts), D precision {d_prec}, "
        f"timer {'do_bench median' if device.type == 'cuda' else f'perf_counter median of {args.repeats}'}"
    )
    if device.type == "cpu" and hasattr(os, "getloadavg"):
        header += f", load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    print("\n" + header)
    print(_table(rows))

    if args.trace is not None:
        args.trace.mkdir(parents=True, exist_ok=True)
        from torch.profiler import ProfilerActivity, profile

        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
        for name, impl in impls.items():
            if isinstance(impl, str) or name == "loop" or name in skip:
                continue
            with profile(activities=acts) as prof:
                impl[1]()
                _sync(device)
            prof.export_chrome_trace(str(args.trace / f"{name}.json"))
        print(f"traces written to {args.trace}/")

    d_rows = d_precision_sweep(d, seqs, n, device) if args.d_sweep else []
    for r in d_rows:
        print(f"D alone, {r['precision']:>4}: {r['ms']:.3f} ms (min {r['min_ms']:.3f}), max |dD| vs float64 "
              f"{r['max_abs_err']:.2e} (mean {r['mean_abs_err']:.2e}) on {r['rows']} rows")
    resources = compiled_resources()
    for r in resources:
        print(f"compiled rollout kernel: block_r={r['block_r']} num_warps={r['num_warps']}: {r['registers']} "
              f"registers, {r['spills']} spills, {r['shared_bytes']} B shared (limit {r['shared_limit_bytes']})")
    result = {"config": cfg, "device": dev_name, "device_type": device.type, "torch": torch.__version__,
              "d_precision": d_prec, "triton_precision": args.precision, "results": rows,
              "d_alone": d_rows, "kernel_resources": resources}
    try:
        import triton

        result["triton"] = triton.__version__
    except ImportError:
        result["triton"] = None
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return result


def d_precision_sweep(d: Discriminator, seqs: Tensor, n: int, device: torch.device) -> list[dict]:
    """D alone on B*N*(T-1) random rows shaped like the rollouts: time per precision, error against float64."""
    g = torch.Generator(device="cpu").manual_seed(1)
    rows = seqs.shape[0] * n * (seqs.shape[1] - 1)
    tokens = torch.randint(0, d.vocab_size, (rows, seqs.shape[1]), generator=g).to(device)
    d.eval()
    with torch.no_grad():
        ref = disc_score(d.double().score_weights(), tokens, precision="fp32").double()
    d.float()
    out = []
    for prec in ("fp32", "tf32", "bf16"):
        weights = d.score_weights()
        got = disc_score(weights, tokens, precision=prec).double()
        ms, min_ms = time_ms(lambda w=weights, p=prec: disc_score(w, tokens, precision=p), device, 5)
        err = (got - ref).abs()
        out.append({"precision": prec, "rows": rows, "ms": ms, "min_ms": min_ms,
                    "max_abs_err": float(err.max()), "mean_abs_err": float(err.mean())})
    return out


def _fmt(x: float | None, ratio: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.1f}x" if ratio else f"{x:.2f}"


def _table(rows: list[dict]) -> str:
    head = (
        "| implementation | rollout ms (min) | rollout+D ms (min) | rollout vs loop | +D vs loop | +D vs torch | note |"
    )
    lines = [head, "|" + "---|" * 7]
    for r in rows:
        lines.append(
            f"| {r['impl']} | {_fmt(r['rollout_ms'])} ({_fmt(r.get('rollout_min_ms'))}) | "
            f"{_fmt(r['reward_ms'])} ({_fmt(r.get('reward_min_ms'))}) | "
            f"{_fmt(r.get('rollout_vs_loop'), True)} | {_fmt(r.get('reward_vs_loop'), True)} | "
            f"{_fmt(r.get('reward_vs_torch'), True)} | {r['note']} |"
        )
    return "\n".join(lines)


def cli(argv: list[str] | None = None) -> int:
    """The command line: a bad flag or value is one ``error: ...`` line and exit code 2."""
    return run_cli(lambda a: (main(a), 0)[1], argv)


if __name__ == "__main__":
    raise SystemExit(cli())
