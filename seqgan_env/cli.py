"""The command-line error convention of the examples and the ``seqgan-text-*`` commands.

A mistake on the command line (a bad flag or value, a missing or damaged file, an output directory that cannot be
written, a run directory in use) ends with **one line** ``error: <what is wrong and how to fix it>`` on stderr and
exit code 2, never a traceback. Unexpected exceptions (bugs) keep their traceback. ``--debug`` shows the traceback
of user errors too.

    def main(argv): ...                      # raises UsageError / ValueError / OSError for user mistakes
    if __name__ == "__main__":
        raise SystemExit(run_cli(main))
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from .files import RunLockedError

__all__ = ["UsageError", "ArgumentParser", "run_cli", "USER_ERRORS"]


class UsageError(ValueError):
    """A command-line mistake; printed as one ``error: ...`` line with exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors are one line (raised as :class:`UsageError`), with ``--debug``."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                          help="show a traceback for errors (they are one line otherwise)")

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


#: Exceptions that are the user's to fix, reported as one line: our validation raises ``ValueError`` (including
#: ``CheckpointError``, ``CorruptFileError``, ``UsageError``), files raise ``OSError``.
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError, RunLockedError)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, OSError) and exc.filename is not None and str(exc.filename) not in text:
        text = f"{text} ({exc.filename})"
    return text or type(exc).__name__


def run_cli(main: Callable[[list[str]], int | None], argv: Sequence[str] | None = None) -> int:
    """Run ``main(argv)``; user errors become ``error: ...`` and exit code 2 (tracebacks with ``--debug``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        code = main(args)
    except KeyboardInterrupt:
        if debug:
            raise
        print("error: interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as exc:
        if debug:
            raise
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    return 0 if code is None else int(code)
