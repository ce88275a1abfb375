"""The Unicode category classes shipped for this Python's Unicode version are the ones it computes."""

from __future__ import annotations

import gzip
import json

import pytest

from ostiary.protocol import models


def test_the_shipped_category_classes_are_this_pythons() -> None:
    shipped = models.unicode_categories_file()
    if not shipped.is_file():
        pytest.skip(f"none shipped for Unicode {shipped.name}: computed at start")
    with gzip.open(shipped, "rt", encoding="utf-8") as f:
        assert json.load(f) == models.computed_category_classes()
