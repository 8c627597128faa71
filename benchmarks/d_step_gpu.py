"""Where a discriminator training step's time goes (paper D, batch 64): the trainer's step against leaner variants.

Variants, each timed over whole passes of ``train_discriminator``-sized work (median ms per step):

* ``trainer``: ``seqgan_env.updates.train_discriminator`` as the trainer calls it (keyed dropout: the Philox mask
  built on the CPU per step; three host syncs per step for the loss, accuracy and finiteness check);
* ``trainer_unkeyed``: the same function without a stream key (torch's dropout, no CPU mask);
* ``bare``: forward, loss, backward, Adam step, no host sync (torch's dropout);
* ``bare_tf32``: ``bare`` with TF32 matmuls;
* ``graph``: ``bare`` captured in one CUDA graph (capturable Adam, static batch), replayed.

    python benchmarks/d_step_gpu.py --json d_step.json
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import torch

from seqgan_env.cli import ArgumentParser, run_cli
from seqgan_env.config import DiscriminatorConfig
from seqgan_env.discriminator import Discriminator
from seqgan_env.updates import make_discriminator_optimizer, train_discriminator


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _time(fn, steps: int, repeats: int = 3) -> float:
    fn()  # warm-up
    _sync()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync()
        out.append((time.perf_counter() - t0) * 1e3 / steps)
    return statistics.median(out)


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1280, help="real + fake rows per pass (steps = rows / 64)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--device", default="cuda", help="cuda (cpu only as a smoke test: no graph variant)")
    a = ap.parse_args(argv)
    dev = torch.device(a.device)
    d = Discriminator(DiscriminatorConfig(), seed=0).to(dev)
    opt = make_discriminator_optimizer(d)
    g = torch.Generator().manual_seed(0)
    shape = (a.rows // 2, d.seq_len)
    real = torch.randint(0, d.vocab_size, shape, generator=g).to(dev)
    fake = torch.randint(0, d.vocab_size, shape, generator=g).to(dev)
    steps = a.rows // 64
    res: dict = {"rows": a.rows, "steps_per_pass": steps, "torch": torch.__version__,
                 "gpu": torch.cuda.get_device_name() if dev.type == "cuda" else None}
    res["trainer_ms"] = _time(lambda: train_discriminator(d, opt, real, fake, epochs=1, key=123), steps)
    res["trainer_unkeyed_ms"] = _time(
        lambda: train_discriminator(d, opt, real, fake, epochs=1, rng=torch.Generator().manual_seed(1)), steps)
    x = torch.cat([real, fake])[:64].contiguous()
    y = torch.cat([torch.ones(32, dtype=torch.long), torch.zeros(32, dtype=torch.long)]).to(dev)

    def bare_step(optimizer: torch.optim.Optimizer) -> None:
        loss = d.loss_from_logits(d(x), y)
        optimizer.zero_grad(set_to_none=False)
        loss.backward()
        optimizer.step()

    def bare() -> None:
        for _ in range(steps):
            bare_step(opt)

    d.train()
    res["bare_ms"] = _time(bare, steps)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    res["bare_tf32_ms"] = _time(bare, steps)
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        if dev.type != "cuda":
            raise RuntimeError("CUDA graphs need a GPU")
        opt_c = torch.optim.Adam(d.parameters(), lr=d.config.lr, capturable=True)
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                bare_step(opt_c)
        torch.cuda.current_stream().wait_stream(s)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            bare_step(opt_c)

        def replay() -> None:
            for _ in range(steps):
                graph.replay()

        res["graph_ms"] = _time(replay, steps)
    except Exception as exc:  # noqa: BLE001  report and go on
        res["graph_ms"] = None
        res["graph_error"] = f"{type(exc).__name__}: {exc}"[:300]

    print(json.dumps(res))
    if a.json is not None:
        a.json.write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
