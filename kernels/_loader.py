"""Lazy loading of the Triton kernel modules.

Triton decides between compiling and interpreting (``TRITON_INTERPRET=1``) when a ``@triton.jit`` decorator runs,
not when a kernel is launched. The kernel modules (``*_triton.py``) are therefore loaded on first use, once per
mode, under distinct module names: the mode follows the environment variable at launch time, and nothing imports
triton until a Triton backend is asked for.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["triton_available", "interpret_mode", "load_kernel_module"]

_HERE = Path(__file__).resolve().parent
_CACHE: dict[tuple[str, bool], ModuleType] = {}


def triton_available() -> bool:
    """True when the ``triton`` package can be imported (it is not imported here)."""
    return importlib.util.find_spec("triton") is not None


def interpret_mode() -> bool:
    """True when ``TRITON_INTERPRET`` asks for the interpreter (Triton's own truthy spellings)."""
    return os.environ.get("TRITON_INTERPRET", "0").strip().lower() in ("1", "true", "on", "yes")


def load_kernel_module(name: str) -> ModuleType:
    """Import ``kernels/<name>.py`` for the current mode (compiled or interpreted); cached per mode."""
    if not triton_available():
        raise ValueError(
            "the Triton backend needs the 'triton' package, which is not installed here; "
            "use backend='reference' (or 'auto', which picks it off CUDA)."
        )
    mode = interpret_mode()
    key = (name, mode)
    if key not in _CACHE:
        mod_name = f"seqgan_env.kernels._{name}_{'interp' if mode else 'jit'}"
        spec = importlib.util.spec_from_file_location(mod_name, _HERE / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        spec.loader.exec_module(module)
        _CACHE[key] = module
    return _CACHE[key]
