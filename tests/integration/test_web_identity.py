"""AssumeRoleWithWebIdentity against a real OIDC issuer on loopback (discovery and JWKS over HTTP)."""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import jwt
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.conftest import Server, start_server, stop_server

CLIENT_ID = "ostiary-test-app"
_NO_KEY = (
    "Couldn't retrieve verification key from your identity provider,  please reference "
    "AssumeRoleWithWebIdentity documentation for requirements"
)


@dataclass
class Issuer:
    """A loopback OpenID Connect issuer: one RSA and one EC key, more keys per issuer path on demand."""

    base: str = ""
    rsa_key: Any = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    ec_key: Any = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    extra: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # path -> more JWKs
    fetches: dict[str, int] = field(default_factory=dict)  # path -> discovery documents served
    withdrawn: dict[str, set[str]] = field(default_factory=dict)  # path -> key ids no longer published
    max_age: dict[str, int] = field(default_factory=dict)  # path -> Cache-Control max-age of its JWKS
    redirects: dict[str, str] = field(default_factory=dict)  # request path -> where it is sent (302)
    requests: dict[str, int] = field(default_factory=dict)  # path -> requests of any kind
    # path -> (set when a request for it arrives, the answer waits until this is set)
    holds: dict[str, tuple[threading.Event, threading.Event]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"{self.base}/{path}"

    def jwks(self, path: str) -> dict[str, Any]:
        keys = [
            {
                **json.loads(RSAAlgorithm.to_jwk(self.rsa_key.public_key())),
                "kid": "rsa1",
                "use": "sig",
                "alg": "RS256",
            },
            {
                **json.loads(ECAlgorithm.to_jwk(self.ec_key.public_key())),
                "kid": "ec1",
                "use": "sig",
                "alg": "ES256",
            },
        ]
        gone = self.withdrawn.get(path, set())
        return {"keys": [k for k in keys + self.extra.get(path, []) if k["kid"] not in gone]}

    def token(
        self, path: str, *, key: Any = None, kid: str = "rsa1", alg: str = "RS256", **claims: Any
    ) -> str:
        now = int(time.time())
        body = {
            "iss": self.url(path),
            "aud": CLIENT_ID,
            "sub": "user-1",
            "iat": now,
            "exp": now + 600,
            **claims,
        }
        return jwt.encode(body, key if key is not None else self.rsa_key, algorithm=alg, headers={"kid": kid})


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    found = Issuer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            path, _, tail = self.path.strip("/").partition("/")
            found.requests[path] = found.requests.get(path, 0) + 1
            if self.path.strip("/") in found.redirects:
                self.send_response(302)
                self.send_header("Location", found.redirects[self.path.strip("/")])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if path in found.holds:
                arrived, release = found.holds[path]
                arrived.set()
                release.wait(30)
            if tail == ".well-known/openid-configuration":
                found.fetches[path] = found.fetches.get(path, 0) + 1
                body = {"issuer": found.url(path), "jwks_uri": found.url(path) + "/jwks"}
            elif tail.startswith("jwks"):
                body = found.jwks(path)
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if tail == "jwks" and path in found.max_age:
                self.send_header("Cache-Control", f"public, max-age={found.max_age[path]}")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield found
    httpd.shutdown()
    httpd.server_close()


def _trust(provider_arn: str, provider: str, sub: str = "user-1") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {f"{provider}:aud": CLIENT_ID, f"{provider}:sub": sub}},
                }
            ],
        }
    )


@pytest.fixture
def setup(server: Server, iam: Any, issuer: Issuer, unique: str) -> dict[str, str]:
    """An OIDC provider for the issuer path `unique`, and a role trusting it for sub user-1."""
    url = issuer.url(unique)
    arn = iam.create_open_id_connect_provider(Url=url, ClientIDList=[CLIENT_ID], ThumbprintList=["a" * 40])[
        "OpenIDConnectProviderArn"
    ]
    provider = url.split("://", 1)[1]
    role = iam.create_role(RoleName=f"web-{unique}", AssumeRolePolicyDocument=_trust(arn, provider))["Role"]
    return {
        "path": unique,
        "provider_arn": arn,
        "provider": provider,
        "role_arn": role["Arn"],
        "role_name": role["RoleName"],
    }


def _assume(sts: Any, setup: dict[str, str], token: str, role_arn: str | None = None) -> dict[str, Any]:
    return sts.assume_role_with_web_identity(
        RoleArn=role_arn or setup["role_arn"], RoleSessionName="app", WebIdentityToken=token
    )


def _error(sts: Any, setup: dict[str, str], token: str, role_arn: str | None = None) -> dict[str, str]:
    with pytest.raises(ClientError) as caught:
        _assume(sts, setup, token, role_arn)
    return caught.value.response["Error"]


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_token_signed_by_issuer_key_gives_role_credentials(
    server: Server, sts: Any, issuer: Issuer, setup: dict[str, str], kind: str
) -> None:
    if kind == "rsa":
        token = issuer.token(setup["path"])
    else:
        token = issuer.token(setup["path"], key=issuer.ec_key, kid="ec1", alg="ES256")
    out = _assume(sts, setup, token)
    assert out["SubjectFromWebIdentityToken"] == "user-1"
    assert out["Audience"] == CLIENT_ID
    assert out["Provider"] == setup["provider"]
    arn = f"arn:aws:sts::{server.account_id}:assumed-role/{setup['role_name']}/app"
    assert out["AssumedRoleUser"]["Arn"] == arn
    creds = out["Credentials"]
    session = server.client("sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assert session.get_caller_identity()["Arn"] == arn


def test_unsigned_call_needs_no_credentials(server: Server, issuer: Issuer, setup: dict[str, str]) -> None:
    from botocore import UNSIGNED
    from botocore.config import Config

    anonymous = boto3.client(
        "sts",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        config=Config(signature_version=UNSIGNED),
    )
    out = _assume(anonymous, setup, issuer.token(setup["path"]))
    assert out["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_trust_condition_on_sub_refuses_other_subject(
    sts: Any, issuer: Issuer, setup: dict[str, str]
) -> None:
    error = _error(sts, setup, issuer.token(setup["path"], sub="someone-else"))
    assert error == {
        "Type": "Sender",
        "Code": "AccessDenied",
        "Message": "Not authorized to perform sts:AssumeRoleWithWebIdentity",
    }


def test_role_that_does_not_trust_the_provider_refuses(
    iam: Any, sts: Any, issuer: Issuer, setup: dict[str, str], unique: str
) -> None:
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    other = iam.create_role(RoleName=f"noweb-{unique}", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    error = _error(sts, setup, issuer.token(setup["path"]), role_arn=other)
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == "Not authorized to perform sts:AssumeRoleWithWebIdentity"


def test_wrong_audience_refused(sts: Any, issuer: Issuer, setup: dict[str, str]) -> None:
    error = _error(sts, setup, issuer.token(setup["path"], aud="another-app"))
    assert (error["Code"], error["Message"]) == ("InvalidIdentityToken", "Incorrect token audience")


def test_expired_token_refused(sts: Any, issuer: Issuer, setup: dict[str, str]) -> None:
    past = int(time.time()) - 120
    error = _error(sts, setup, issuer.token(setup["path"], iat=past - 600, exp=past))
    assert error["Code"] == "ExpiredTokenException"
    assert error["Message"].startswith("Token expired: current date/time ")


def test_token_not_yet_valid_refused(sts: Any, issuer: Issuer, setup: dict[str, str]) -> None:
    error = _error(sts, setup, issuer.token(setup["path"], nbf=int(time.time()) + 300))
    assert error["Code"] == "InvalidIdentityToken"


def test_unknown_key_id_refused(sts: Any, issuer: Issuer, setup: dict[str, str]) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    error = _error(sts, setup, issuer.token(setup["path"], key=stranger, kid="nobody"))
    assert error["Code"] == "InvalidIdentityToken"
    assert error["Message"].startswith("Couldn't retrieve verification key from your identity provider")


def test_bad_signature_refused(sts: Any, issuer: Issuer, setup: dict[str, str]) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = issuer.token(setup["path"], key=stranger, kid="rsa1")
    error = _error(sts, setup, forged)
    assert error["Code"] == "InvalidIdentityToken"
    tampered = issuer.token(setup["path"]).split(".")
    claims = json.loads(jwt.utils.base64url_decode(tampered[1]))
    claims["sub"] = "admin"
    tampered[1] = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    assert _error(sts, setup, ".".join(tampered))["Code"] == "InvalidIdentityToken"


def test_algorithm_confusion_refused(sts: Any, issuer: Issuer, setup: dict[str, str]) -> None:
    now = int(time.time())
    body = {"iss": issuer.url(setup["path"]), "aud": CLIENT_ID, "sub": "user-1", "exp": now + 600}
    unsigned = jwt.encode(body, None, algorithm="none", headers={"kid": "rsa1"})
    assert _error(sts, setup, unsigned)["Code"] == "InvalidIdentityToken"
    hmac_token = jwt.encode(
        body, "shared-secret-that-is-long-enough-for-hs256", algorithm="HS256", headers={"kid": "rsa1"}
    )
    assert _error(sts, setup, hmac_token)["Code"] == "InvalidIdentityToken"


def test_rotated_key_is_fetched_on_unknown_kid(sts: Any, issuer: Issuer, setup: dict[str, str]) -> None:
    _assume(sts, setup, issuer.token(setup["path"]))  # the key set is now kept
    time.sleep(1.1)  # an unknown key id fetches the keys again at most once a second per issuer
    rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer.extra[setup["path"]] = [
        {**json.loads(RSAAlgorithm.to_jwk(rotated.public_key())), "kid": "rsa2", "use": "sig", "alg": "RS256"}
    ]
    out = _assume(sts, setup, issuer.token(setup["path"], key=rotated, kid="rsa2"))
    assert out["SubjectFromWebIdentityToken"] == "user-1"


def test_issuer_without_provider_refused(sts: Any, issuer: Issuer, setup: dict[str, str]) -> None:
    error = _error(sts, setup, issuer.token(setup["path"], iss=issuer.url("no-such-provider")))
    assert error["Code"] == "InvalidIdentityToken"
    assert (
        error["Message"]
        == f"No OpenIDConnect provider found in your account for {issuer.url('no-such-provider')}"
    )


def test_a_slow_issuer_holds_up_no_other_request(
    server: Server, issuer: Issuer, setup: dict[str, str]
) -> None:
    arrived, release = threading.Event(), threading.Event()
    issuer.holds[setup["path"]] = (arrived, release)
    outcome: dict[str, Any] = {}
    token = issuer.token(setup["path"])
    worker = threading.Thread(target=lambda: outcome.update(out=_assume(server.client("sts"), setup, token)))
    worker.start()
    try:
        assert arrived.wait(15)  # the server is now waiting for the issuer's discovery document
        # and still answers others meanwhile, long before it would give up on the issuer (5 s): a
        # server that waited on the issuer in its event loop would answer only after that
        started = time.monotonic()
        assert server.client("iam").get_user()["User"]["Arn"].endswith(":root")
        assert time.monotonic() - started < 4
        assert worker.is_alive() and "out" not in outcome
    finally:
        release.set()
        worker.join(30)
    assert outcome["out"]["SubjectFromWebIdentityToken"] == "user-1"


def test_made_up_key_ids_do_not_make_the_server_fetch_at_their_pace(
    sts: Any, issuer: Issuer, setup: dict[str, str]
) -> None:
    _assume(sts, setup, issuer.token(setup["path"]))  # the key set is now kept
    fetched = issuer.fetches[setup["path"]]
    for n in range(5):
        assert (
            _error(sts, setup, issuer.token(setup["path"], kid=f"made-up-{n}"))["Code"]
            == "InvalidIdentityToken"
        )
    assert issuer.fetches[setup["path"]] <= fetched + 1


def test_key_of_another_family_than_the_algorithm_is_refused_not_a_crash(
    sts: Any, issuer: Issuer, setup: dict[str, str]
) -> None:
    # the token names the issuer's EC key but says RS256 (and the reverse): the key cannot serve it
    for kid, alg, key in (("ec1", "RS256", issuer.rsa_key), ("rsa1", "ES256", issuer.ec_key)):
        error = _error(sts, setup, issuer.token(setup["path"], key=key, kid=kid, alg=alg))
        assert (error["Code"], error["Message"]) == ("InvalidIdentityToken", _NO_KEY)


@pytest.mark.parametrize("value", [float("nan"), float("-inf"), float("inf")])
def test_exp_or_nbf_that_is_not_a_finite_number_is_refused(
    sts: Any, issuer: Issuer, setup: dict[str, str], value: float
) -> None:
    # json reads NaN and Infinity: NaN compares false both ways, so it would never expire
    assert _error(sts, setup, issuer.token(setup["path"], exp=value))["Code"] == "InvalidIdentityToken"
    assert _error(sts, setup, issuer.token(setup["path"], nbf=value))["Code"] == "InvalidIdentityToken"


def test_a_key_the_issuer_withdrew_stops_working_when_its_key_set_expires(
    sts: Any, issuer: Issuer, setup: dict[str, str]
) -> None:
    issuer.max_age[setup["path"]] = 1
    token = issuer.token(setup["path"])
    assert _assume(sts, setup, token)["SubjectFromWebIdentityToken"] == "user-1"  # the key set is kept
    issuer.withdrawn[setup["path"]] = {"rsa1"}
    time.sleep(1.2)  # the key set's max-age has passed: it is fetched again, without rsa1
    error = _error(sts, setup, token)
    assert (error["Code"], error["Message"]) == ("InvalidIdentityToken", _NO_KEY)
    ec_token = issuer.token(setup["path"], key=issuer.ec_key, kid="ec1", alg="ES256")
    assert _assume(sts, setup, ec_token)["SubjectFromWebIdentityToken"] == "user-1"


# -- what the server fetches: every hop under the rule (ostiary/egress.py) ----------------------------


@dataclass
class Trap:
    """A listener on this machine's non-loopback (private) address that counts connections."""

    address: str
    port: int
    hits: list[int]


@pytest.fixture(scope="module")
def trap() -> Iterator[Trap]:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.123", 9))  # no packet is sent: this only picks the outgoing address
        address = probe.getsockname()[0]
    except OSError:
        pytest.skip("this machine has no non-loopback IPv4 address to listen on")
    finally:
        probe.close()
    if ipaddress.ip_address(address).is_global or ipaddress.ip_address(address).is_loopback:
        pytest.skip(f"{address} is not a private address")
    listener = socket.create_server((address, 0))
    listener.settimeout(0.2)
    hits: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            hits.append(1)
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield Trap(address, listener.getsockname()[1], hits)
    stop.set()
    thread.join(5)
    listener.close()


_UNREACHABLE = (
    "The request could not be fulfilled because the identity provider (IDP) that was asked to verify the "
    "incoming identity token could not be reached. Retry the request."
)


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_redirect_to_a_private_address_is_not_followed(
    sts: Any, issuer: Issuer, setup: dict[str, str], trap: Trap, scheme: str
) -> None:
    discovery = f"{setup['path']}/.well-known/openid-configuration"
    issuer.redirects[discovery] = f"{scheme}://{trap.address}:{trap.port}/latest/meta-data/iam/"
    before = len(trap.hits)
    error = _error(sts, setup, issuer.token(setup["path"]))
    assert (error["Code"], error["Message"]) == ("IDPCommunicationError", _UNREACHABLE)
    time.sleep(0.3)
    assert len(trap.hits) == before  # the server never connected to it


def test_redirects_are_followed_three_hops_each_checked(
    iam: Any, sts: Any, issuer: Issuer, setup: dict[str, str], unique: str
) -> None:
    path = setup["path"]
    hops = [f"{path}/jwks", f"{path}/hop1", f"{path}/hop2", f"{path}/jwks-final"]
    for here, there in zip(hops, hops[1:], strict=False):
        issuer.redirects[here] = issuer.url(there)
    assert _assume(sts, setup, issuer.token(path))["SubjectFromWebIdentityToken"] == "user-1"
    other = _provider_and_role(iam, issuer, f"{unique}-far")
    far = [
        f"{other['path']}/jwks",
        *(f"{other['path']}/hop{n}" for n in range(1, 4)),
        f"{other['path']}/jwksx",
    ]
    for here, there in zip(far, far[1:], strict=False):
        issuer.redirects[here] = issuer.url(there)
    error = _error(sts, other, issuer.token(other["path"]))
    assert (error["Code"], error["Message"]) == ("IDPCommunicationError", _UNREACHABLE)
    assert issuer.requests[other["path"]] == 5  # discovery and 3 redirects followed; the 4th was not


def test_an_issuer_that_failed_is_not_asked_again_at_the_callers_pace(
    sts: Any, issuer: Issuer, setup: dict[str, str], trap: Trap
) -> None:
    discovery = f"{setup['path']}/.well-known/openid-configuration"
    issuer.redirects[discovery] = f"http://{trap.address}:1/"  # refused: http to a private address
    for _ in range(5):
        error = _error(sts, setup, issuer.token(setup["path"]))
        assert (error["Code"], error["Message"]) == ("IDPCommunicationError", _UNREACHABLE)
    assert issuer.requests[setup["path"]] == 1  # the failure was kept


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1/issuer",
        "https://192.168.1.1",
        "https://[fe80::1]",
        "https://[::ffff:169.254.169.254]",
        "https://[fd00::1]",
        "https://0.0.0.0",
        "https://224.0.0.1",
        "https://100.64.0.1",
        "http://192.0.2.2",
    ],
)
def test_a_provider_url_at_a_private_or_link_local_address_is_refused(iam: Any, url: str) -> None:
    with pytest.raises(ClientError) as caught:
        iam.create_open_id_connect_provider(Url=url, ClientIDList=[CLIENT_ID], ThumbprintList=["a" * 40])
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("ValidationError", "Invalid Open ID Connect Provider URL")


@pytest.fixture(scope="module")
def private_server(tmp_path_factory: pytest.TempPathFactory, trap: Trap) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("private-oidc")
    found = start_server(
        data,
        f"sqlite:///{data / 'ostiary.db'}",
        "sqlite",
        env_extra={"OSTIARY_OIDC_PRIVATE_TARGETS": f"{trap.address}/32, fd00::/8"},
    )
    yield found
    stop_server(found)


def test_a_configured_private_network_may_be_fetched_from(
    private_server: Server, issuer: Issuer, trap: Trap, unique: str
) -> None:
    iam, sts = private_server.client("iam"), private_server.client("sts")
    url = f"https://{trap.address}:{trap.port}/{unique}"  # registering it is allowed too
    iam.create_open_id_connect_provider(Url=url, ClientIDList=[CLIENT_ID], ThumbprintList=["a" * 40])  # type: ignore[attr-defined]  # boto3 client
    setup = _provider_and_role(iam, issuer, unique)
    discovery = f"{setup['path']}/.well-known/openid-configuration"
    issuer.redirects[discovery] = f"https://{trap.address}:{trap.port}/"
    before = len(trap.hits)
    error = _error(sts, setup, issuer.token(setup["path"]))
    assert error["Code"] == "IDPCommunicationError"  # the trap speaks no TLS
    time.sleep(0.3)
    assert len(trap.hits) == before + 1  # but it was reached: its network is configured


def _provider_and_role(iam: Any, issuer: Issuer, path: str) -> dict[str, str]:
    """What the `setup` fixture makes, for another issuer path (on the server of `iam`)."""
    url = issuer.url(path)
    arn = iam.create_open_id_connect_provider(Url=url, ClientIDList=[CLIENT_ID], ThumbprintList=["a" * 40])[
        "OpenIDConnectProviderArn"
    ]
    provider = url.split("://", 1)[1]
    role = iam.create_role(RoleName=f"web-{path}"[:64], AssumeRolePolicyDocument=_trust(arn, provider))[
        "Role"
    ]
    return {"path": path, "provider_arn": arn, "provider": provider, "role_arn": role["Arn"]}
