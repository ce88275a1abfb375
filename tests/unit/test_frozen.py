"""`quick_init`: the same objects as a frozen dataclass's own `__init__` makes (defaults, factories,
keyword-only fields, errors for missing arguments), still frozen; refused where it cannot be."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from ostiary.frozen import quick_init


@dataclass(frozen=True)
class _Plain:
    a: int
    d: str  # a field named as a local of a generated __init__ could be
    self_: int = 3
    items: list[int] = field(default_factory=list)
    flag: bool = field(default=False, kw_only=True)


@quick_init
@dataclass(frozen=True)
class _Quick:
    a: int
    d: str
    self_: int = 3
    items: list[int] = field(default_factory=list)
    flag: bool = field(default=False, kw_only=True)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((1, "x"), {}),
        ((1, "x", 4), {}),
        ((1, "x", 4, [5]), {"flag": True}),
        ((), {"a": 2, "d": "y", "items": []}),
    ],
)
def test_the_same_fields_as_the_dataclass_init(args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    plain, quick = _Plain(*args, **kwargs), _Quick(*args, **kwargs)  # type: ignore[arg-type]
    assert dataclasses.asdict(plain) == dataclasses.asdict(quick)
    assert repr(quick) == repr(plain).replace("_Plain", "_Quick")
    assert quick == _Quick(*args, **kwargs)  # type: ignore[arg-type]


def test_each_object_gets_its_own_default_from_the_factory() -> None:
    first, second = _Quick(1, "x"), _Quick(1, "x")
    assert first.items == [] and first.items is not second.items


def test_it_stays_frozen_and_hashable() -> None:
    quick = _Quick(1, "x", items=())  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.a = 2  # type: ignore[misc]
    assert hash(quick) == hash(_Quick(1, "x", items=()))  # type: ignore[arg-type]
    assert dataclasses.replace(quick, a=5).a == 5


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((1,), {}), ((1, "x", 3, [], True), {}), ((1, "x"), {"other": 1}), ((1, "x"), {"a": 1})],
)
def test_wrong_arguments_are_refused_as_before(args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    with pytest.raises(TypeError):
        _Plain(*args, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _Quick(*args, **kwargs)  # type: ignore[arg-type]


def test_classes_it_cannot_speed_up_are_refused() -> None:
    @dataclass
    class NotFrozen:
        a: int

    @dataclass(frozen=True, slots=True)
    class Slotted:
        a: int

    @dataclass(frozen=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            pass

    for cls in (NotFrozen, Slotted, Checked):
        with pytest.raises(TypeError):
            quick_init(cls)
