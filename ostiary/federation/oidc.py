"""OpenID Connect issuers: discovery, their signing keys (JWKS), and verifying an ID token against them.

Keys are fetched from `<issuer>/.well-known/openid-configuration` and its `jwks_uri`, kept per
issuer for five minutes at most (less when the key set's Cache-Control says so), and fetched again
when a token names a key id the kept set does not hold (the issuer rotated its keys): a key the
issuer withdrew stops working at the next fetch. Every fetch, and every redirect hop, obeys
ostiary/egress.py's rule (https, http to loopback only, no private address unless configured); an
issuer that could not be fetched is not asked again for 30 seconds.
Algorithms are pinned to the RSA and EC families: `none` and HMAC are refused, so a public key can
never be used as an HMAC secret (algorithm confusion).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWK

from ostiary.federation import egress

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
_TIMEOUT_SECONDS = 5
_KEEP_SECONDS = 300  # kept keys are fetched again after this (or the key set's shorter max-age), so a
# key the issuer withdrew stops working within minutes
_REFETCH_SECONDS = 1.0  # an unknown key id fetches an issuer's keys again at most this often
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?([0-9]{1,10})\"?\s*(?:,|$)", re.IGNORECASE)
_MAX_DOCUMENT_BYTES = 512 * 1024
_FAILURE_SECONDS = 30.0  # an issuer that could not be fetched is not asked again for this long


class IssuerUnreachable(Exception):
    """The issuer's discovery document or key set could not be fetched or read."""


class UnknownKey(Exception):
    """The token names a key id (or algorithm) that the issuer does not publish."""


class TokenExpired(Exception):
    """The token's `exp` has passed."""


class TokenInvalid(Exception):
    """Signature, audience, issuer, `nbf` or the token's form is wrong; the message says which."""


@dataclass(frozen=True)
class _KeySet:
    jwks_uri: str
    keys: dict[str, dict[str, Any]]  # kid -> JWK
    fetched_at: float  # time.monotonic()
    keep_seconds: float  # how long the set is trusted without asking the issuer again


_cache: dict[str, _KeySet] = {}
_failures: dict[str, tuple[float, str]] = {}  # issuer -> (monotonic time until which it is not asked, why)
_lock = threading.Lock()


def unverified_issuer(token: str) -> str:
    """The `iss` claim read without verification, only to find the provider; TokenInvalid if unreadable."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise TokenInvalid("not a JWT") from exc
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise TokenInvalid("no iss")
    return issuer


def verify_id_token(
    token: str, issuer_url: str, audiences: list[str], now: float, private: tuple[egress.Network, ...] = ()
) -> dict[str, Any]:
    """The token's claims once its signature, `iss`, `aud` (one of `audiences`), `exp` and `nbf` verify.

    `private`: the private networks the issuer's documents may be fetched from (see ostiary/egress.py)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenInvalid("not a JWT") from exc
    algorithm, kid = header.get("alg"), header.get("kid")
    if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
        raise UnknownKey(f"algorithm {algorithm!r} is not accepted")
    key = _verification_key(_key(issuer_url, kid, private), algorithm)
    try:
        claims = jwt.decode(
            token,
            key=key.key,
            algorithms=[algorithm],
            audience=audiences,
            issuer=issuer_url,
            leeway=0,
            options={
                "verify_signature": True,
                "verify_aud": True,
                "verify_iss": True,
                "verify_exp": False,  # checked below against `now`, to tell expiry from other faults
                "verify_nbf": False,  # likewise
                "verify_iat": False,
                "require": ["iss", "aud", "sub", "exp"],
            },
        )
    except jwt.InvalidAudienceError as exc:
        raise TokenInvalid("audience") from exc
    except jwt.PyJWTError as exc:
        raise TokenInvalid(str(exc)) from exc
    _check_times(claims, now)
    return claims


def _verification_key(jwk: dict[str, Any], algorithm: str) -> PyJWK:
    """The JWK as a key for `algorithm`; UnknownKey when it is of another family, or names another alg.

    A token may name an EC key under RS256 (or the reverse): the key is then not one the issuer
    publishes for that algorithm, as AWS says, never a fault of ours."""
    published = jwk.get("alg")
    if published is not None and published != algorithm:
        raise UnknownKey(f"key is published for {published!r}, not {algorithm!r}")
    try:
        return PyJWK(jwk, algorithm=algorithm)
    except (jwt.PyJWKError, jwt.InvalidKeyError) as exc:  # a malformed JWK, or one of another family
        raise UnknownKey(f"key does not serve {algorithm!r}: {exc}") from exc


def _check_times(claims: dict[str, Any], now: float) -> None:
    """TokenExpired when `exp` <= now; TokenInvalid when `nbf` > now, or either is not a finite number."""
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not _is_time(exp):
        raise TokenInvalid("exp")
    if now >= exp:
        raise TokenExpired(
            f"Token expired: current date/time {int(now)} must be before the expiration date/time {int(exp)}"
        )
    if nbf is not None and (not _is_time(nbf) or now < nbf):
        raise TokenInvalid("nbf")


def _is_time(value: Any) -> bool:
    """A finite JSON number (json reads NaN and Infinity, which no comparison would refuse)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _key(issuer_url: str, kid: Any, private: tuple[egress.Network, ...]) -> dict[str, Any]:
    """The issuer's JWK named `kid` (the only key when the token names none).

    An unknown `kid` fetches the issuer's keys again (a rotation), at most once a second per issuer,
    so tokens naming made-up keys cannot make us fetch at their pace."""
    for refresh in (False, True):
        keys = _keys(issuer_url, private, refresh=refresh)
        if kid is None and len(keys.keys) == 1:
            return next(iter(keys.keys.values()))
        if isinstance(kid, str) and kid in keys.keys:
            return keys.keys[kid]
    raise UnknownKey(f"key id {kid!r} is not published by {issuer_url}")


def _keys(issuer_url: str, private: tuple[egress.Network, ...], *, refresh: bool) -> _KeySet:
    """The issuer's key set: the kept one while it is fresh, else fetched (a failure is kept a while too)."""
    now = time.monotonic()
    with _lock:
        kept, failed = _cache.get(issuer_url), _failures.get(issuer_url)
    if kept is not None:
        age = now - kept.fetched_at
        if age < kept.keep_seconds and (not refresh or age < _REFETCH_SECONDS):
            return kept
    if failed is not None and now < failed[0]:
        raise IssuerUnreachable(failed[1])  # asked again too soon: no fetch at an anonymous caller's pace
    try:
        found = _fetch_keys(issuer_url, private)
    except IssuerUnreachable as exc:
        with _lock:
            _failures[issuer_url] = (time.monotonic() + _FAILURE_SECONDS, str(exc))
        raise
    with _lock:
        _cache[issuer_url] = found
        _failures.pop(issuer_url, None)
    return found


def _fetch_keys(issuer_url: str, private: tuple[egress.Network, ...]) -> _KeySet:
    """The discovery document, then the key set it names; IssuerUnreachable when either fails."""
    discovery, _ = _fetch_json(issuer_url.rstrip("/") + "/.well-known/openid-configuration", private)
    if discovery.get("issuer") != issuer_url:
        raise IssuerUnreachable("discovery document names another issuer")
    jwks_uri = discovery.get("jwks_uri")
    if not isinstance(jwks_uri, str):
        raise IssuerUnreachable("discovery document has no jwks_uri")
    key_set, max_age = _fetch_json(jwks_uri, private)
    published = key_set.get("keys")
    if not isinstance(published, list):
        raise IssuerUnreachable("key set has no keys")
    keys = {
        str(k.get("kid", "")): k for k in published if isinstance(k, dict) and k.get("use", "sig") == "sig"
    }
    keep = _KEEP_SECONDS if max_age is None else max(_REFETCH_SECONDS, min(_KEEP_SECONDS, max_age))
    return _KeySet(jwks_uri, keys, time.monotonic(), keep)


def _fetch_json(url: str, private: tuple[egress.Network, ...]) -> tuple[dict[str, Any], int | None]:
    """A JSON object fetched under egress's rule, and its max-age; IssuerUnreachable otherwise."""
    try:
        fetched = egress.fetch(url, private=private, max_bytes=_MAX_DOCUMENT_BYTES, timeout=_TIMEOUT_SECONDS)
    except (egress.Refused, egress.Unreachable) as exc:
        raise IssuerUnreachable(str(exc)) from exc
    try:
        document = json.loads(fetched.body)
    except ValueError as exc:
        raise IssuerUnreachable(f"{url}: not JSON") from exc
    if not isinstance(document, dict):
        raise IssuerUnreachable(f"{url}: not a JSON object")
    return document, _max_age(fetched.cache_control)


def _max_age(cache_control: str) -> int | None:
    """Seconds the response may be kept: `max-age`, 0 for `no-store`/`no-cache`, None when not said."""
    if re.search(r"no-store|no-cache", cache_control, re.IGNORECASE):
        return 0
    match = _MAX_AGE.search(cache_control)
    return int(match.group(1)) if match else None
