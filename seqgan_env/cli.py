"""The command-line layer of the examples and the ``seqgan-text-*`` commands: the error convention, and
:class:`ConfigCLI`, which turns the typed config dataclasses into flags (one per field, ``--help`` from their
docstrings) and applies one preset table (:mod:`seqgan_env.presets`).

**Errors.**
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
import ast
import inspect
import re
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, NoReturn

from .checks import check_int, check_number, resolve_device
from .files import RunLockedError

__all__ = [
    "UsageError", "ArgumentParser", "run_cli", "USER_ERRORS", "check_run_options", "check_rollout_backend", "Section",
    "ConfigCLI", "field_docs",
]


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


def check_run_options(
    *, threads: int | None = None, device: str | None = None, dist_timeout: float | None = None
) -> None:
    """The options every example shares, refused as :class:`UsageError` before any work starts: ``--threads``
    (a whole number >= 1), ``--device`` (a torch device that exists here) and ``--dist-timeout`` (seconds > 0)."""
    try:
        if threads is not None:
            check_int("--threads", threads, minimum=1, hint="leave it out for torch's default")
        if device is not None:
            resolve_device(device, "--device")
        if dist_timeout is not None:
            check_number("--dist-timeout", dist_timeout, low=0, low_open=True)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def check_rollout_backend(flag: str, backend: str, device: str, *, emb_dim: int, hidden_dim: int, seq_len: int) -> None:
    """Refuse a rollout backend that cannot run here (``triton`` without CUDA or triton, sizes the kernel cannot
    hold) as a :class:`UsageError` when the flags are read, not after hours of pretraining."""
    from .kernels import resolve_backend

    try:
        resolve_backend(backend, device, emb_dim=emb_dim, hidden_dim=hidden_dim, seq_len=seq_len)
    except ValueError as exc:
        raise UsageError(f"{flag} {backend}: {exc}") from None


# ------------------------------------------------------------------------------------------------------------------
# Typed configuration on the command line: one flag per field of the config dataclasses
# ------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """One config dataclass of an example's arguments, on the command line.

    Every field of ``cls`` (or of ``include``) becomes one flag ``--<prefix><field>`` in kebab case, unless
    ``rename`` gives it another flat name; its ``--help`` text is the field's documentation (the class docstring's
    ``Attributes:`` entry, or the string literal under the field). The flat names are also the keys of a run's
    ``args.json``, so they stay stable when the dataclasses change.

    Attributes:
        name: the attribute of the example's ``Args`` that holds the instance (``"schedule"``).
        cls: the dataclass (``ScheduleConfig``).
        prefix: flat-name prefix of every field (``"mle_"`` turns ``lr`` into ``--mle-lr``).
        include: the fields on the command line (default: all); the others keep their defaults or ``fixed``.
        exclude: fields left off the command line.
        rename: field -> flat name, overriding the prefix (``{"lr": "pg_lr"}``).
        fixed: field values set by the example, not by flags (``{"epochs": ...}`` is not allowed: use a flag).
        title: the ``--help`` group title.
    """

    name: str
    cls: type
    prefix: str = ""
    include: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    rename: Mapping[str, str] = field(default_factory=dict)
    fixed: Mapping[str, Any] = field(default_factory=dict)
    title: str = ""

    def flags(self) -> dict[str, str]:
        """field name -> flat name, in field order."""
        names = [f.name for f in fields(self.cls) if f.init]
        chosen = [n for n in (self.include or names) if n not in self.exclude and n not in self.fixed]
        unknown = [n for n in chosen if n not in names]
        assert not unknown, f"{self.cls.__name__} has no fields {unknown}"
        return {n: self.rename.get(n, self.prefix + n) for n in chosen}


def field_docs(cls: type) -> dict[str, str]:
    """The documentation of each field of dataclass ``cls``: its ``Attributes:`` docstring entry, or the string
    literal right under the field (CleanRL-style attribute docstrings), whitespace collapsed."""
    docs: dict[str, str] = {}
    doc = inspect.getdoc(cls) or ""
    if "Attributes:" in doc:
        current = None
        for line in doc.split("Attributes:", 1)[1].splitlines():
            m = re.match(r"^    ([A-Za-z_][A-Za-z0-9_, ]*):\s*(.*)$", line)
            if m:
                current = [n.strip() for n in m.group(1).split(",")]
                for n in current:
                    docs[n] = m.group(2).strip()
            elif current and line.startswith("        ") and line.strip():
                for n in current:
                    docs[n] += " " + line.strip()
            elif line.strip() and not line.startswith(" "):
                break
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return {k: _plain(v) for k, v in docs.items()}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    for prev, node in zip(body, body[1:]):
        if (isinstance(prev, ast.AnnAssign) and isinstance(prev.target, ast.Name) and isinstance(node, ast.Expr)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            docs[prev.target.id] = " ".join(node.value.value.split())
    return {k: _plain(v) for k, v in docs.items()}


def _plain(text: str) -> str:
    """Docstring markup as plain text for ``--help``: ``:class:`X``` -> X, ````x```` -> x."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", text)
    return text.replace("``", "")


def _parse_bool(s: str) -> bool:
    v = s.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {s!r}")


def _converter(annotation: Any) -> tuple[Callable[[str], Any], bool, bool]:
    """(str -> value, optional, is a tuple) for a field annotation (a string under ``from __future__``)."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    optional = "None" in text
    base = text.replace("| None", "").replace("None |", "").replace("Optional[", "").strip()
    is_tuple = base.startswith("tuple")
    if "bool" in base:
        conv: Callable[[str], Any] = _parse_bool
    elif "int" in base and "float" not in base:
        conv = int
    elif "float" in base:
        conv = float
    else:
        conv = str
    return conv, optional, is_tuple


class ConfigCLI:
    """The command line of an example, built from its config sections and one preset table.

    ``parse(argv)`` resolves ``defaults <- preset <- the flags given`` into a flat dict (the flat names of
    :class:`Section`), and ``build(values)`` turns it into the example's nested, typed ``Args``: one instance per
    section (so the configs validate the values: a bad value is one ``error: ...`` line).

    Args:
        args_cls: the example's ``Args`` dataclass: one field per section name, typed with the section's class.
        sections: the sections, in ``--help`` order.
        presets: preset name -> flat name -> value (the examples take them from :mod:`seqgan_env.presets`).
        default_preset: the preset used without ``--preset``.
        choices: flat name -> allowed values.
        description: the ``--help`` description.
    """

    def __init__(
        self, args_cls: type, sections: Sequence[Section], presets: Mapping[str, Mapping[str, Any]], *,
        default_preset: str, choices: Mapping[str, Sequence[Any]] | None = None, description: str = "",
    ) -> None:
        self.args_cls = args_cls
        self.sections = list(sections)
        self.presets = {k: dict(v) for k, v in presets.items()}
        self.default_preset = default_preset
        self.choices = dict(choices or {})
        self.description = description
        self.flat: dict[str, tuple[Section, str]] = {}
        for sec in self.sections:
            for fname, flat in sec.flags().items():
                assert flat not in self.flat, f"two fields map to the flag --{flat}"
                self.flat[flat] = (sec, fname)
        for name, values in self.presets.items():
            unknown = sorted(set(values) - set(self.flat))
            assert not unknown, f"preset {name} sets unknown flags {unknown}"

    def defaults(self) -> dict[str, Any]:
        """flat name -> the dataclass default (the paper's value for the library configs)."""
        out = {}
        for flat, (sec, fname) in self.flat.items():
            f = next(f for f in fields(sec.cls) if f.name == fname)
            out[flat] = f.default if f.default is not MISSING else (
                f.default_factory() if f.default_factory is not MISSING else None)  # type: ignore[misc]
        return out

    def parser(self) -> ArgumentParser:
        """An argparse parser: one ``--kebab-case`` flag per flat name, grouped by section; no defaults are filled
        in (``argparse.SUPPRESS``), so ``parse`` knows which flags were given."""
        p = ArgumentParser(description=self.description, formatter_class=argparse.RawDescriptionHelpFormatter,
                           epilog=self.preset_table())
        defaults = self.defaults()
        for sec in self.sections:
            group = p.add_argument_group(sec.title or f"{sec.name} ({sec.cls.__name__})")
            docs = field_docs(sec.cls)
            hints = {f.name: f.type for f in fields(sec.cls)}
            for fname, flat in sec.flags().items():
                conv, optional, is_tuple = _converter(hints[fname])
                choices = self.choices.get(flat)
                help_text = docs.get(fname, "")
                shown = defaults[flat]
                help_text = f"{help_text} (default: {shown!r}" + (
                    "; presets change it)" if any(flat in v for v in self.presets.values()) else ")")
                kw: dict[str, Any] = {"dest": flat, "default": argparse.SUPPRESS, "help": help_text.replace("%", "%%")}
                if conv is _parse_bool:  # --x, --x true|false, --no-x
                    group.add_argument("--" + flat.replace("_", "-"), nargs="?", const=True, type=_parse_bool,
                                       metavar="{true,false}", **kw)
                    group.add_argument("--no-" + flat.replace("_", "-"), dest=flat, action="store_const",
                                       const=False, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
                    continue
                if is_tuple:
                    kw.update(nargs="+", type=conv)
                else:
                    kw["type"] = (lambda c: lambda s: None if s.lower() == "none" else c(s))(conv) if optional \
                        else conv
                if choices is not None:
                    kw["choices"] = list(choices)
                group.add_argument("--" + flat.replace("_", "-"), **kw)
        return p

    def preset_table(self) -> str:
        """The presets as a table of the flags they set (for ``--help``)."""
        if not self.presets:
            return ""
        lines = ["presets (flags given on the command line override them):"]
        for name, values in self.presets.items():
            body = ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in values.items()) or "the defaults"
            lines.append(textwrap.fill(f"{name}: {body}", width=118, initial_indent="  ", subsequent_indent="    ",
                                       break_on_hyphens=False))
        return "\n".join(lines)

    def parse(self, argv: Sequence[str] | None, *, preset_flag: str = "preset") -> tuple[dict[str, Any], dict]:
        """(flat values: defaults <- preset <- given, the flags given). ``preset_flag`` is the flat name of the
        preset flag, whose value picks the preset."""
        given = vars(self.parser().parse_args(list(argv) if argv is not None else None))
        given.pop("debug", None)
        for k, v in given.items():
            if isinstance(v, list):
                given[k] = tuple(v)
        preset = given.get(preset_flag, self.default_preset)
        values = self.defaults() | self.presets[preset] | given
        values[preset_flag] = preset
        return values, given

    def build(self, values: Mapping[str, Any]) -> Any:
        """The example's ``Args`` from flat ``values`` (every section's dataclass constructed, so validated)."""
        parts = {}
        for sec in self.sections:
            kw = {fname: values[flat] for fname, flat in sec.flags().items() if flat in values} | dict(sec.fixed)
            parts[sec.name] = sec.cls(**kw)
        return self.args_cls(**parts)

    def flatten(self, args: Any) -> dict[str, Any]:
        """The inverse of :meth:`build`: the flat values of ``args`` (what ``args.json`` stores)."""
        out = {}
        for flat, (sec, fname) in self.flat.items():
            v = getattr(getattr(args, sec.name), fname)
            out[flat] = list(v) if isinstance(v, tuple) else v
        return out
