"""Files that survive crashes, full disks and flipped bytes: atomic writes, checksummed checkpoints, strict JSON and
a lock per run directory.

* :func:`atomic_write`: write to ``<name>.tmp`` in the same folder, ``fsync``, then ``os.replace`` over the target;
  on any failure (a full disk, an interrupt) the temporary file is removed and the previous file is untouched.
* :func:`save_checked` / :func:`load_checked`: a ``torch.save`` payload behind a header with its sha256:

      b"SEQGANCK" (8 bytes) | format version (1 byte) | sha256 of the payload (32 bytes) | payload

  :func:`load_checked` verifies the checksum before unpickling (``weights_only=True``), so a truncated file, a
  foreign file or a single flipped byte is refused with a one-line :class:`CorruptFileError` that names the file,
  never torch's or numpy's advice to unpickle untrusted data.
* :func:`strict_json` / :func:`write_json`: JSON that strict parsers accept: NaN and infinities become ``null`` and
  the paths of the replaced values are listed under ``"nonfinite"``.
* :class:`RunLock`: ``<dir>/.lock`` holding the owner's pid and host, so two runs cannot write to one directory at
  once; a lock left by a process that no longer exists (same host) is taken over.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "CorruptFileError",
    "RunLockedError",
    "atomic_write",
    "save_checked",
    "load_checked",
    "strict_json",
    "write_json",
    "RunLock",
    "check_output_dir",
]

MAGIC = b"SEQGANCK"
FORMAT_VERSION = 1
_HEADER = len(MAGIC) + 1 + 32


class CorruptFileError(ValueError):
    """A file is missing, truncated, foreign, from another format or fails its checksum."""


class RunLockedError(RuntimeError):
    """Another live process holds the run directory's lock."""


def atomic_write(path: str | os.PathLike[str], write: Callable[[Any], None], mode: str = "wb") -> Path:
    """Write ``path`` atomically: ``write(fh)`` fills ``<path>.tmp``, which is fsynced and renamed over ``path``.

    The temporary file is removed if anything fails (``OSError`` such as a full disk, ``KeyboardInterrupt``), and
    the exception propagates; the previous ``path`` is never touched before the rename.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


def save_checked(path: str | os.PathLike[str], obj: Any) -> Path:
    """``torch.save(obj)`` with a sha256 header (see the module docstring), written atomically."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    payload = buf.getvalue()
    header = MAGIC + bytes([FORMAT_VERSION]) + hashlib.sha256(payload).digest()
    return atomic_write(path, lambda fh: (fh.write(header), fh.write(payload)))


def load_checked(
    path: str | os.PathLike[str], *, map_location: str | torch.device = "cpu", what: str = "checkpoint"
) -> Any:
    """Read a :func:`save_checked` file: checksum verified, then ``torch.load(weights_only=True)``.

    Raises:
        CorruptFileError: missing, empty, truncated, foreign, another format version, checksum mismatch, or a
            payload that does not unpickle as tensors and plain data.
    """
    path = Path(path)
    if not path.is_file():
        raise CorruptFileError(f"no {what} at {path}.")
    data = path.read_bytes()
    if not data:
        raise CorruptFileError(f"{path} is empty: not a {what} (an interrupted write?).")
    if not data.startswith(MAGIC):
        raise CorruptFileError(f"{path} is not a {what} written by seqgan-env (unknown header).")
    if len(data) < _HEADER:
        raise CorruptFileError(f"{path} is truncated: not a complete {what}.")
    if data[len(MAGIC)] != FORMAT_VERSION:
        raise CorruptFileError(
            f"{path} has file format {data[len(MAGIC)]}; this version of seqgan-env reads format {FORMAT_VERSION}."
        )
    payload = data[_HEADER:]
    if hashlib.sha256(payload).digest() != data[len(MAGIC) + 1 : _HEADER]:
        raise CorruptFileError(
            f"{path} fails its checksum: the file is damaged (truncated or altered after it was written)."
        )
    try:
        return torch.load(io.BytesIO(payload), map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001  torch raises many types; its message advises unsafe loading: drop it
        raise CorruptFileError(
            f"{path} passes its checksum but its contents do not load as tensors and plain data "
            f"({type(exc).__name__})."
        ) from None


def strict_json(obj: Any) -> tuple[Any, list[str]]:
    """``obj`` with every NaN/inf float replaced by ``None``, and the dotted paths of the replaced values."""
    found: list[str] = []

    def walk(x: Any, where: str) -> Any:
        if isinstance(x, float) and not math.isfinite(x):
            found.append(where or "<root>")
            return None
        if isinstance(x, dict):
            return {k: walk(v, f"{where}.{k}" if where else str(k)) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [walk(v, f"{where}[{i}]") for i, v in enumerate(x)]
        return x

    return walk(obj, ""), found


def write_json(path: str | os.PathLike[str], obj: Any, **kwargs: Any) -> Path:
    """Write ``obj`` as strict JSON, atomically. Non-finite floats become ``null``; for a dict, their paths are
    listed under ``"nonfinite"`` (an empty list when there are none), so a reader can tell a missing figure from a
    diverged one."""
    clean, found = strict_json(obj)
    if isinstance(clean, dict):
        clean = {**clean, "nonfinite": found}
    kwargs.setdefault("indent", 2)
    text = json.dumps(clean, allow_nan=False, default=str, **kwargs) + "\n"
    return atomic_write(path, lambda fh: fh.write(text), mode="w")


def check_output_dir(path: str | os.PathLike[str], flag: str = "--out") -> Path:
    """Make ``path`` a writable directory or raise ``ValueError`` naming the problem (a file, no permission)."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ValueError(f"{flag} {p} is a file; pass a directory (it is created if missing).")
    try:
        p.mkdir(parents=True, exist_ok=True)
        probe = p / ".write_test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ValueError(f"cannot write to {flag} {p} ({exc.strerror or exc}); pass a writable directory.") from None
    return p


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """An exclusive lock on a run directory: ``<dir>/.lock`` created with ``O_EXCL`` (pid and host inside).

    Use as a context manager. Raises :class:`RunLockedError` when a live process on this host (or any process on
    another host) holds it; a stale lock of a dead local process is taken over.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.path = Path(directory) / ".lock"
        self.held = False

    def acquire(self) -> RunLock:
        me = f"{os.getpid()} {socket.gethostname()}\n"
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    text = self.path.read_text(errors="replace")
                except FileNotFoundError:  # released (or taken over) meanwhile: try again
                    continue
                owner = text.split()
                pid = int(owner[0]) if owner and owner[0].isdigit() else -1
                host = owner[1] if len(owner) > 1 else "?"
                if host == socket.gethostname() and pid > 0 and not _pid_alive(pid):
                    self._take_stale(text)  # removed, unless another process took it over first: look again
                    continue
                raise RunLockedError(
                    f"{self.path.parent} is in use by another run (pid {pid} on {host}); wait for it to finish or "
                    f"pass another --out (if that run is gone, delete {self.path})."
                ) from None
            with os.fdopen(fd, "w") as fh:
                fh.write(me)
            self.held = True
            return self
        raise RunLockedError(f"could not lock {self.path.parent}; delete {self.path} if no run is using it.")

    def _take_stale(self, stale: str) -> bool:
        """Remove the stale lock whose text is ``stale``, atomically: rename it away and check that what was moved is
        that lock. If another process took the stale lock over first, what was moved is its fresh lock: it is put
        back and False is returned (the directory is in use)."""
        moved = self.path.with_name(f".lock.stale.{os.getpid()}")
        try:
            os.rename(self.path, moved)
        except FileNotFoundError:
            return True  # gone already: try to create ours
        try:
            if moved.read_text(errors="replace") == stale:
                return True
            try:
                os.link(moved, self.path)  # a live lock: put it back (never over a newer one)
            except FileExistsError:
                pass
            return False
        finally:
            moved.unlink(missing_ok=True)

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


@contextlib.contextmanager
def locked(directory: str | os.PathLike[str]) -> Iterator[RunLock]:
    """``with locked(out): ...``: hold :class:`RunLock` on ``directory`` for the block."""
    lock = RunLock(directory).acquire()
    try:
        yield lock
    finally:
        lock.release()
