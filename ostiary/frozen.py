"""A quicker constructor for the frozen dataclasses built on every request.

A frozen dataclass's generated `__init__` sets each field with `object.__setattr__` (its own
`__setattr__` refuses): about 140 ns a field, 1.2 µs for seven, against 0.3 µs for a plain class. A
gateway request builds a dozen such objects. `quick_init` gives a frozen dataclass (without slots or
`__post_init__`) an `__init__` of the same signature that fills the instance's `__dict__` directly:
the same instance, still frozen (assignment still raises), equal, hashed and shown as before.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")

_FACTORY = object()  # a field with a default factory, not given


def quick_init(cls: type[T]) -> type[T]:
    """`cls` (a frozen dataclass with a `__dict__` and no `__post_init__`) with a quicker `__init__`."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen:
        raise TypeError(f"{cls.__name__} is not a frozen dataclass")
    if "__slots__" in cls.__dict__ or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has slots or a __post_init__: its __init__ is kept")
    namespace: dict[str, Any] = {"__quick_factory__": _FACTORY}
    positional: list[str] = []
    keywords: list[str] = []
    lines: list[str] = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name.startswith("__quick_"):
            raise TypeError(f"{cls.__name__}.{f.name}: a name quick_init uses itself")
        if not f.init:
            raise TypeError(f"{cls.__name__}.{f.name} is not set by __init__: its __init__ is kept")
        if f.default is not dataclasses.MISSING:
            namespace[f"__quick_default_{f.name}__"] = f.default
            param = f"{f.name}=__quick_default_{f.name}__"
            lines.append(f"    __quick_dict__[{f.name!r}] = {f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            namespace[f"__quick_factory_{f.name}__"] = f.default_factory
            param = f"{f.name}=__quick_factory__"
            lines.append(
                f"    __quick_dict__[{f.name!r}] = "
                f"__quick_factory_{f.name}__() if {f.name} is __quick_factory__ else {f.name}"
            )
        else:
            param = f.name
            lines.append(f"    __quick_dict__[{f.name!r}] = {f.name}")
        (keywords if f.kw_only else positional).append(param)
    signature = ", ".join(["__quick_self__", *positional, *(["*", *keywords] if keywords else [])])
    head = f"def __init__({signature}):\n    __quick_dict__ = __quick_self__.__dict__\n"
    source = head + "\n".join(lines) + "\n"
    exec(source, namespace)  # noqa: S102 - our own text, built from the class's field names
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
