"""seqgan_env.files: the run lock (atomic writes and checked files are exercised through the trainer's tests)."""

from __future__ import annotations

import os
import socket

import pytest

from seqgan_env import files
from seqgan_env.files import RunLock, RunLockedError

DEAD_PID = 2**22 + 12345  # above the default pid_max: no live process has it


def test_lock_is_exclusive_and_released(tmp_path):
    with RunLock(tmp_path) as a:
        assert a.held and (tmp_path / ".lock").read_text().split()[0] == str(os.getpid())
        with pytest.raises(RunLockedError, match=f"in use by another run \\(pid {os.getpid()}"):
            RunLock(tmp_path).acquire()
    assert not (tmp_path / ".lock").exists()


def test_stale_lock_is_taken_over_once_when_two_processes_race(tmp_path, monkeypatch):
    """A and B both find the stale lock of a dead process; B takes it over first, while A is between reading
    it and removing it. A must not remove B's fresh lock: it refuses, naming B (both used to hold the lock)."""
    (tmp_path / ".lock").write_text(f"{DEAD_PID} {socket.gethostname()}\n")
    a, b = RunLock(tmp_path), RunLock(tmp_path)
    alive = files._pid_alive
    first = [True]

    def b_gets_in_first(pid: int) -> bool:
        if first[0]:
            first[0] = False
            b.acquire()
        return alive(pid)

    monkeypatch.setattr(files, "_pid_alive", b_gets_in_first)
    with pytest.raises(RunLockedError, match="in use by another run"):
        a.acquire()
    assert b.held and not a.held and (tmp_path / ".lock").read_text().split()[0] == str(os.getpid())
    assert [p.name for p in tmp_path.iterdir()] == [".lock"]  # nothing left behind by the takeover
    b.release()
    with RunLock(tmp_path):  # and the directory is free again
        pass
