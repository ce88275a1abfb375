"""The continuation tokens of the lists cut to the caller's own resources (ListBuckets, ListKeys,
ListAliases): the gateway hands out the backend's token sealed for the caller's account, opens it on
the way back, and refuses one it did not seal for this account and list with the service's own error,
before the backend sees it.

moto hands out no such token (it answers every bucket and key at once), so the backend here is a
paginating proxy in front of moto's server that pages as a naive backend would: its token is the name
of the last bucket or the id of the last key of the page, whoever owns it. Everything else it passes to
moto as it is, and it records every token it is given.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit
from xml.sax.saxutils import escape

import pytest
from botocore.exceptions import ClientError

from tests.integration.gateway_helpers import moto_backend
from tests.integration.gateway_helpers import refusal as _refusal
from tests.integration.test_gateway_ownership import Harness, running_harness

pytest.importorskip(
    "moto.server", reason="moto's server is the gateway's test backend (pip install moto[server])"
)

S3_BAD_TOKEN = ("InvalidArgument", "The continuation token provided is incorrect", 400)
KMS_BAD_MARKER = (
    "InvalidMarkerException",
    "The request was rejected because the marker that specifies where pagination should next begin is "
    "not valid.",
    400,
)
_BUCKET = re.compile(r"<Bucket>.*?</Bucket>", re.DOTALL)
_NAME = re.compile(r"<Name>([^<]*)</Name>")


class _Paginating(BaseHTTPRequestHandler):
    """Pages ListBuckets (by `max-buckets`) and ListKeys and ListAliases (by `Limit`) of moto's full
    answers; forwards everything else to moto."""

    protocol_version = "HTTP/1.1"
    moto: str = ""
    received: list[str]  # every token and marker the backend was given

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        if url.path == "/":
            self._list_buckets(dict(parse_qsl(url.query, keep_blank_values=True)))
        else:
            self._forward(b"")

    def do_POST(self) -> None:  # noqa: N802
        body = self._body()
        target = self.headers.get("x-amz-target", "")
        if target in ("TrentService.ListKeys", "TrentService.ListAliases"):
            self._list_kms(target, json.loads(body or b"{}"))
        else:
            self._forward(body)

    def do_PUT(self) -> None:  # noqa: N802
        self._forward(self._body())

    def do_DELETE(self) -> None:  # noqa: N802
        self._forward(self._body())

    def do_HEAD(self) -> None:  # noqa: N802
        self._forward(b"")

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _moto(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any, bytes]:
        moto = urlsplit(self.moto)
        connection = http.client.HTTPConnection(moto.hostname or "", moto.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def _forward(self, body: bytes) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        status, answer_headers, data = self._moto(self.command, self.path, body, headers)
        kept = [(k, v) for k, v in answer_headers if k.lower() not in ("content-length", "transfer-encoding")]
        self._answer(status, kept, data)

    def _answer(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("server", "date", "connection"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(data) if self.command != "HEAD" else 0))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _list_buckets(self, query: dict[str, str]) -> None:
        token = query.pop("continuation-token", None)
        size = int(query.pop("max-buckets", "10000"))
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        status, _, data = self._moto("GET", "/?" + urlencode(query) if query else "/", b"", headers)
        buckets = _BUCKET.findall(data.decode())
        names = [_NAME.search(b)[1] for b in buckets]  # type: ignore[index]
        start = 0
        if token is not None:
            self.received.append(token)
            if token not in names:
                error = "<Error><Code>InvalidArgument</Code><Message>bad token</Message></Error>"
                self._answer(400, [("content-type", "application/xml")], error.encode())
                return
            start = names.index(token) + 1
        page = buckets[start : start + size]
        more = start + size < len(buckets)
        next_token = (
            f"<ContinuationToken>{escape(names[start + size - 1])}</ContinuationToken>" if more else ""
        )
        document = (
            '<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult '
            'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>o</ID><DisplayName>d</DisplayName>'
            f"</Owner><Buckets>{''.join(page)}</Buckets>{next_token}</ListAllMyBucketsResult>"
        )
        self._answer(status, [("content-type", "application/xml")], document.encode())

    def _list_kms(self, target: str, params: dict[str, Any]) -> None:
        marker = params.pop("Marker", None)
        size = int(params.pop("Limit", 100))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        _, _, data = self._moto("POST", "/", json.dumps(params).encode(), headers)
        member, ident = ("Keys", "KeyId") if target.endswith("ListKeys") else ("Aliases", "AliasName")
        items = json.loads(data)[member]
        ids = [item[ident] for item in items]
        start = 0
        if marker is not None:
            self.received.append(marker)
            if marker not in ids:
                error = {"__type": "InvalidMarkerException", "message": "bad marker"}
                self._answer(
                    400, [("content-type", "application/x-amz-json-1.1")], json.dumps(error).encode()
                )
                return
            start = ids.index(marker) + 1
        answer: dict[str, Any] = {member: items[start : start + size], "Truncated": False}
        if start + size < len(items):
            answer.update(Truncated=True, NextMarker=ids[start + size - 1])
        self._answer(200, [("content-type", "application/x-amz-json-1.1")], json.dumps(answer).encode())


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from moto_backend(tmp_path_factory)


_P = TypeVar("_P", bound=_Paginating)


def serving(base: type[_P], moto: str, **attributes: Any) -> Iterator[type[_P]]:
    """A proxy of class `base` in front of moto, on a free port (its `url`), until the generator ends."""
    handler = type("Handler", (base,), {"moto": moto, "received": [], **attributes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def paginating(moto: str) -> Iterator[type[_Paginating]]:
    yield from serving(_Paginating, moto)


@pytest.fixture(scope="module")
def harness(paginating: type[_Paginating], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    yield from running_harness(paginating.url, tmp_path_factory)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def other(harness: Harness) -> dict[str, str]:
    """A second account's root."""
    return harness.account()


def _interleaved_buckets(harness: Harness, other: dict[str, str]) -> tuple[str, list[str], list[str]]:
    """Five buckets under a new prefix, made in turn by the default account and `other`: (prefix, the
    default account's, other's)."""
    prefix = f"lt-{uuid.uuid4().hex[:8]}-"
    own: list[str] = []
    theirs: list[str] = []
    for n in range(5):
        name = f"{prefix}{n}"
        harness.client("s3", other if n % 2 else None).create_bucket(Bucket=name)
        (theirs if n % 2 else own).append(name)
    return prefix, own, theirs


def _bucket_pages(s3: Any, prefix: str, size: int) -> tuple[list[str], list[str]]:
    """Every bucket ListBuckets shows under `prefix`, page by page: (names, the tokens handed out)."""
    names: list[str] = []
    tokens: list[str] = []
    params: dict[str, Any] = {"Prefix": prefix, "MaxBuckets": size}
    for _ in range(20):
        page = s3.list_buckets(**params)
        names += [b["Name"] for b in page.get("Buckets", [])]
        token = page.get("ContinuationToken")
        if not token:
            return names, tokens
        tokens.append(token)
        params["ContinuationToken"] = token
    raise AssertionError("the pages never ended")


def test_list_buckets_pages_show_the_callers_own_and_their_tokens_name_nothing(
    harness: Harness, other: dict[str, str], paginating: type[_Paginating]
) -> None:
    prefix, own, theirs = _interleaved_buckets(harness, other)
    received = len(paginating.received)
    names, tokens = _bucket_pages(harness.client("s3"), prefix, 2)
    assert names == own
    assert tokens and all(t.startswith("ot1.") for t in tokens)
    assert not any(name in token for token in tokens for name in theirs + own)
    # The backend was given its own tokens back, opened: the last bucket of each of its pages.
    assert paginating.received[received:] == [f"{prefix}1", f"{prefix}3"]
    other_names, _ = _bucket_pages(harness.client("s3", other), prefix, 2)
    assert other_names == theirs


def test_a_bucket_token_of_one_account_is_refused_to_another_before_the_backend(
    harness: Harness, other: dict[str, str], paginating: type[_Paginating]
) -> None:
    prefix, _, _ = _interleaved_buckets(harness, other)
    token = harness.client("s3").list_buckets(Prefix=prefix, MaxBuckets=2)["ContinuationToken"]
    received = len(paginating.received)
    with pytest.raises(ClientError) as refused:
        harness.client("s3", other).list_buckets(Prefix=prefix, MaxBuckets=2, ContinuationToken=token)
    assert _refusal(refused.value) == S3_BAD_TOKEN
    assert paginating.received[received:] == []


@pytest.mark.parametrize(
    "forged",
    [
        "lt-plain-bucket-name",  # a backend's own token, as a naive backend writes it
        "ot1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "ot1.not base64!",
        "ot1." + "A" * 9000,  # oversized
        "",
    ],
)
def test_a_forged_bucket_token_is_refused_before_the_backend(
    harness: Harness, paginating: type[_Paginating], forged: str
) -> None:
    received = len(paginating.received)
    with pytest.raises(ClientError) as refused:
        harness.client("s3").list_buckets(MaxBuckets=2, ContinuationToken=forged)
    assert _refusal(refused.value) == S3_BAD_TOKEN
    assert paginating.received[received:] == []


def test_an_altered_bucket_token_is_refused(
    harness: Harness, other: dict[str, str], paginating: type[_Paginating]
) -> None:
    prefix, _, _ = _interleaved_buckets(harness, other)
    token = harness.client("s3").list_buckets(Prefix=prefix, MaxBuckets=2)["ContinuationToken"]
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    received = len(paginating.received)
    with pytest.raises(ClientError) as refused:
        harness.client("s3").list_buckets(Prefix=prefix, MaxBuckets=2, ContinuationToken=flipped)
    assert _refusal(refused.value) == S3_BAD_TOKEN
    assert paginating.received[received:] == []


def _interleaved_keys(harness: Harness, other: dict[str, str]) -> tuple[list[str], list[str]]:
    own: list[str] = []
    theirs: list[str] = []
    for n in range(5):
        key = harness.client("kms", other if n % 2 else None).create_key()["KeyMetadata"]["KeyId"]
        (theirs if n % 2 else own).append(key)
    return own, theirs


def _key_pages(kms: Any, limit: int) -> tuple[list[str], list[str]]:
    keys: list[str] = []
    markers: list[str] = []
    params: dict[str, Any] = {"Limit": limit}
    for _ in range(100):
        page = kms.list_keys(**params)
        keys += [k["KeyId"] for k in page["Keys"]]
        if not page.get("Truncated"):
            return keys, markers
        markers.append(page["NextMarker"])
        params["Marker"] = page["NextMarker"]
    raise AssertionError("the pages never ended")


def test_list_keys_pages_show_the_callers_own_and_their_markers_name_nothing(
    harness: Harness, other: dict[str, str], paginating: type[_Paginating]
) -> None:
    own, theirs = _interleaved_keys(harness, other)
    received = len(paginating.received)
    keys, markers = _key_pages(harness.client("kms"), 1)
    assert set(own) <= set(keys) and not set(theirs) & set(keys)
    assert markers and all(m.startswith("ot1.") for m in markers)
    assert not any(key in marker for marker in markers for key in own + theirs)
    given = paginating.received[received:]
    assert set(theirs) <= set(given)  # the backend got its own markers back, another account's keys too
    other_keys, _ = _key_pages(harness.client("kms", other), 2)
    assert set(theirs) <= set(other_keys) and not set(own) & set(other_keys)


def test_a_kms_marker_of_one_account_or_list_is_refused_elsewhere_before_the_backend(
    harness: Harness, other: dict[str, str], paginating: type[_Paginating]
) -> None:
    _interleaved_keys(harness, other)
    marker = harness.client("kms").list_keys(Limit=1)["NextMarker"]
    received = len(paginating.received)
    with pytest.raises(ClientError) as refused:
        harness.client("kms", other).list_keys(Limit=1, Marker=marker)
    assert _refusal(refused.value) == KMS_BAD_MARKER
    with pytest.raises(ClientError) as aliases:
        harness.client("kms").list_aliases(Limit=1, Marker=marker)  # a ListKeys marker
    assert _refusal(aliases.value) == KMS_BAD_MARKER
    assert paginating.received[received:] == []
    harness.client("kms").list_keys(Limit=1, Marker=marker)  # its own account and list take it
    assert len(paginating.received) == received + 1


@pytest.mark.parametrize(
    "forged", ["plain-key-id", "ot1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "ot1." + "B" * 9000]
)
def test_a_forged_kms_marker_is_refused_before_the_backend(
    harness: Harness, paginating: type[_Paginating], forged: str
) -> None:
    received = len(paginating.received)
    with pytest.raises(ClientError) as refused:
        harness.client("kms").list_keys(Limit=1, Marker=forged)
    assert _refusal(refused.value) == KMS_BAD_MARKER
    assert paginating.received[received:] == []
