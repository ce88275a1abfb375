"""A sample value for any botocore shape that satisfies the shape's constraints: input for the round trips."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.model import Shape

from tests.model_samples import PLAIN_STRINGS
from tests.model_samples import sample_value as _sample_value

# Text XML must escape, tried second: every string member that admits it carries it through the codec.
_STRINGS = (PLAIN_STRINGS[0], "a b&c<d>'e\"", *PLAIN_STRINGS[1:])


def sample_value(shape: Shape) -> Any:
    """A value of `shape` that the shape's constraints accept."""
    return _sample_value(shape, strings=_STRINGS, blob=b"\x00blob\xff")


@pytest.fixture
def sample() -> Callable[[Shape], Any]:
    """The sample-value generator."""
    return sample_value
