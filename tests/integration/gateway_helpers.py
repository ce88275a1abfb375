"""moto's server as the gateway's backend in tests: one process serves DynamoDB, KMS and the rest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import free_port, wait_for_port


def moto_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's server on a free loopback port, for as long as the generator is not closed."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    env = dict(os.environ, MOTO_ALLOW_NONEXISTENT_REGION="true")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        wait_for_port(port, process, log)
        yield f"http://127.0.0.1:{port}"
    finally:  # also when the generator is closed at its yield (GeneratorExit)
        process.terminate()
        process.wait(timeout=10)


def backend_client(backend: str, service: str) -> Any:
    """A boto3 client of the backend itself (moto's `test`/`test`), to see what really landed there."""
    return boto3.client(
        service,
        endpoint_url=backend,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )


def refusal(error: ClientError) -> tuple[str, str, int]:
    """A client error's code, message and HTTP status."""
    response = error.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def refused(call: Any, **kwargs: Any) -> tuple[str, str, int]:
    """The code, message and HTTP status of the error `call(**kwargs)` must raise."""
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return refusal(caught.value)


def records_by_name(gateway: Any, username: str) -> dict[str, list[dict[str, Any]]]:
    """A user's CloudTrail records (LookupEvents, one page) by event name, oldest first."""
    page = gateway.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": username}]
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for event in reversed(page["Events"]):
        record = json.loads(event["CloudTrailEvent"])
        found.setdefault(record["eventName"], []).append(record)
    return found


def saved_while_deleted(iam: Any, put: Callable[[str], object]) -> tuple[str, str]:
    """A user made, then a policy naming it saved (`put(its ARN)`) while the user is deleted beside it:
    (the user's ARN, "saved" or the code of the save's refusal)."""
    name = f"race-{uuid.uuid4().hex[:8]}"
    arn = str(iam.create_user(UserName=name)["User"]["Arn"])

    def save() -> str:
        try:
            put(arn)
        except ClientError as exc:
            return refusal(exc)[0]
        return "saved"

    with ThreadPoolExecutor(2) as pool:
        saved = pool.submit(save)
        pool.submit(iam.delete_user, UserName=name).result()
        return arn, saved.result()
