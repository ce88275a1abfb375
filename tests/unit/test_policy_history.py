"""The bundled history of AWS managed policies: every older version below its policy's default, dated no
later than the next one, a JSON policy document, and an unknown name or version simply absent."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from ostiary.services import policy_history

_DATA = Path(policy_history.__file__).parent / "data"


def test_every_older_version_is_below_the_default_and_dated_in_order() -> None:
    bundled = json.loads((_DATA / "aws_managed_policies.json").read_text())
    names = {
        name.split("/")[0] for name in zipfile.ZipFile(_DATA / "aws_managed_policy_versions.zip").namelist()
    }
    assert names <= set(bundled) and len(names) == 909
    total = 0
    for name in names:
        default = policy_history.version_number(bundled[name]["DefaultVersionId"])
        versions = policy_history.older_versions(name)
        numbers = [policy_history.version_number(v.version_id) for v in versions]
        assert numbers == sorted(numbers, reverse=True) and all(0 < n < default for n in numbers), name
        dates = [v.created_at for v in versions]
        assert dates == sorted(dates, reverse=True), name
        total += len(versions)
    assert total == 4265


def test_older_documents_are_policy_documents() -> None:
    for name in ("ReadOnlyAccess", "SystemAdministrator", "AmazonS3FullAccess"):
        for version in policy_history.older_versions(name):
            document = json.loads(version.document)
            assert document["Version"] in ("2012-10-17", "2008-10-17") and document["Statement"], name
    (s3_v1,) = policy_history.older_versions("AmazonS3FullAccess")
    assert json.loads(s3_v1.document)["Statement"] == [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]


def test_unknown_names_and_versions_are_absent() -> None:
    assert policy_history.older_versions("NoSuchPolicy") == ()
    assert policy_history.older_versions("../aws_managed_policies.json") == ()
    assert policy_history.older_version("SystemAdministrator", "v11") is None  # not in the record
    assert policy_history.older_version("SystemAdministrator", "v12") is None  # the default, in the store
    assert policy_history.older_version("SystemAdministrator", "v1") is not None


def test_merged_keeps_the_stored_rows_and_adds_only_missing_versions() -> None:
    stored = list(policy_history.older_versions("SystemAdministrator")[:2])
    merged = policy_history.merged("SystemAdministrator", stored)
    assert [v.version_id for v in merged] == [
        v.version_id for v in policy_history.older_versions("SystemAdministrator")
    ]
    assert merged[0] is stored[0] and merged[1] is stored[1]
