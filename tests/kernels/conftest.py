"""Fixtures for the kernel tests.

Kernels run on every available device: CPU tensors through the Triton interpreter (``TRITON_INTERPRET=1``, set
per test with ``monkeypatch``; ``seqgan_env.kernels`` loads its Triton modules at launch time, once per mode, so
the variable only needs to be set while the test runs) and CUDA tensors compiled. ``SEQGAN_KERNEL_DEVICES``
(comma-separated, e.g. ``cuda``) restricts the list; the GPU check script uses it.
"""

from __future__ import annotations

import pytest
import torch
from kernel_helpers import DEVICES


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> torch.device:
    """Each available device; on CPU the Triton interpreter is switched on for the duration of the test."""
    dev = torch.device(request.param)
    if dev.type == "cpu":
        monkeypatch.setenv("TRITON_INTERPRET", "1")
    else:
        monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    return dev


@pytest.fixture
def interpret(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch the Triton interpreter on for a CPU-only test."""
    monkeypatch.setenv("TRITON_INTERPRET", "1")
