"""Data parallelism over ranks (``torch.distributed``, launched by ``torchrun``), as one small object.

:class:`Parallel` is what the trainer, the training steps and the agents see: the world size, this rank, how a
global batch of rows is split (:meth:`Parallel.shard`: contiguous blocks, rank r gets rows
``[r*n//K, (r+1)*n//K)``), sums over ranks, a gather of row blocks and the one DDP wrapper per trained module.
With one process (no ``torchrun``) it is the identity everywhere: no process group, no wrapper, no communication.

Every loss is computed from the wrapped module's ``forward`` (DDP synchronises gradients only for backward passes
through its own forward) and scaled so that DDP's gradient *average* over ranks equals the gradient of the loss of
the whole global batch: a rank's loss is ``(sum over its rows) / (global count) * world_size``. Every random draw is
keyed by global row (:mod:`seqgan_env.streams`), so K ranks compute what one process computes, up to the order of
floating-point sums.

    torchrun --standalone --nproc-per-node 2 examples/oracle_train.py --preset tiny      # gloo on CPU, nccl on GPU

A user script: ``parallel = Parallel.from_env()`` (initialises the process group when ``torchrun`` set
``WORLD_SIZE`` > 1), pass it to :class:`~seqgan_env.agents.AdversarialTrainer` (``parallel=``), and call
``parallel.close()`` at the end (it destroys the group it created). See ``docs/distributed.md``.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["Parallel", "DistributedError"]


class DistributedError(RuntimeError):
    """A collective failed: a peer rank died or did not arrive within the timeout."""


@dataclass
class Parallel:
    """The data-parallel context (see the module docstring). ``Parallel()`` is the single-process one."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    backend: str | None = None
    timeout_s: float = 600.0
    _owns_group: bool = field(default=False, repr=False)

    # ------------------------------------------------------------------ set-up
    @classmethod
    def from_env(cls, *, backend: str | None = None, timeout_s: float = 600.0) -> Parallel:
        """The context of this process: ``torchrun``'s ``WORLD_SIZE``/``RANK``/``LOCAL_RANK`` (initialising the
        process group, ``gloo`` on CPU and ``nccl`` on CUDA unless ``backend`` says otherwise, with a collective
        ``timeout_s``), an already initialised group, or the single-process context."""
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return cls(dist.get_world_size(), dist.get_rank(), int(os.environ.get("LOCAL_RANK", 0)),
                       dist.get_backend(), timeout_s)
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        if not dist.is_available():
            raise DistributedError("WORLD_SIZE > 1 but this torch build has no torch.distributed.")
        local = int(os.environ.get("LOCAL_RANK", "0"))
        backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
        if backend == "nccl":
            torch.cuda.set_device(local)
        dist.init_process_group(backend, timeout=dt.timedelta(seconds=timeout_s))
        return cls(dist.get_world_size(), dist.get_rank(), local, backend, timeout_s, _owns_group=True)

    def close(self) -> None:
        """Destroy the process group if :meth:`from_env` created it."""
        if self._owns_group:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
            self._owns_group = False

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that writes files and prints."""
        return self.rank == 0

    @property
    def device(self) -> torch.device:
        """The device this rank trains on: ``cuda:LOCAL_RANK`` with nccl, else the CPU."""
        return torch.device("cuda", self.local_rank) if self.backend == "nccl" else torch.device("cpu")

    # ------------------------------------------------------------------ splitting and communication
    def shard(self, n: int) -> tuple[int, int]:
        """This rank's block ``[lo, hi)`` of ``n`` global rows."""
        return n * self.rank // self.world_size, n * (self.rank + 1) // self.world_size

    def _collective(self, what: str, fn: Any) -> Any:
        try:
            return fn()
        except RuntimeError as exc:
            raise DistributedError(
                f"rank {self.rank}/{self.world_size}: {what} failed ({' '.join(str(exc).split())[:300]}); another "
                f"rank probably died or stalled (collective timeout {self.timeout_s:g} s). See its log."
            ) from None

    def all_reduce_sum(self, t: Tensor) -> Tensor:
        """The sum over ranks of ``t`` (a new tensor; ``t`` itself with one process)."""
        if not self.enabled:
            return t
        import torch.distributed as dist

        out = t.detach().clone()
        self._collective("all_reduce", lambda: dist.all_reduce(out, op=dist.ReduceOp.SUM))
        return out

    def sum_floats(self, *values: float) -> list[float]:
        """Python floats summed over ranks (one float64 all-reduce)."""
        t = self.all_reduce_sum(torch.tensor(values, dtype=torch.float64, device=self.device))
        return [float(x) for x in t.cpu()]

    def all_gather_rows(self, t: Tensor) -> Tensor:
        """Every rank's block of rows (its :meth:`shard`) concatenated in rank order: the global (n, ...) tensor.
        Blocks may differ in size by one row (they are padded for the collective)."""
        if not self.enabled:
            return t
        import torch.distributed as dist

        sizes = [torch.zeros(1, dtype=torch.int64, device=self.device) for _ in range(self.world_size)]
        mine = torch.tensor([t.shape[0]], dtype=torch.int64, device=self.device)
        self._collective("all_gather (sizes)", lambda: dist.all_gather(sizes, mine))
        biggest = int(max(int(s) for s in sizes))
        padded = torch.zeros((biggest, *t.shape[1:]), dtype=t.dtype, device=self.device)
        padded[: t.shape[0]] = t.to(self.device)
        parts = [torch.empty_like(padded) for _ in range(self.world_size)]
        self._collective("all_gather", lambda: dist.all_gather(parts, padded))
        return torch.cat([p[: int(s)] for p, s in zip(parts, sizes)]).to(t.device)

    def barrier(self) -> None:
        if self.enabled:
            import torch.distributed as dist

            self._collective("barrier", dist.barrier)

    def wrap(self, module: nn.Module) -> nn.Module:
        """The module under ``DistributedDataParallel`` (the one wrapper to compute losses through), or the module
        itself with one process."""
        if not self.enabled:
            return module
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.local_rank] if self.backend == "nccl" else None
        return DistributedDataParallel(module, device_ids=ids)


def local_rows(parallel: Parallel, n: int) -> tuple[int, int, bool]:
    """``(lo, hi, empty)``: this rank's block of a global batch of ``n`` rows, and whether it is empty (then the
    caller runs one dummy row with weight 0, so every rank still takes part in DDP's gradient all-reduce)."""
    lo, hi = parallel.shard(n)
    return lo, hi, hi <= lo
