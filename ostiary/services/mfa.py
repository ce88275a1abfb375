"""Virtual MFA devices: create (seed and QR code), enable with two consecutive TOTP codes, resync,
deactivate, delete, list, tags; and `verify_mfa_code`, which STS calls to check a TokenCode once."""

from __future__ import annotations

import base64
import hmac
import io
import os
from datetime import datetime
from typing import Any
from urllib.parse import quote

import pyotp
import segno

from ostiary.errors import (
    DeleteConflictException,
    EntityAlreadyExistsException,
    InvalidAuthenticationCodeException,
    LimitExceededException,
    NoSuchEntityException,
    ValidationError,
)
from ostiary.services import Context, operation, throttle
from ostiary.services import tags as tagging
from ostiary.services import users as user_service
from ostiary.store import accounts, locks
from ostiary.store import mfa as store
from ostiary.store import tags as tag_store
from ostiary.store import users as user_store
from ostiary.store.db import Connection
from ostiary.store.keyring import Keyring
from ostiary.store.pages import page_list
from ostiary.store.users import utc

MAX_DEVICES_PER_USER = 8
MAX_SERIAL_NUMBER_LENGTH = 256  # serialNumberType's max: the bound of every call that names a device
STEP_SECONDS = 30
ISSUER = "Amazon Web Services"
_ENABLE_WINDOW = 2  # steps either side of now where EnableMFADevice looks for the second code
_RESYNC_WINDOW = 20  # ResyncMFADevice looks further: the device's clock may have drifted
_INVALID_CODE = "Authentication code for device is not valid."
_IN_USE = "MFA Device is already in use."
# not recorded: AWS's text for deleting an enabled device is unknown here
_DELETE_IN_USE = "MFA Device is in use and cannot be deleted. Deactivate the MFA device first."


def serial_number(account_id: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:mfa{path}{name}"


def verify_mfa_code(
    conn: Connection,
    keyring: Keyring,
    account_id: str,
    serial_number: str,
    user_id: str,
    code: str,
    now: datetime,
) -> bool:
    """Whether `code` is a valid TOTP code of the device enabled for this user, accepted at most once.

    Call it inside the caller's write transaction: an accepted code's time step is remembered, so
    the same code (or an older one) is refused afterwards, and every attempt is throttled per user
    and per device (Throttling while paused, whatever the code).
    """
    row = store.find(conn, account_id, serial_number, lock=True)
    is_own = row is not None and row.user_id is not None and row.user_id == user_id
    # another user's device is not counted on: naming it must not pause its owner
    subjects = throttle.mfa_subjects(user_id, [row.serial_number] if is_own else [])
    throttle.attempt(conn, subjects, now)
    if not is_own or not accepts_code(conn, keyring, row, code, now):
        return False
    throttle.succeeded(conn, subjects)
    return True


def accepts_code(conn: Connection, keyring: Keyring, row: Any, code: str, now: datetime) -> bool:
    """Whether `code` is the device's code for now (a step either side), newer than any accepted one;
    an accepted code's step is remembered. Not throttled: the caller counts the attempt."""
    if not (len(code) == 6 and code.isdigit()):
        return False
    totp = _totp(keyring, row)
    base = _step(now) + row.drift_steps
    for step in (base - 1, base, base + 1):
        if _matches(totp, step, code) and store.accept_step(conn, row.serial_number, step):
            return True
    return False


@operation("CreateVirtualMFADevice")
def create_virtual_mfa_device(
    ctx: Context, virtual_mfa_device_name: str, path: str = "/", tags: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    if tags:
        tagging.check_tags(tags, "mfa")
    serial = serial_number(ctx.account_id, path, virtual_mfa_device_name)
    if len(serial) > MAX_SERIAL_NUMBER_LENGTH:  # the model bounds no name; no call could name this device
        # not recorded: AWS's text, in its constraint wording (a name of 226 under the path `/`); the
        # path is named when even a one-character name would not fit under it
        over, member = len(serial) - MAX_SERIAL_NUMBER_LENGTH, "virtualMFADeviceName"
        value = virtual_mfa_device_name
        if len(value) - over < 1:
            member, value = "path", path
        raise ValidationError(
            f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {len(value) - over}"
        )
    seed = base64.b32encode(os.urandom(40)).decode()  # 64 characters, as AWS's seeds
    conflict = EntityAlreadyExistsException("MFA device already exists.")
    with ctx.db.transaction(on_conflict=conflict) as conn:
        if store.name_taken(conn, ctx.account_id, virtual_mfa_device_name):
            raise conflict
        store.insert(
            conn,
            serial_number=serial,
            account_id=ctx.account_id,
            name=virtual_mfa_device_name,
            path=path,
            seed_sealed=ctx.keyring.seal(seed.encode(), store.seed_purpose(serial)),
            created_at=ctx.now,
        )
        if tags:
            tagging.apply_tags(conn, "mfa", serial, tags)
        label = accounts.alias(conn, ctx.account_id) or ctx.account_id
        # drawn inside the transaction: a failure leaves no device
        qr_code = qr_code_png(seed, f"{virtual_mfa_device_name}@{label}")
    device: dict[str, Any] = {"SerialNumber": serial, "Base32StringSeed": seed.encode(), "QRCodePNG": qr_code}
    if tags:
        device["Tags"] = [{"Key": t["Key"], "Value": t["Value"]} for t in tags]
    return {"VirtualMFADevice": device}


def qr_code_png(seed: str, account_name: str) -> bytes:
    """A PNG QR code of the otpauth:// URI that authenticator apps scan."""
    uri = f"otpauth://totp/{quote(ISSUER)}:{quote(account_name)}?secret={seed}&issuer={quote(ISSUER)}"
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="png", scale=4, border=4)
    return out.getvalue()


@operation("EnableMFADevice")
def enable_mfa_device(
    ctx: Context, user_name: str, serial_number: str, authentication_code1: str, authentication_code2: str
) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        user = user_service.require(conn, ctx.account_id, user_name)
        locks.hold(conn, "user", user.user_id)  # no other device enabled for the user meanwhile
        row = _device(conn, ctx, serial_number, lock=True)
        if row.user_id is not None:
            raise EntityAlreadyExistsException(_IN_USE)
        if store.count_for_user(conn, user.user_id) >= MAX_DEVICES_PER_USER:
            raise LimitExceededException(f"Cannot exceed quota for MFADevicesPerUser: {MAX_DEVICES_PER_USER}")
        subjects = throttle.mfa_subjects(user.user_id, [row.serial_number])
        throttle.attempt(conn, subjects, ctx.now)
        step = _consecutive(
            ctx.keyring, row, authentication_code1, authentication_code2, _step(ctx.now), _ENABLE_WINDOW
        )
        if step is not None:
            store.change(
                conn,
                row.serial_number,
                user_id=user.user_id,
                enabled_at=ctx.now,
                last_time_step=step,
                drift_steps=0,
            )
            accounts.bump_epoch(conn, ctx.account_id)
            throttle.succeeded(conn, subjects)
    if step is None:  # raised once the failed attempt is committed
        raise InvalidAuthenticationCodeException(_INVALID_CODE)
    return {}


@operation("ResyncMFADevice")
def resync_mfa_device(
    ctx: Context, user_name: str, serial_number: str, authentication_code1: str, authentication_code2: str
) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        user = user_service.require(conn, ctx.account_id, user_name)
        row = _assigned(conn, ctx, serial_number, user.user_id)
        subjects = throttle.mfa_subjects(user.user_id, [row.serial_number])
        throttle.attempt(conn, subjects, ctx.now)
        now_step = _step(ctx.now)
        step = _consecutive(
            ctx.keyring, row, authentication_code1, authentication_code2, now_step, _RESYNC_WINDOW, drift=0
        )
        if step is not None:
            store.change(conn, row.serial_number, last_time_step=step, drift_steps=step - now_step)
            throttle.succeeded(conn, subjects)
    if step is None:  # raised once the failed attempt is committed
        raise InvalidAuthenticationCodeException(_INVALID_CODE)
    return {}


@operation("DeactivateMFADevice")
def deactivate_mfa_device(ctx: Context, serial_number: str, user_name: str | None = None) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        user = user_service.require(conn, ctx.account_id, user_service.own_name(ctx, user_name))
        row = _assigned(conn, ctx, serial_number, user.user_id)
        store.change(conn, row.serial_number, user_id=None, enabled_at=None, drift_steps=0)
        accounts.bump_epoch(conn, ctx.account_id)
    return {}


@operation("DeleteVirtualMFADevice")
def delete_virtual_mfa_device(ctx: Context, serial_number: str) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        row = _device(conn, ctx, serial_number, lock=True)
        if row.user_id is not None:
            raise DeleteConflictException(_DELETE_IN_USE)
        tag_store.remove_all(conn, "mfa", row.serial_number)
        store.remove(conn, row.serial_number)
    return {}


@operation("ListMFADevices")
def list_mfa_devices(
    ctx: Context, user_name: str | None = None, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    if user_name is None and ctx.caller.principal_type == "Account":
        return {"MFADevices": [], "IsTruncated": False}  # the root's own devices are not kept here
    with ctx.db.read() as conn:
        user = user_service.require(conn, ctx.account_id, user_service.own_name(ctx, user_name))
        page = store.user_page(conn, user.user_id, marker, max_items)
    devices = [
        {"UserName": user.name, "SerialNumber": r.serial_number, "EnableDate": utc(r.enabled_at)}
        for r in page.rows
    ]
    return {"MFADevices": devices, **page.fields()}


@operation("ListVirtualMFADevices")
def list_virtual_mfa_devices(
    ctx: Context, assignment_status: str = "Any", marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        page = store.virtual_page(conn, ctx.account_id, assignment_status, marker, max_items)
        devices = [_virtual_shape(conn, r) for r in page.rows]
    return {"VirtualMFADevices": devices, **page.fields()}


@operation("GetMFADevice")
def get_mfa_device(ctx: Context, serial_number: str, user_name: str | None = None) -> dict[str, Any]:
    with ctx.db.read() as conn:
        user_id = None
        if user_name is not None:
            user_id = user_service.require(conn, ctx.account_id, user_name).user_id
        row = _device(conn, ctx, serial_number)
        if row.user_id is None or (user_id is not None and row.user_id != user_id):
            raise _not_found(serial_number)
        owner = user_store.find_by_id(conn, row.user_id)
    return {"UserName": owner.name, "SerialNumber": row.serial_number, "EnableDate": utc(row.enabled_at)}


@operation("TagMFADevice")
def tag_mfa_device(ctx: Context, serial_number: str, tags: list[dict[str, Any]]) -> dict[str, Any]:
    tagging.check_tags(tags, "mfa")
    with ctx.db.transaction() as conn:
        tagging.apply_tags(conn, "mfa", _device(conn, ctx, serial_number).serial_number, tags)
    return {}


@operation("UntagMFADevice")
def untag_mfa_device(ctx: Context, serial_number: str, tag_keys: list[str]) -> dict[str, Any]:
    tagging.check_tag_keys(tag_keys)
    with ctx.db.transaction() as conn:
        tag_store.remove(conn, "mfa", _device(conn, ctx, serial_number).serial_number, tag_keys)
    return {}


@operation("ListMFADeviceTags")
def list_mfa_device_tags(
    ctx: Context, serial_number: str, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return tag_page(conn, "mfa", _device(conn, ctx, serial_number).serial_number, marker, max_items)


def tag_page(
    conn: Connection, entity_type: str, entity_id: str, marker: str | None, max_items: int | None
) -> dict[str, Any]:
    """One page of an entity's tags in the order they were added: Tags, IsTruncated, Marker."""
    keyed = [(f"{i:08d}", tag) for i, tag in enumerate(tagging.tag_list(conn, entity_type, entity_id))]
    items, fields = page_list(keyed, marker, max_items, key=lambda item: item[0])
    return {"Tags": [tag for _, tag in items], **fields}


# -- private --------------------------------------------------------------------------------


def _not_found(serial: str) -> NoSuchEntityException:
    return NoSuchEntityException(f"MFA Device with serial number {serial} does not exist.")


def _device(conn: Connection, ctx: Context, serial: str, *, lock: bool = False) -> Any:
    row = store.find(conn, ctx.account_id, serial, lock=lock)
    if row is None:
        raise _not_found(serial)
    return row


def _assigned(conn: Connection, ctx: Context, serial: str, user_id: str) -> Any:
    """The device, when it is enabled for this user; else NoSuchEntity."""
    row = store.find(conn, ctx.account_id, serial, lock=True)
    if row is None or row.user_id != user_id:
        raise _not_found(serial)
    return row


def _virtual_shape(conn: Connection, row: Any) -> dict[str, Any]:
    shape: dict[str, Any] = {"SerialNumber": row.serial_number}
    if row.user_id is not None:
        shape["EnableDate"] = utc(row.enabled_at)
        shape["User"] = user_service.user_shape(user_store.find_by_id(conn, row.user_id))
    return tagging.with_tags(conn, "mfa", row.serial_number, shape)


def _step(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def _totp(keyring: Keyring, row: Any) -> pyotp.TOTP:
    seed = keyring.open(row.seed_sealed, store.seed_purpose(row.serial_number)).decode()
    return pyotp.TOTP(seed)


def _matches(totp: pyotp.TOTP, step: int, code: str) -> bool:
    return hmac.compare_digest(totp.generate_otp(step), code)


def _consecutive(
    keyring: Keyring, row: Any, code1: str, code2: str, now_step: int, window: int, drift: int | None = None
) -> int | None:
    """The time step of `code2` when `code1` is the step before it, near now and newer than any accepted
    code; else None."""
    totp = _totp(keyring, row)
    center = now_step + (row.drift_steps if drift is None else drift)
    last = row.last_time_step
    for step in range(center - window, center + window + 1):
        if last is not None and step - 1 <= last:
            continue
        if _matches(totp, step - 1, code1) and _matches(totp, step, code2):
            return step
    return None
