"""Lazy loading of the Triton kernel modules.

Triton (3.9) decides between compiling and interpreting (``TRITON_INTERPRET=1``) when a ``@triton.jit`` decorator
runs, not when a kernel is launched. That includes Triton's own library functions (``tl.rand``, ...), which are
decorated when ``triton.language`` is first imported: **a process picks its mode by the value of TRITON_INTERPRET
at its first ``import triton``** (the tests' conftest imports triton under the interpreter on CPU-only machines).
Our kernel modules (``*_triton.py``) are loaded on first use, once per mode, under distinct module names, and a
launch whose mode disagrees with the one triton was imported in raises a clear ``ValueError``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["triton_available", "interpret_mode", "load_kernel_module", "check_triton_mode"]

_HERE = Path(__file__).resolve().parent
_CACHE: dict[tuple[str, bool], ModuleType] = {}


def triton_available() -> bool:
    """True when the ``triton`` package can be imported (it is not imported here)."""
    if "triton" in sys.modules:
        return sys.modules["triton"] is not None
    try:
        return importlib.util.find_spec("triton") is not None
    except (ImportError, ValueError):
        return False


def interpret_mode() -> bool:
    """True when ``TRITON_INTERPRET`` asks for the interpreter (Triton's own truthy spellings)."""
    return os.environ.get("TRITON_INTERPRET", "0").strip().lower() in ("1", "true", "on", "yes")


def check_triton_mode() -> None:
    """Raise ``ValueError`` if TRITON_INTERPRET now disagrees with the mode triton's library was imported in."""
    import triton.language as tl

    lib_interpreted = type(tl.rand).__name__ == "InterpretedFunction"
    if lib_interpreted != interpret_mode():
        now = "set" if interpret_mode() else "unset"
        then = "set" if lib_interpreted else "unset"
        raise ValueError(
            f"TRITON_INTERPRET is {now} now but was {then} when triton was first imported in this process; "
            "Triton fixes the mode at that import, so set (or unset) TRITON_INTERPRET before importing triton."
        )


def load_kernel_module(name: str) -> ModuleType:
    """Import ``kernels/<name>.py`` for the current mode (compiled or interpreted); cached per mode."""
    if not triton_available():
        raise ValueError(
            "the Triton backend needs the 'triton' package, which is not installed here; "
            "use backend='torch' (or 'auto', which picks it off CUDA)."
        )
    check_triton_mode()
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
