"""OpenID Connect providers through boto3 against the real server: AWS's shapes, limits and texts."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from ostiary.services.oidc_providers import find_oidc_provider
from ostiary.store.db import Database

A, B, C, D = ("a" * 40, "b" * 40, "c" * 40, "d" * 40)


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def test_create_get_list_delete(iam, server, unique):
    url = f"https://oidc-{unique}.example.com/tenant"
    arn = iam.create_open_id_connect_provider(
        Url=url, ThumbprintList=[A], ClientIDList=["app", "app", "web"]
    )["OpenIDConnectProviderArn"]
    assert arn == f"arn:aws:iam::{server.account_id}:oidc-provider/oidc-{unique}.example.com/tenant"
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["Url"] == f"oidc-{unique}.example.com/tenant"
    assert got["ClientIDList"] == ["app", "web"] and got["ThumbprintList"] == [A]
    assert "CreateDate" in got
    assert {"Arn": arn} in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    with pytest.raises(ClientError) as exc:
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert error(exc) == ("NoSuchEntity", f"OpenIDConnect Provider not found for arn {arn}")
    with pytest.raises(ClientError) as exc:
        iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert error(exc) == ("NoSuchEntity", f"OpenId connect Provider {arn} cannot be found.")


def test_duplicate_url_is_refused(iam, unique):
    url = f"https://oidc-dup-{unique}.example.com"
    iam.create_open_id_connect_provider(Url=url, ThumbprintList=[A])
    with pytest.raises(ClientError) as exc:
        iam.create_open_id_connect_provider(Url=url, ThumbprintList=[A])
    assert error(exc) == ("EntityAlreadyExists", f"Provider with url {url} already exists.")


def test_validation(iam, unique):
    with pytest.raises(ClientError) as exc:
        iam.create_open_id_connect_provider(Url="example.org", ThumbprintList=[A])
    assert error(exc) == ("ValidationError", "Invalid Open ID Connect Provider URL")
    with pytest.raises(ClientError) as exc:
        iam.create_open_id_connect_provider(Url=f"http://oidc-{unique}.example.com", ThumbprintList=[A])
    assert error(exc) == ("ValidationError", "Invalid Open ID Connect Provider URL")
    with pytest.raises(ClientError) as exc:
        iam.create_open_id_connect_provider(
            Url=f"https://t-{unique}.example.com", ThumbprintList=[A, B, C, D, "e" * 40, "f" * 40]
        )
    assert error(exc) == ("InvalidInput", "Thumbprint list must contain fewer than 5 entries.")
    with pytest.raises(ClientError) as exc:
        iam.create_open_id_connect_provider(
            Url=f"https://c-{unique}.example.com",
            ThumbprintList=[A],
            ClientIDList=[str(i) for i in range(101)],
        )
    assert error(exc) == ("LimitExceeded", "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100")
    with pytest.raises(ClientError) as exc:
        iam.create_open_id_connect_provider(
            Url="b" * 256, ThumbprintList=["b" * 41], ClientIDList=["b" * 256]
        )
    code, message = error(exc)
    assert code == "ValidationError" and message.startswith("3 validation errors detected")


def test_client_ids_and_thumbprints(iam, unique):
    arn = iam.create_open_id_connect_provider(Url=f"https://ids-{unique}.example.com", ThumbprintList=[A])[
        "OpenIDConnectProviderArn"
    ]
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="one")
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="two")
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="one")
    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="one")
    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="absent")
    iam.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=arn, ThumbprintList=[C, D])
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert (got["ClientIDList"], got["ThumbprintList"]) == (["two"], [C, D])
    with pytest.raises(ClientError) as exc:
        iam.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=arn, ThumbprintList=[A] * 6)
    assert error(exc)[0] == "InvalidInput"


def test_tags(iam, unique):
    arn = iam.create_open_id_connect_provider(
        Url=f"https://tags-{unique}.example.com",
        ThumbprintList=[A],
        Tags=[{"Key": f"k{i:02d}", "Value": "v"} for i in range(10)],
    )["OpenIDConnectProviderArn"]
    first = iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=arn, MaxItems=4)
    second = iam.list_open_id_connect_provider_tags(
        OpenIDConnectProviderArn=arn, MaxItems=4, Marker=first["Marker"]
    )
    third = iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=arn, Marker=second["Marker"])
    keys = [t["Key"] for page in (first, second, third) for t in page["Tags"]]
    assert keys == [f"k{i:02d}" for i in range(10)] and not third["IsTruncated"]
    iam.untag_open_id_connect_provider(
        OpenIDConnectProviderArn=arn, TagKeys=[f"k{i:02d}" for i in range(2, 10)]
    )
    iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=arn, Tags=[{"Key": "k01", "Value": "w"}])
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["Tags"] == [
        {"Key": "k00", "Value": "v"},
        {"Key": "k01", "Value": "w"},
    ]
    many = [{"Key": f"m{i}", "Value": "v"} for i in range(49)]
    with pytest.raises(ClientError) as exc:
        iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=arn, Tags=many)
    assert error(exc) == ("LimitExceeded", "The number of tags has reached the maximum limit.")


def test_find_oidc_provider_by_issuer(iam, server, unique):
    url = f"https://issuer-{unique}.example.com/realm"
    arn = iam.create_open_id_connect_provider(Url=url, ClientIDList=["aud-1"])["OpenIDConnectProviderArn"]
    db = Database(server.database_url, pool=False)
    try:
        with db.read() as conn:
            found = find_oidc_provider(conn, server.account_id, url)
            assert found == {"Arn": arn, "Url": url, "ClientIDList": ["aud-1"], "ThumbprintList": []}
            assert (
                find_oidc_provider(conn, server.account_id, f"http://issuer-{unique}.example.com/realm")
                is None
            )
            assert find_oidc_provider(conn, server.account_id, f"https://other-{unique}.example.com") is None
    finally:
        db.dispose()
