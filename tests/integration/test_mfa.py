"""Virtual MFA devices through boto3 against the real server: TOTP codes from pyotp, the QR code, replay."""

from __future__ import annotations

import base64
import json
import struct
import time
import zlib
from datetime import UTC, datetime
from urllib.parse import quote

import pyotp
import pytest
import segno
from botocore.exceptions import ClientError

from ostiary.services.mfa import verify_mfa_code
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring

INVALID_CODE = ("InvalidAuthenticationCode", "Authentication code for device is not valid.")


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def codes(seed: str, offset: int = 0) -> tuple[str, str]:
    """Two consecutive codes ending at the current time step (plus `offset` steps)."""
    totp = pyotp.TOTP(seed)
    step = int(time.time()) // 30 + offset
    return totp.generate_otp(step - 1), totp.generate_otp(step)


def png_pixels(png: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and unfiltered rows of a 1-bit greyscale PNG; checks every chunk's CRC."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + data) == crc
        chunks[kind] = chunks.get(kind, b"") + data
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (1, 0)
    raw, stride = zlib.decompress(chunks[b"IDAT"]), (width + 7) // 8 + 1
    rows: list[bytes] = []
    previous = bytes(stride - 1)
    for i in range(height):
        kind, line = raw[i * stride], bytearray(raw[i * stride + 1 : (i + 1) * stride])
        for x in range(len(line)):
            left, up = line[x - 1] if x else 0, previous[x]
            upleft = previous[x - 1] if x else 0
            line[x] = (line[x] + _predict(kind, left, up, upleft)) & 0xFF
        rows.append(previous := bytes(line))
    return width, height, rows


def _predict(kind: int, left: int, up: int, upleft: int) -> int:
    """PNG's filter predictors (None, Sub, Up, Average, Paeth) with one byte per pixel."""
    if kind == 4:
        p = left + up - upleft
        pa, pb, pc = abs(p - left), abs(p - up), abs(p - upleft)
        return left if pa <= pb and pa <= pc else up if pb <= pc else upleft
    return [0, left, up, (left + up) // 2][kind]


def create(iam, name: str, **kwargs: object) -> dict:  # type: ignore[no-untyped-def]  # boto3 client
    return iam.create_virtual_mfa_device(VirtualMFADeviceName=name, **kwargs)["VirtualMFADevice"]


def enabled_device(iam, unique: str) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    """A user with an enabled device: (user name, serial number, seed)."""
    user = f"mfa-user-{unique}"
    iam.create_user(UserName=user)
    device = create(iam, f"mfa-{unique}")
    seed = device["Base32StringSeed"].decode()
    one, two = codes(seed)
    iam.enable_mfa_device(
        UserName=user, SerialNumber=device["SerialNumber"], AuthenticationCode1=one, AuthenticationCode2=two
    )
    return user, device["SerialNumber"], seed


def test_create_returns_seed_and_a_qr_code_of_the_otpauth_uri(iam, server, unique):
    name = f"mfa-{unique}"
    device = create(iam, name, Path="/team/")
    assert device["SerialNumber"] == f"arn:aws:iam::{server.account_id}:mfa/team/{name}"
    seed = device["Base32StringSeed"].decode()
    assert len(seed) == 64 and len(base64.b32decode(seed)) == 40
    width, height, rows = png_pixels(device["QRCodePNG"])
    uri = (
        f"otpauth://totp/Amazon%20Web%20Services:{quote(name)}%40{server.account_id}?secret={seed}"
        "&issuer=Amazon%20Web%20Services"
    )
    expected = segno.make(uri, error="m")
    assert (width, height) == expected.symbol_size(scale=4, border=4)
    for r, line in enumerate(expected.matrix):
        for c, dark in enumerate(line):
            x, y = (4 + c) * 4 + 2, (4 + r) * 4 + 2
            is_white = rows[y][x // 8] >> (7 - x % 8) & 1
            assert bool(dark) != bool(is_white)


def test_duplicate_name_is_refused(iam, unique):
    create(iam, f"mfa-{unique}")
    with pytest.raises(ClientError) as exc:
        create(iam, f"mfa-{unique}", Path="/other/")
    assert error(exc) == ("EntityAlreadyExists", "MFA device already exists.")


def test_a_name_too_long_for_any_serial_number_is_refused_and_leaves_no_device(iam, server, unique):
    # the model bounds no name: 3,000 characters made a QR code too large for segno (a 500, after the commit)
    long_name = f"mfa-{unique}-" + "a" * 3000
    with pytest.raises(ClientError) as exc:
        create(iam, long_name, Path="/p/")
    assert error(exc) == (
        "ValidationError",
        "1 validation error detected: Value at 'virtualMFADeviceName' failed to satisfy constraint: "
        "Member must have length less than or equal to 224",
    )
    assert not any(unique in d["SerialNumber"] for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"])
    longest = f"mfa-{unique}-".ljust(226, "a")
    serial = create(iam, longest)["SerialNumber"]
    assert serial == f"arn:aws:iam::{server.account_id}:mfa/{longest}"
    iam.delete_virtual_mfa_device(SerialNumber=serial)


def test_a_path_too_long_for_any_serial_number_is_named_with_its_own_bound(iam, server, unique):
    name = f"mfa-{unique}"
    with pytest.raises(ClientError) as exc:
        create(iam, name, Path="/" + "p" * 510 + "/")  # the longest path the model admits
    longest_path = 256 - len(f"arn:aws:iam::{server.account_id}:mfa{name}")  # the serial number's bound
    assert error(exc) == (
        "ValidationError",
        "1 validation error detected: Value at 'path' failed to satisfy constraint: "
        f"Member must have length less than or equal to {longest_path}",
    )


def test_enable_list_deactivate_delete(iam, server, unique):
    user, serial, _ = enabled_device(iam, unique)
    listed = iam.list_mfa_devices(UserName=user)
    assert [(d["UserName"], d["SerialNumber"]) for d in listed["MFADevices"]] == [(user, serial)]
    assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    mine = [d for d in assigned if d["SerialNumber"] == serial]
    assert mine[0]["User"]["UserName"] == user and "EnableDate" in mine[0]
    got = iam.get_mfa_device(SerialNumber=serial)
    assert (got["UserName"], got["SerialNumber"]) == (user, serial)
    with pytest.raises(ClientError) as exc:
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert error(exc)[0] == "DeleteConflict"
    iam.deactivate_mfa_device(UserName=user, SerialNumber=serial)
    assert iam.list_mfa_devices(UserName=user)["MFADevices"] == []
    unassigned = iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]
    assert {"SerialNumber": serial} in unassigned
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    with pytest.raises(ClientError) as exc:
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert error(exc) == ("NoSuchEntity", f"MFA Device with serial number {serial} does not exist.")


def test_wrong_or_non_consecutive_codes_are_refused(iam, unique):
    user = f"mfa-user-{unique}"
    iam.create_user(UserName=user)
    device = create(iam, f"mfa-{unique}")
    seed, serial = device["Base32StringSeed"].decode(), device["SerialNumber"]
    one, two = codes(seed)
    for first, second in ((two, one), (one, one), ("000000", "000000")):
        with pytest.raises(ClientError) as exc:
            iam.enable_mfa_device(
                UserName=user, SerialNumber=serial, AuthenticationCode1=first, AuthenticationCode2=second
            )
        assert error(exc) == INVALID_CODE
    assert iam.list_mfa_devices(UserName=user)["MFADevices"] == []


def test_enable_errors(iam, server, unique):
    user, serial, seed = enabled_device(iam, unique)
    other = f"other-{unique}"
    iam.create_user(UserName=other)
    one, two = codes(seed, offset=1)
    with pytest.raises(ClientError) as exc:
        iam.enable_mfa_device(
            UserName=other, SerialNumber=serial, AuthenticationCode1=one, AuthenticationCode2=two
        )
    assert error(exc) == ("EntityAlreadyExists", "MFA Device is already in use.")
    with pytest.raises(ClientError) as exc:
        iam.enable_mfa_device(
            UserName="nonexistent-user", SerialNumber=serial, AuthenticationCode1=one, AuthenticationCode2=two
        )
    assert error(exc) == ("NoSuchEntity", "The user with name nonexistent-user cannot be found.")
    missing = f"arn:aws:iam::{server.account_id}:mfa/nonexistent-{unique}"
    with pytest.raises(ClientError) as exc:
        iam.deactivate_mfa_device(UserName=user, SerialNumber=missing)
    assert error(exc) == ("NoSuchEntity", f"MFA Device with serial number {missing} does not exist.")


def test_resync_learns_the_devices_drift(iam, unique):
    user, serial, seed = enabled_device(iam, unique)
    one, two = codes(seed, offset=8)  # the device's clock runs four minutes ahead
    iam.resync_mfa_device(
        UserName=user, SerialNumber=serial, AuthenticationCode1=one, AuthenticationCode2=two
    )
    with pytest.raises(ClientError) as exc:  # the same codes cannot be used again
        iam.resync_mfa_device(
            UserName=user, SerialNumber=serial, AuthenticationCode1=one, AuthenticationCode2=two
        )
    assert error(exc) == INVALID_CODE


def test_verify_mfa_code_accepts_a_code_once(iam, server, unique):
    user, serial, seed = enabled_device(iam, unique)
    user_id = iam.get_user(UserName=user)["User"]["UserId"]
    db, keyring = Database(server.database_url, pool=False), Keyring.load(server.data_dir)
    later = datetime.fromtimestamp(time.time() + 60, UTC)  # two steps after the codes used to enable
    code = pyotp.TOTP(seed).at(later)
    try:
        with db.transaction() as conn:
            assert not verify_mfa_code(conn, keyring, server.account_id, serial, "AIDAOTHERUSER", code, later)
            assert not verify_mfa_code(conn, keyring, server.account_id, serial, user_id, "123456", later)
            assert verify_mfa_code(conn, keyring, server.account_id, serial, user_id, code, later)
        with db.transaction() as conn:
            assert not verify_mfa_code(conn, keyring, server.account_id, serial, user_id, code, later)
    finally:
        db.dispose()


def test_seed_is_sealed_at_rest(iam, server, unique):
    device = create(iam, f"mfa-{unique}")
    db = Database(server.database_url, pool=False)
    try:
        with db.read() as conn:
            from ostiary.store import mfa as mfa_store

            row = mfa_store.find(conn, server.account_id, device["SerialNumber"])
    finally:
        db.dispose()
    assert device["Base32StringSeed"] not in bytes(row.seed_sealed)
    assert base64.b32decode(device["Base32StringSeed"]) not in bytes(row.seed_sealed)


def test_tags_and_invalid_marker(iam, unique):
    serial = create(iam, f"mfa-{unique}", Tags=[{"Key": "team", "Value": "a"}])["SerialNumber"]
    iam.tag_mfa_device(SerialNumber=serial, Tags=[{"Key": "env", "Value": "prod"}])
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [
        {"Key": "team", "Value": "a"},
        {"Key": "env", "Value": "prod"},
    ]
    iam.untag_mfa_device(SerialNumber=serial, TagKeys=["team"])
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [{"Key": "env", "Value": "prod"}]
    with pytest.raises(ClientError) as exc:
        iam.list_virtual_mfa_devices(Marker="invalid-marker-value")
    assert error(exc) == ("ValidationError", "Invalid Marker.")


def test_virtual_devices_paginate(iam, unique):
    for i in range(3):
        create(iam, f"mfa-{unique}-{i}")
    seen, marker = [], None
    while True:
        page = iam.list_virtual_mfa_devices(MaxItems=2, **({"Marker": marker} if marker else {}))
        seen += [d["SerialNumber"] for d in page["VirtualMFADevices"]]
        if not page["IsTruncated"]:
            break
        marker = page["Marker"]
    assert len(seen) == len(set(seen)) and sum(f"mfa-{unique}-" in s for s in seen) == 3


def test_a_user_manages_their_own_device_under_the_self_service_policy(iam, server, unique):
    user = f"self-{unique}"
    iam.create_user(UserName=user)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["iam:CreateVirtualMFADevice", "iam:DeleteVirtualMFADevice"],
                "Resource": "arn:aws:iam::*:mfa/${aws:username}",
            },
            {
                "Effect": "Allow",
                "Action": ["iam:EnableMFADevice", "iam:ListMFADevices"],
                "Resource": "arn:aws:iam::*:user/${aws:username}",
            },
        ],
    }
    iam.put_user_policy(UserName=user, PolicyName="self-mfa", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    own = server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    device = own.create_virtual_mfa_device(VirtualMFADeviceName=user)["VirtualMFADevice"]
    one, two = codes(device["Base32StringSeed"].decode())
    own.enable_mfa_device(
        UserName=user, SerialNumber=device["SerialNumber"], AuthenticationCode1=one, AuthenticationCode2=two
    )
    assert [d["SerialNumber"] for d in own.list_mfa_devices()["MFADevices"]] == [device["SerialNumber"]]
    with pytest.raises(ClientError) as exc:
        own.create_virtual_mfa_device(VirtualMFADeviceName=f"not-{user}")
    assert error(exc)[0] == "AccessDenied"


def test_delete_user_with_an_mfa_device_is_a_conflict(iam, unique):
    user, serial, _ = enabled_device(iam, unique)
    iam.create_access_key(UserName=user)
    iam.put_user_policy(
        UserName=user,
        PolicyName="inline",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        ),
    )
    for expected in (
        "Cannot delete entity, must delete access keys first.",
        "Cannot delete entity, must delete MFA device first.",
    ):
        with pytest.raises(ClientError) as exc:
            iam.delete_user(UserName=user)
        assert error(exc) == ("DeleteConflict", expected)
        for key in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    iam.deactivate_mfa_device(UserName=user, SerialNumber=serial)
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName=user)
    assert error(exc) == ("DeleteConflict", "Cannot delete entity, must delete policies first.")
    iam.delete_user_policy(UserName=user, PolicyName="inline")
    iam.delete_user(UserName=user)
