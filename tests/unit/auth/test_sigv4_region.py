"""The credential scope's region: a region of the partition, as botocore's endpoint data lists them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ostiary.auth import sigv4
from ostiary.auth.authenticate import authenticate
from ostiary.errors import SignatureDoesNotMatch
from ostiary.protocol import HttpRequest
from ostiary.settings import Settings
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring

KEY, SECRET = "AKIAEXAMPLEKEY000001", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
NOW = datetime(2026, 11, 30, 2, 16, 43, tzinfo=UTC)
NOT_REGIONS = ["xx", "aws-global", "cn-north-1", "us-gov-west-1", "US-EAST-1", "us-east-1-fips", "us-east-9"]


def _signed(service: str, region: str) -> tuple[HttpRequest, sigv4.SignedRequest]:
    """A request botocore signed for `region`: its signature is right, only the region is in question."""
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:8080/",
        data=b"Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    frozen = NOW.replace(tzinfo=None)
    with mock.patch(
        "botocore.auth.datetime.datetime", **{"utcnow.return_value": frozen, "now.return_value": frozen}
    ):
        SigV4Auth(Credentials(KEY, SECRET), service, region).add_auth(request)
    headers = [(k.lower(), v if isinstance(v, str) else v.decode()) for k, v in request.headers.items()]
    received = HttpRequest("POST", "/", "", (*headers, ("host", "127.0.0.1:8080")), request.body)
    signed = sigv4.parse(received)
    assert signed is not None and signed.region == region
    return received, signed


def test_the_regions_are_botocores_for_the_aws_partition() -> None:
    assert sigv4.regions() == frozenset(boto3.session.Session().get_available_regions("sts"))
    assert {"us-east-1", "eu-west-1", "ap-southeast-2"} <= sigv4.regions()


@pytest.mark.parametrize("service", ["iam", "sts"])
def test_every_region_of_the_partition_verifies(service: str) -> None:
    for region in sorted(sigv4.regions()):
        request, signed = _signed(service, region)
        sigv4.verify(request, signed, SECRET, NOW)


@pytest.mark.parametrize("region", NOT_REGIONS)
def test_iam_refuses_a_name_that_is_no_region_naming_it(region: str) -> None:
    request, signed = _signed("iam", region)
    with pytest.raises(SignatureDoesNotMatch) as err:
        sigv4.verify(request, signed, SECRET, NOW)
    assert err.value.message == f"Credential should be scoped to a valid region, not '{region}'."


@pytest.mark.parametrize("region", NOT_REGIONS)
def test_sts_refuses_a_name_that_is_no_region(region: str) -> None:
    request, signed = _signed("sts", region)
    with pytest.raises(SignatureDoesNotMatch) as err:
        sigv4.verify(request, signed, SECRET, NOW)
    assert err.value.message == "Credential should be scoped to a valid region."


def test_permissive_mode_refuses_a_name_that_is_no_region(tmp_path: Path) -> None:
    """An unknown key is root unverified in permissive mode, but its region still must be a region."""
    db = Database(f"sqlite:///{tmp_path / 'ostiary.db'}", pool=False)
    db.migrate()
    settings = Settings(auth="permissive", data_dir=tmp_path)
    keyring = Keyring(b"\x01" * 32)
    try:
        request, signed = _signed("sts", "eu-west-1")
        caller = authenticate(request, signed, db=db, keyring=keyring, settings=settings, now=NOW)
        assert caller.account_id == settings.account_id
        request, signed = _signed("sts", "xx")
        with pytest.raises(SignatureDoesNotMatch) as err:
            authenticate(request, signed, db=db, keyring=keyring, settings=settings, now=NOW)
        assert err.value.message == "Credential should be scoped to a valid region."
    finally:
        db.dispose()
