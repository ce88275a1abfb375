"""A scrape with several workers reads every worker's counts from its file, and never fails on a file a
worker is still making (created empty, sized afterwards)."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from ostiary.operations import metrics


def test_a_scrape_skips_a_workers_file_still_being_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = MmapedDict(str(tmp_path / "counter_101.db"))
    key = mmap_key("ostiary_requests", "ostiary_requests_total", ["service"], ["iam"], "requests")
    counts.write_value(key, 3.0, 0.0)
    counts.close()
    (tmp_path / "counter_102.db").touch()  # the next worker's, not sized yet
    monkeypatch.setenv(metrics.MULTIPROCESS_ENV, str(tmp_path))
    monkeypatch.setattr(metrics, "_readings", [])
    text = generate_latest(metrics._scraped()).decode()
    assert 'ostiary_requests_total{service="iam"} 3.0' in text
