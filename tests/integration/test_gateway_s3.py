"""S3 through the gateway: boto3 and the AWS CLI against `ostiary serve --backend s3=...`, moto's server
behind it. Bodies stream both ways and are checked on the way in; presigned URLs and virtual hosts work."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from boto3.s3.transfer import TransferConfig
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import ROOT_KEY, ROOT_SECRET, Server, start_server, stop_server
from tests.integration.gateway_helpers import backend_client, moto_backend

pytest.importorskip("moto.server", reason="moto's server is the gateway's test backend")


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from moto_backend(tmp_path_factory)


@pytest.fixture(scope="module")
def gateway(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("ostiary-s3")
    server = start_server(
        data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite", "--backend", f"s3={backend}"
    )
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def direct(backend: str) -> Any:
    """An S3 client of the backend itself, to see what really landed there."""
    return backend_client(backend, "s3")


@pytest.fixture
def bucket(gateway: Server) -> str:
    name = f"b-{uuid.uuid4().hex[:16]}"
    gateway.client("s3").create_bucket(Bucket=name)
    return name


def _user(gateway: Server, policy: dict[str, Any]) -> Any:
    """An S3 client of a new user with `policy` inline."""
    iam = gateway.client("iam")
    name = f"u-{uuid.uuid4().hex[:10]}"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return gateway.client("s3", key["AccessKeyId"], key["SecretAccessKey"])


def _allow(
    actions: list[str], resources: list[str], condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def _code(error: ClientError) -> tuple[str, int]:
    return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]


def _signed(
    method: str, url: str, body: bytes, headers: dict[str, str] | None = None, payload_hash: str | None = None
) -> AWSRequest:
    """A request as botocore's S3 signer signs it with the root's key (the payload hash may lie)."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    if payload_hash is not None:
        request.headers["X-Amz-Content-SHA256"] = payload_hash

        class _Declared(S3SigV4Auth):  # type: ignore[misc]
            def payload(self, request: AWSRequest) -> str:
                return payload_hash

        _Declared(Credentials(ROOT_KEY, ROOT_SECRET), "s3", "us-east-1").add_auth(request)
    else:
        S3SigV4Auth(Credentials(ROOT_KEY, ROOT_SECRET), "s3", "us-east-1").add_auth(request)
    return request


def _send(request: AWSRequest, *, connect_to: str | None = None) -> urllib3.BaseHTTPResponse:
    url = request.url if connect_to is None else connect_to
    return urllib3.request(
        request.method, url, body=request.body, headers=dict(request.headers.items()), retries=False
    )


def test_objects_round_trip_through_the_gateway(gateway: Server, bucket: str, direct: Any) -> None:
    s3 = gateway.client("s3")
    s3.put_object(Bucket=bucket, Key="a/b c+d.txt", Body=b"hello")
    assert s3.get_object(Bucket=bucket, Key="a/b c+d.txt")["Body"].read() == b"hello"
    assert direct.get_object(Bucket=bucket, Key="a/b c+d.txt")["Body"].read() == b"hello"
    assert s3.head_object(Bucket=bucket, Key="a/b c+d.txt")["ContentLength"] == 5
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="a/")
    assert [o["Key"] for o in listed["Contents"]] == ["a/b c+d.txt"]
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_a_large_object_streams_both_ways(gateway: Server, bucket: str, tmp_path: Path) -> None:
    data = hashlib.sha256(b"seed").digest() * (6 * 1024 * 1024 // 32)  # 6 MiB: past the buffered size
    s3 = gateway.client("s3")
    s3.put_object(Bucket=bucket, Key="big", Body=data)
    assert (
        hashlib.sha256(s3.get_object(Bucket=bucket, Key="big")["Body"].read()).digest()
        == hashlib.sha256(data).digest()
    )
    ranged = s3.get_object(Bucket=bucket, Key="big", Range="bytes=10-19")["Body"].read()
    assert ranged == data[10:20]


def test_multipart_uploads_and_copies(gateway: Server, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "multi.bin"
    source.write_bytes(b"x" * (12 * 1024 * 1024))
    s3 = gateway.client("s3")
    s3.upload_file(str(source), bucket, "multi", Config=TransferConfig(multipart_threshold=5 * 1024 * 1024))
    assert s3.head_object(Bucket=bucket, Key="multi")["ContentLength"] == 12 * 1024 * 1024
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "multi"})
    assert s3.head_object(Bucket=bucket, Key="copy")["ContentLength"] == 12 * 1024 * 1024


def test_delete_objects_reads_its_document(gateway: Server, bucket: str) -> None:
    s3 = gateway.client("s3")
    for key in ("k1", "k2"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k1"}, {"Key": "k2"}]})
    assert sorted(d["Key"] for d in deleted["Deleted"]) == ["k1", "k2"]
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_a_body_that_is_not_its_declared_hash_never_lands(gateway: Server, bucket: str, direct: Any) -> None:
    for size in (100, 3 * 1024 * 1024):  # checked whole, and checked as it streams
        body = b"a" * size
        lying = hashlib.sha256(b"b" * size).hexdigest()
        request = _signed("PUT", f"{gateway.endpoint}/{bucket}/tampered-{size}", body, payload_hash=lying)
        answer = _send(request)
        assert answer.status == 400, answer.data
        assert b"<Code>XAmzContentSHA256Mismatch</Code>" in answer.data
        with pytest.raises(ClientError) as missing:
            direct.head_object(Bucket=bucket, Key=f"tampered-{size}")
        assert _code(missing.value)[1] == 404


def test_a_signature_over_another_body_is_refused(gateway: Server, bucket: str, direct: Any) -> None:
    request = _signed("PUT", f"{gateway.endpoint}/{bucket}/swapped", b"original")
    request.data = b"swapped!"  # same length, same declared hash: the body is not what was signed
    answer = _send(request)
    assert answer.status == 400 and b"XAmzContentSHA256Mismatch" in answer.data
    with pytest.raises(ClientError):
        direct.head_object(Bucket=bucket, Key="swapped")


def test_presigned_urls_get_and_put(gateway: Server, bucket: str) -> None:
    s3 = gateway.client("s3", signature_version="s3v4")
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "pre"}, ExpiresIn=60)
    assert urllib3.request("PUT", put_url, body=b"presigned body").status == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "pre"}, ExpiresIn=60)
    answer = urllib3.request("GET", get_url)
    assert (answer.status, answer.data) == (200, b"presigned body")
    tampered = get_url.replace("Key=pre", "Key=pre").replace(f"/{bucket}/pre", f"/{bucket}/other")
    refused = urllib3.request("GET", tampered)
    assert refused.status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in refused.data


def test_signature_version_2_is_refused_as_for_new_buckets(gateway: Server, bucket: str) -> None:
    url = gateway.client("s3").generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    assert "AWSAccessKeyId=" in url  # botocore presigns S3 with version 2 unless told otherwise
    answer = urllib3.request("GET", url)
    assert answer.status == 400 and b"<Code>InvalidRequest</Code>" in answer.data
    assert b"Please use AWS4-HMAC-SHA256." in answer.data


def test_virtual_hosted_buckets(gateway: Server, bucket: str) -> None:
    gateway.client("s3").put_object(Bucket=bucket, Key="v", Body=b"virtual")
    port = gateway.endpoint.rsplit(":", 1)[1]
    host = f"{bucket}.localhost:{port}"
    request = _signed("GET", f"http://{host}/v", b"", headers={"Host": host})
    answer = _send(request, connect_to=f"http://127.0.0.1:{port}/v")
    assert (answer.status, answer.data) == (200, b"virtual"), answer.data


def test_users_are_decided_by_their_policies(gateway: Server, bucket: str) -> None:
    gateway.client("s3").put_object(Bucket=bucket, Key="reports/r1", Body=b"r")
    reader = _user(
        gateway,
        _allow(
            ["s3:GetObject", "s3:ListBucket"],
            [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/reports/*"],
        ),
    )
    assert reader.get_object(Bucket=bucket, Key="reports/r1")["Body"].read() == b"r"
    assert reader.list_objects_v2(Bucket=bucket)["KeyCount"] == 1
    with pytest.raises(ClientError) as refused:
        reader.put_object(Bucket=bucket, Key="reports/r2", Body=b"no")
    assert _code(refused.value) == ("AccessDenied", 403)
    assert "s3:PutObject" in refused.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as unsigned:
        reader.list_buckets()
    assert _code(unsigned.value) == ("AccessDenied", 403)


def test_list_prefix_conditions_decide(gateway: Server, bucket: str) -> None:
    lister = _user(
        gateway,
        _allow(["s3:ListBucket"], [f"arn:aws:s3:::{bucket}"], {"StringLike": {"s3:prefix": "home/*"}}),
    )
    assert lister.list_objects_v2(Bucket=bucket, Prefix="home/me/")["KeyCount"] == 0
    with pytest.raises(ClientError) as refused:
        lister.list_objects_v2(Bucket=bucket, Prefix="other/")
    assert _code(refused.value) == ("AccessDenied", 403)


def test_unsigned_requests_are_refused_without_a_policy(gateway: Server, bucket: str) -> None:
    answer = urllib3.request("GET", f"{gateway.endpoint}/{bucket}/anything")
    assert answer.status == 403 and b"<Code>AccessDenied</Code>" in answer.data


def _cli_env(gateway: Server) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": ROOT_KEY,
        "AWS_SECRET_ACCESS_KEY": ROOT_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": gateway.endpoint,
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
    }


@pytest.mark.slow
def test_the_aws_cli_copies_100_mb_up_and_down(gateway: Server, bucket: str, tmp_path: Path) -> None:
    """`aws s3 cp` uploads in parts, in parallel, and downloads in ranges: all through the gateway."""
    source = tmp_path / "100mb.bin"
    with source.open("wb") as out:
        for index in range(100):
            out.write(hashlib.sha256(b"%d" % index).digest() * (1024 * 1024 // 32))
    env = _cli_env(gateway)
    subprocess.run(
        ["aws", "s3", "cp", str(source), f"s3://{bucket}/big.bin"], check=True, env=env, timeout=300
    )
    back = tmp_path / "back.bin"
    subprocess.run(["aws", "s3", "cp", f"s3://{bucket}/big.bin", str(back)], check=True, env=env, timeout=300)
    assert back.stat().st_size == 100 * 1024 * 1024
    assert hashlib.sha256(back.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()


def test_the_aws_cli_copies_and_syncs(gateway: Server, bucket: str, tmp_path: Path) -> None:
    folder = tmp_path / "tree"
    (folder / "sub").mkdir(parents=True)
    (folder / "one.txt").write_text("one")
    (folder / "sub" / "two.txt").write_text("two")
    env = {
        "AWS_ACCESS_KEY_ID": ROOT_KEY,
        "AWS_SECRET_ACCESS_KEY": ROOT_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": gateway.endpoint,
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
    }
    subprocess.run(
        ["aws", "s3", "sync", str(folder), f"s3://{bucket}/tree"], check=True, env=env, timeout=120
    )
    listed = gateway.client("s3").list_objects_v2(Bucket=bucket, Prefix="tree/")
    assert sorted(o["Key"] for o in listed["Contents"]) == ["tree/one.txt", "tree/sub/two.txt"]
    back = tmp_path / "back.txt"
    subprocess.run(
        ["aws", "s3", "cp", f"s3://{bucket}/tree/sub/two.txt", str(back)], check=True, env=env, timeout=120
    )
    assert back.read_text() == "two"


def test_a_body_of_unsaid_length_is_refused_as_s3_refuses_it(
    gateway: Server, bucket: str, direct: Any
) -> None:
    request = _signed("PUT", f"{gateway.endpoint}/{bucket}/chunked", b"", payload_hash="UNSIGNED-PAYLOAD")
    headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
    answer = urllib3.PoolManager().urlopen(
        "PUT",
        request.url,
        body=iter([b"a" * 1000, b"b" * 1000]),
        headers=headers,
        chunked=True,
        retries=False,
    )
    assert answer.status == 411 and b"<Code>MissingContentLength</Code>" in answer.data
    with pytest.raises(ClientError):
        direct.head_object(Bucket=bucket, Key="chunked")
