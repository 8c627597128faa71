"""Compile the rollout kernel for a GPU target without a GPU, as the JIT would, and report its resources.

The interpreter checks neither registers nor shared memory, so ``tests/kernels/test_kernel_compile.py`` compiles
for sm_90 (H100/H200) with the ptxas bundled in the triton wheel. To get the binary the JIT really runs, the
arguments go through the JIT's own binder (``create_function_from_signature`` + ``_pack_args``), which adds the
alignment (pointers 16-byte aligned) and divisibility (integers divisible by 16) specialisations and turns
integers equal to 1 into constants; compiling from a hand-written signature misses them and gives another binary.

Needs triton >= 3.9 (these are JIT internals) and a process where ``TRITON_INTERPRET`` was unset at the first
``import triton``. Run as a script it prints one JSON line::

    python -m seqgan_env.kernels._compile --hidden 32 --block-r 16
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from typing import Any

import torch

__all__ = ["compile_rollout_kernel"]


def compile_rollout_kernel(
    *, vocab: int = 5000, emb: int = 32, hidden: int = 32, seq_len: int = 20, rows: int = 19_456,
    block_r: int | None = None, block_v: int = 256, precision: str = "tf32", num_warps: int | None = None,
    num_stages: int | None = None, arch: int = 90,
) -> dict[str, Any]:
    """Compile ``mc_rollout_kernel`` for ``sm_<arch>`` with the JIT's specialisations for these sizes.

    Returns ``{"regs", "spills" (stack bytes per thread), "shared" (bytes), "attrs" (the specialisations)}``.
    """
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource, make_backend
    from triton.runtime.jit import create_function_from_signature

    from ._loader import load_kernel_module
    from .rollout import DEFAULT_BLOCK_R, DEFAULT_NUM_STAGES, DEFAULT_NUM_WARPS, _next_pow2

    block_r = DEFAULT_BLOCK_R if block_r is None else block_r

    kernel = load_kernel_module("rollout_triton").mc_rollout_kernel
    # Small tensors stand in for the real ones: only their dtypes and 16-byte alignment enter the binary.
    i64, f32 = torch.zeros(16, dtype=torch.int64), torch.zeros(16, dtype=torch.float32)
    args = (
        i64, i64, f32, f32, i64, i64, i64, i64,
        f32, f32, f32, f32, f32, f32,
        rows, seq_len, vocab, emb, hidden, math.ceil(vocab / block_v), 1.0,
    )
    kwargs: dict[str, Any] = dict(
        BLOCK_R=block_r, BLOCK_V=block_v, BLOCK_E=max(16, _next_pow2(emb)), BLOCK_H=max(16, _next_pow2(hidden)),
        BLOCK_T=max(16, _next_pow2(seq_len)), PRECISION=precision,
        num_warps=DEFAULT_NUM_WARPS if num_warps is None else num_warps,
        num_stages=DEFAULT_NUM_STAGES if num_stages is None else num_stages,
        debug=False,
    )
    target = GPUTarget("cuda", arch, 32)
    backend = make_backend(target)
    binder = create_function_from_signature(kernel.signature, kernel.params, backend)
    bound_args, specialization, options = binder(*args, **kwargs)
    options, signature, constexprs, attrs = kernel._pack_args(backend, kwargs, bound_args, specialization, options)
    compiled = triton.compile(ASTSource(kernel, signature, constexprs, attrs), target=target,
                              options=options.__dict__)
    cuobjdump = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", "cuobjdump")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "k.cubin")
        with open(path, "wb") as fh:
            fh.write(compiled.asm["cubin"])
        usage = subprocess.run([cuobjdump, "--dump-resource-usage", path], capture_output=True, text=True).stdout
    regs = re.search(r"REG:(\d+)", usage)
    stack = re.search(r"STACK:(\d+)", usage)
    return {
        "regs": int(regs.group(1)) if regs else None,
        "spills": int(stack.group(1)) if stack else None,
        "shared": int(compiled.metadata.shared),
        "attrs": {str(k): v for k, v in attrs.items()},
        "usage": usage.strip(),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--vocab", type=int, default=5000)
    p.add_argument("--emb", type=int, default=32)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--length", type=int, default=20)
    p.add_argument("--rows", type=int, default=19_456)
    p.add_argument("--block-r", type=int, default=None, help="rows per program (default: the launcher's)")
    p.add_argument("--block-v", type=int, default=256)
    p.add_argument("--precision", default="tf32")
    p.add_argument("--num-warps", type=int, default=None)
    p.add_argument("--num-stages", type=int, default=None)
    p.add_argument("--arch", type=int, default=90)
    a = p.parse_args(argv)
    info = compile_rollout_kernel(
        vocab=a.vocab, emb=a.emb, hidden=a.hidden, seq_len=a.length, rows=a.rows, block_r=a.block_r,
        block_v=a.block_v, precision=a.precision, num_warps=a.num_warps, num_stages=a.num_stages, arch=a.arch,
    )
    print("RESULT " + json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
