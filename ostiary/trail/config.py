"""The trail's settings, from variables only (no `serve` flag): whether calls are recorded, and for
how many days events are kept."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ostiary.settings import Setting

TRAIL_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "trail", "OSTIARY_TRAIL", "on", "on records every call answered (the audit trail); off records none"
    ),
    Setting(
        "retention_days",
        "OSTIARY_TRAIL_RETENTION_DAYS",
        90,
        "days an event is kept (CloudTrail's event history keeps 90); 0 keeps every event",
    ),
)


@dataclass(frozen=True)
class TrailConfig:
    """Whether the trail records, and how long it keeps events (None: for ever)."""

    enabled: bool = True
    retention_days: int | None = 90

    @classmethod
    def from_env(cls) -> TrailConfig:
        """The configuration from OSTIARY_TRAIL (on/off) and OSTIARY_TRAIL_RETENTION_DAYS; ValueError
        names a bad value."""
        switch = os.environ.get("OSTIARY_TRAIL", "on").strip().lower()
        if switch not in ("on", "off"):
            raise ValueError(f"OSTIARY_TRAIL must be on or off, not `{switch}`")
        days_text = os.environ.get("OSTIARY_TRAIL_RETENTION_DAYS", "90").strip()
        if not (days_text.isascii() and days_text.isdigit()):
            raise ValueError(
                f"OSTIARY_TRAIL_RETENTION_DAYS must be a whole number of days, not `{days_text}`"
            )
        days = int(days_text)
        return cls(enabled=switch == "on", retention_days=days or None)
