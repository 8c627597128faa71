"""Deprecated names kept for one release: a renamed dataclass field stays accepted by the constructor and
readable, with a ``DeprecationWarning`` that names the new one."""

from __future__ import annotations

import functools
import warnings
from typing import Any

__all__ = ["renamed_field", "renamed_kwarg", "alias_property", "alias_method"]


def renamed_field(old: str, new: str) -> Any:
    """Class decorator (put it above ``@dataclass``): ``old`` becomes a deprecated alias of the field ``new``."""

    def decorate(cls: type) -> type:
        init = cls.__init__  # type: ignore[misc]

        @functools.wraps(init)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            if old in kwargs:
                if new in kwargs:
                    raise TypeError(f"{cls.__name__}: pass {new}= only ({old}= is its deprecated name).")
                warnings.warn(f"{cls.__name__}({old}=...) is deprecated; use {new}=.", DeprecationWarning,
                              stacklevel=2)
                kwargs[new] = kwargs.pop(old)
            init(self, *args, **kwargs)

        def getter(self: Any) -> Any:
            warnings.warn(f"{cls.__name__}.{old} is deprecated; use {cls.__name__}.{new}.", DeprecationWarning,
                          stacklevel=2)
            return getattr(self, new)

        cls.__init__ = __init__  # type: ignore[misc]
        setattr(cls, old, property(getter, doc=f"Deprecated alias of :attr:`{new}`."))
        return cls

    return decorate


def renamed_kwarg(owner: str, old: str, old_value: Any, new: str, new_value: Any) -> Any:
    """The value of keyword ``new``, taking the deprecated keyword ``old`` (with a warning) when only it is given."""
    if old_value is None:
        return new_value
    if new_value is not None:
        raise TypeError(f"{owner}: pass {new}= only ({old}= is its deprecated name).")
    warnings.warn(f"{owner}({old}=...) is deprecated; use {new}=.", DeprecationWarning, stacklevel=3)
    return old_value


def alias_property(owner: str, old: str, new: str) -> property:
    """A read-only property ``old`` that warns and returns attribute ``new``."""

    def getter(self: Any) -> Any:
        warnings.warn(f"{owner}.{old} is deprecated; use {owner}.{new}.", DeprecationWarning, stacklevel=2)
        return getattr(self, new)

    return property(getter, doc=f"Deprecated alias of ``{new}``.")


def alias_method(owner: str, old: str, new: str) -> Any:
    """A method ``old`` that warns and calls method ``new``."""

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        warnings.warn(f"{owner}.{old}() is deprecated; use {owner}.{new}().", DeprecationWarning, stacklevel=2)
        return getattr(self, new)(*args, **kwargs)

    method.__name__ = old
    method.__doc__ = f"Deprecated alias of :meth:`{new}`."
    return method
