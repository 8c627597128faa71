"""Argument checks at the public API boundary: each raises one ``ValueError`` that names the argument, the bad
value and the fix (SB3 style), so a mistake does not surface as a traceback deep inside torch.

    check_int("num_rollouts", 16, minimum=1)    -> 16
    check_int("vocab_size", 2.5, minimum=1)     ValueError: vocab_size=2.5 must be a whole number >= 1.
    resolve_device("cuda")                      -> device(type='cuda', index=0), or ValueError without CUDA
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch

__all__ = ["check_int", "check_number", "resolve_device"]


def check_int(name: str, value: Any, *, minimum: int | None = None, hint: str = "") -> int:
    """``value`` as an ``int`` if it is a whole number (an int, a numpy integer, or an integral float) at least
    ``minimum``; else ``ValueError`` naming ``name``. Booleans are refused (``True`` is not a size)."""
    ok = not isinstance(value, bool) and (
        isinstance(value, numbers.Integral)
        or (isinstance(value, float) and math.isfinite(value) and value.is_integer())
    )
    if ok and (minimum is None or int(value) >= minimum):
        return int(value)
    bound = "" if minimum is None else f" >= {minimum}"
    raise ValueError(f"{name}={value!r} must be a whole number{bound}{'; ' + hint if hint else ''}.")


def check_number(
    name: str, value: Any, *, low: float | None = None, high: float | None = None, low_open: bool = False,
    hint: str = "",
) -> float:
    """``value`` as a finite ``float`` in ``[low, high]`` (``(low, high]`` with ``low_open``); else
    ``ValueError`` naming ``name``."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value <= high
    if ok:
        return float(value)
    if low is not None and high is not None:
        where = f" in {'(' if low_open else '['}{low:g}, {high:g}]"
    elif low is not None:
        where = f" {'>' if low_open else '>='} {low:g}"
    elif high is not None:
        where = f" <= {high:g}"
    else:
        where = ""
    raise ValueError(f"{name}={value!r} must be a finite number{where}{'; ' + hint if hint else ''}.")


def resolve_device(device: str | torch.device, name: str = "device") -> torch.device:
    """The torch device ``device`` names, checked: CUDA must be available and the index must exist; a bare
    ``"cuda"`` becomes ``cuda:<current device>`` (what ``.to("cuda")`` gives a module), so devices compare equal.

    Raises ``ValueError`` naming the fix for a malformed name, CUDA that is absent, or a GPU index that is not there.
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"{name}={device!r} is not a torch device; pass 'cpu', 'cuda' or 'cuda:N'.") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            build = "this torch build has no CUDA" if torch.version.cuda is None else "no GPU is visible"
            raise ValueError(f"{name}={str(device)!r} but CUDA is not available ({build}); pass 'cpu'.")
        count = torch.cuda.device_count()
        if dev.index is None:
            return torch.device("cuda", torch.cuda.current_device())
        if dev.index >= count:
            raise ValueError(f"{name}={str(device)!r} but only {count} GPU(s) are visible; pass 'cuda:0'"
                             f"{f' to cuda:{count - 1}' if count > 1 else ''}.")
    return dev
