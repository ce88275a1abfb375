"""Starting `ostiary imds` beside a test server, and running boto3 in a clean environment against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import Server, free_port, wait_for_port

# IMDSv2's headers, and the trust policy of a role an instance profile gives to EC2 instances.
TTL = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN = "X-aws-ec2-metadata-token"
EC2_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)

_PROBE = r"""
import json, os, sys
import boto3
from botocore.exceptions import NoCredentialsError
sts = boto3.client("sts", endpoint_url=sys.argv[1], region_name="us-east-1")
try:
    print(json.dumps(sts.get_caller_identity()))
except NoCredentialsError:
    print(json.dumps({"error": "NoCredentialsError"}))
"""


@contextmanager
def running_imds(server: Server, profile: str, instance_id: str, *extra: str) -> Iterator[str]:
    """`ostiary imds` for `profile` on a free port; yields its endpoint."""
    port = free_port()
    log = server.data_dir / f"imds-{port}.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ostiary",
            "imds",
            "--instance-profile",
            profile,
            "--port",
            str(port),
            "--instance-id",
            instance_id,
            *extra,
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=server.cli_env(),
    )
    try:
        wait_for_port(port, process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def clean_env(metadata_endpoint: str, home: Path) -> dict[str, str]:
    """An environment with no AWS credentials anywhere, the metadata endpoint set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        HOME=str(home),
        AWS_CONFIG_FILE=str(home / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "none"),
        AWS_EC2_METADATA_SERVICE_ENDPOINT=metadata_endpoint,
        AWS_EC2_METADATA_DISABLED="false",
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
    )
    return env


def identity_from_metadata(server: Server, metadata_endpoint: str, home: Path) -> dict[str, str]:
    """GetCallerIdentity from boto3 in a subprocess whose only credentials are the metadata endpoint's."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, server.endpoint],
        env=clean_env(metadata_endpoint, home),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)
