"""Clients built on botocore 1.44.8's IAM and STS models (kept in tests/data), the models the server
serves, whatever older botocore the suite runs with: they know the operations 1.43's models lack."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import boto3
import botocore.session
from botocore.config import Config

from tests.conftest import Server

NEWER_MODELS = Path(__file__).parents[1] / "data" / "botocore-1.44.8"


def newer_session() -> botocore.session.Session:
    """A botocore session that finds the newer models before its own."""
    core = botocore.session.get_session()
    core.get_component("data_loader").search_paths.insert(0, str(NEWER_MODELS))
    return core


@functools.cache
def _newer_boto3() -> boto3.Session:
    """One boto3 session over the newer models for the run: it loads each model once, not per client."""
    return boto3.Session(botocore_session=newer_session())


def newer_client(server: Server, service: str, creds: dict[str, str], *, validate: bool = True) -> Any:
    """A boto3 client of `service` that knows the newer model, signed with `creds`; `validate=False`
    sends what the client would refuse, as a hostile caller would."""
    return _newer_boto3().client(
        service,
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken"),
        config=Config(retries={"max_attempts": 1}, parameter_validation=validate),
    )


def new_account(server: Server) -> dict[str, str]:
    """A fresh account's root credentials (AccountId, AccessKeyId, SecretAccessKey)."""
    return server.new_account()


def user_client(server: Server, root: Any, name: str, policy: dict[str, Any] | None) -> Any:
    """A newer IAM client of a new user of root's account with `policy` inline (None: no policy)."""
    root.create_user(UserName=name)
    if policy is not None:
        root.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = root.create_access_key(UserName=name)["AccessKey"]
    return newer_client(
        server, "iam", {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}
    )
