"""The checks IAM runs on a document when it is written, in IAM's order and with IAM's messages.

IAM checks in stages: syntax, version, "legacy parsing" (effect case, condition dates, resource
shapes), Sid uniqueness, actions present, resources present, resource ARN format, action vendors.
Each stage reports one message for the first problem it meets.
"""

from __future__ import annotations

from typing import Any

from ostiary.policy.errors import PolicySyntaxError

SYNTAX = "Syntax errors in policy."
VERSION = "Policy document must be version 2012-10-17 or greater."
LEGACY = "The policy failed legacy parsing"
SID = "Statement IDs (SID) in a single policy must be unique."
NO_ACTIONS = "Policy statement must contain actions."
NO_RESOURCES = "Policy statement must contain resources."
NO_VENDOR = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
ONE_COLON = "Actions/Condition can contain only one colon."

_REGION_ERRORS = {
    "iam": "IAM resource {resource} cannot contain region information.",
    "s3": "Resource {resource} can not contain region information.",
}
_IAM_PATHS = (
    "user/", "federated-user/", "role/", "group/", "instance-profile/", "mfa/", "server-certificate/",
    "policy/", "sms-mfa/", "saml-provider/", "oidc-provider/", "report/", "access-report/",
)  # fmt: skip
_IAM_PATH_ERROR = 'IAM resource path must either be "*", root, or start with ' + ", ".join(_IAM_PATHS) + "."
_VENDOR_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")


def resource_format_error(resource: str) -> str:
    """IAM's message for a resource that is not an ARN IAM accepts, or "" when it is fine."""
    if resource == "*":
        return ""
    head, colon, rest = resource.partition(":")
    if not colon:
        return f'Resource {resource} must be in ARN format or "*".'
    partition, colon, rest = rest.partition(":")
    if partition not in ("aws", "*"):
        return _partition_error(partition, rest)
    if not colon:
        return "Resource vendor must be fully qualified and cannot contain regexes."
    service, _, rest = rest.partition(":")
    has_region = not rest.startswith(":")
    account, _, path = rest.partition(":")[2].partition(":")
    if has_region and _is_global(service, account):
        return _REGION_ERRORS[service].format(resource=resource)
    if service == "iam" and not (path == "root" or path.startswith("*") or path.startswith(_IAM_PATHS)):
        return _IAM_PATH_ERROR
    return ""


def _is_global(service: str, account: str) -> bool:
    """Whether a resource of this service has no region: IAM's, and S3's without an account.

    S3's access points, jobs and Storage Lens configurations carry a region and an account.
    """
    return service == "iam" or (service == "s3" and not account)


def _partition_error(partition: str, rest: str) -> str:
    """The message for an unknown partition, with the resource re-shaped as IAM prints it."""
    parts = rest.split(":")
    first = parts[0] if parts[0] != "" or len(parts) > 1 else "*"
    second = parts[1] if len(parts) > 1 else "*"
    third = parts[2] if len(parts) > 2 else "*"
    fourth = ":".join(parts[3:]) if len(parts) > 3 else "*"
    shown = f"arn:{partition}:{first}:{second}:{third}:{fourth}"
    return f'Partition "{partition}" is not valid for resource "{shown}".'


def is_legacy_resource(resource: str) -> bool:
    """Whether a resource passes IAM's legacy parser (enough colons, a service)."""
    if resource == "*":
        return True
    if resource.count(":") < 5 and "::" in resource:
        return False
    parts = resource.split(":")
    return len(parts) < 3 or parts[2] != ""


def action_error(action: str) -> str:
    """IAM's message for an action without a valid vendor prefix, or "" when it is fine."""
    vendor, colon, name = action.partition(":")
    if not colon:
        return "" if action == "*" else NO_VENDOR
    if vendor != "*" and (not vendor or not set(vendor) <= _VENDOR_CHARS):
        return f"Vendor {vendor} is not valid"
    if ":" in name:
        return ONE_COLON
    return ""


def is_legacy_date(value: str) -> bool:
    """Whether a Date condition value passes IAM's legacy parser (ISO 8601 or epoch seconds)."""
    try:
        if "t" in value.lower() or "-" in value:
            _check_iso8601(value.lower())
        else:
            if not 0 <= int(value) <= 9223372036854775807:
                return False
    except ValueError:
        return False
    return True


def _check_iso8601(text: str) -> None:
    """Raise ValueError unless `text` (lowercased) is a date IAM's legacy parser accepts."""
    date, _, time = text.partition("t")
    negative = date.startswith("-")
    parts = (date[1:] if negative else date).split("-")
    _within(("-" if negative else "") + parts[0], -292275054, 292278993)
    for part, high in zip(parts[1:3], (12, 31), strict=False):
        _within(part, 1, high)
    if len(parts) > 3:
        raise ValueError(text)
    pieces = time.split(":")
    if pieces[0] != "":
        _within(pieces[0], 0, 23)
    if len(pieces) > 1:
        _within(pieces[1], 0, 59)
    if len(pieces) > 2:
        _check_seconds(":".join(pieces[2:]))


def _check_seconds(text: str) -> None:
    """Raise ValueError unless the seconds part (with fraction and zone) is valid."""
    if "z" in text:
        seconds, _, after = text.partition("z")
        if after:
            raise ValueError(text)
    elif "+" in text:
        seconds, _, zone = text.partition("+")
        hours, colon, minutes = zone.partition(":")
        if len(hours) != 2 or (colon and len(minutes) != 2):
            raise ValueError(text)
        _within(hours, 0, 23)
        if colon:
            _within(minutes, 0, 59)
    else:
        seconds = text
    whole, dot, fraction = seconds.partition(".")
    _within(whole, 0, 59)
    if dot:
        _within(fraction, 0, 999999999)


def _within(text: str, low: int, high: int) -> None:
    """Raise ValueError unless `text` is an integer in [low, high]."""
    if not low <= int(text) <= high:
        raise ValueError(text)


def fail(message: str, path: str = "") -> PolicySyntaxError:
    """A PolicySyntaxError with IAM's message, to raise."""
    return PolicySyntaxError(message, path)


def as_list(value: Any) -> list[Any]:
    """A string-or-list element as a list."""
    return [value] if isinstance(value, str) else list(value)
