"""A real client renews role credentials from `ostiary imds` as they expire (botocore's own refresh).

botocore's windows are made for EC2's six-hour credentials: it refreshes 15 minutes before expiry
and takes credentials that expire sooner than 12 to 25 minutes for an IMDS outage, extending them.
The probe keeps botocore's fetcher (IMDSv2 token, role listing, document) and its refreshing
credentials, and scales those windows from minutes to seconds through their own parameters;
`ostiary imds --session-seconds 4` hands out sessions that really expire on the server.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from tests.conftest import Server
from tests.integration.imds_helpers import clean_env, running_imds

_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)

_PROBE = r"""
import json, os, sys, time

import botocore.session
from botocore.credentials import CredentialProvider, RefreshableCredentials
from botocore.exceptions import ClientError
from botocore.utils import InstanceMetadataFetcher


class Ec2Role(CredentialProvider):
    METHOD = "iam-role"

    def load(self):
        fetcher = InstanceMetadataFetcher(
            timeout=2,
            num_attempts=2,
            config={
                "ec2_metadata_service_endpoint": os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"],
                # botocore extends credentials expiring within this window plus 2 to 10 minutes of
                # jitter; -600 s cancels the jitter, so a fresh document is taken as it is
                "ec2_credential_refresh_window": -600,
            },
        )
        return RefreshableCredentials.create_from_metadata(
            fetcher.retrieve_iam_role_credentials(),
            refresh_using=fetcher.retrieve_iam_role_credentials,
            method=self.METHOD,
            advisory_timeout=2,  # seconds before expiry, where botocore says 15 minutes
            mandatory_timeout=1,
        )


session = botocore.session.get_session()
session.get_component("credential_provider").insert_before("env", Ec2Role())
endpoint, seconds = sys.argv[1], float(sys.argv[2])
sts = session.create_client("sts", endpoint_url=endpoint, region_name="us-east-1")
credentials = session.get_credentials()
first = credentials.get_frozen_credentials()
calls = []
end = time.monotonic() + seconds
while time.monotonic() < end:
    arn = sts.get_caller_identity()["Arn"]
    calls.append([credentials.get_frozen_credentials().access_key, arn])
    time.sleep(0.25)
stale = session.create_client(
    "sts",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id=first.access_key,
    aws_secret_access_key=first.secret_key,
    aws_session_token=first.token,
)
try:
    stale.get_caller_identity()
    refused = None
except ClientError as exc:
    refused = exc.response["Error"]["Code"]
print(json.dumps({"first": first.access_key, "calls": calls, "first_later": refused}))
"""


def _probe(server: Server, endpoint: str, home: Path, seconds: float) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, server.endpoint, str(seconds)],
        env=clean_env(endpoint, home),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]  # the probe's JSON


def test_botocore_renews_expiring_credentials_from_imds(
    server: Server,
    iam: Any,
    unique: str,
    tmp_path: Path,
) -> None:
    name = f"renew-{unique}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=_TRUST)
    iam.create_instance_profile(InstanceProfileName=name)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    instance = f"i-7{unique}abc"
    with running_imds(server, name, instance, "--v2-only", "--session-seconds", "4") as endpoint:
        seen = _probe(server, endpoint, tmp_path, 7.0)
    keys = [key for key, _ in seen["calls"]]
    assert {arn for _, arn in seen["calls"]} == {
        f"arn:aws:sts::{server.account_id}:assumed-role/{name}/{instance}"
    }
    assert len(seen["calls"]) >= 10  # every call succeeded, across several expiries
    assert len(set(keys)) >= 3  # each session was replaced before it expired
    assert keys[0] == seen["first"]
    assert seen["first_later"] == "ExpiredToken"  # the first session did expire on the server


def _document(endpoint: str, role: str) -> dict[str, Any]:
    url = f"{endpoint}/latest/meta-data/iam/security-credentials/{role}"
    with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - a loopback test endpoint
        return json.loads(answer.read())  # type: ignore[no-any-return]  # the IMDS document


def test_imds_keeps_credentials_while_fresh_and_renews_them_near_expiry(
    server: Server, iam: Any, unique: str
) -> None:
    name = f"keep-{unique}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=_TRUST)
    iam.create_instance_profile(InstanceProfileName=name)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    with running_imds(server, name, f"i-8{unique}abc") as endpoint:  # EC2's six hours (the role's one)
        kept = [_document(endpoint, name)["AccessKeyId"] for _ in range(3)]
    with running_imds(server, name, f"i-9{unique}abc", "--session-seconds", "240") as endpoint:
        renewed = [_document(endpoint, name)["AccessKeyId"] for _ in range(3)]  # within the last 5 minutes
    assert len(set(kept)) == 1
    assert len(set(renewed)) == 3
