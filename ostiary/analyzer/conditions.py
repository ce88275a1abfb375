"""Checks on a statement's Condition block: operators, keys, values and the types between them."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re

from ostiary.analyzer import reference
from ostiary.analyzer.context import Context, Path, key_path
from ostiary.analyzer.jsontext import Node
from ostiary.policy.operators import OPERATORS, date, number

# The operator family each key type accepts; Null fits every key.
_FAMILIES = {
    "String": ("String", "Arn"),
    "ARN": ("Arn", "String"),
    "Bool": ("Bool",),
    "Numeric": ("Numeric",),
    "Date": ("Date",),
    "IPAddress": ("IpAddress",),
}
_FAMILY_NAMES = {
    "String": "String",
    "Arn": "ARN",
    "Bool": "Boolean",
    "Numeric": "Numeric",
    "Date": "Date",
    "IpAddress": "IpAddress",
}
_EXACT_STRING = ("StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase")
_VPC = re.compile(r"vpc-(?:[0-9a-zA-Z]{8}|[0-9a-zA-Z]{17})")
_VPCE = re.compile(r"vpce-(?:[0-9a-zA-Z]{8}|[0-9a-zA-Z]{17})")
_FEDERATION_PREFIXES = (
    "saml",
    "cognito-identity.amazonaws.com",
    "www.amazon.com",
    "graph.facebook.com",
    "accounts.google.com",
)


def split_operator(operator: str) -> tuple[str, str, bool]:
    """(qualifier or "", base operator, IfExists) of an operator as written."""
    qualifier = ""
    for prefix in ("ForAnyValue:", "ForAllValues:"):
        if operator.startswith(prefix):
            qualifier, operator = prefix[:-1], operator[len(prefix) :]
    if_exists = operator.endswith("IfExists")
    return qualifier, operator[:-8] if if_exists else operator, if_exists


def family(base: str) -> str:
    """The operator's family: String, Arn, Numeric, Date, Bool, Binary, IpAddress or Null."""
    if base in ("IpAddress", "NotIpAddress"):
        return "IpAddress"
    for name in ("String", "Arn", "Numeric", "Date", "Bool", "Binary", "Null"):
        if base.startswith(name):
            return name
    return ""


def check_condition(context: Context, path: Path, statement: Node) -> None:
    """The Condition element of one statement."""
    block = statement.get("Condition")
    if block is None or block.kind != "object":
        return
    path = (*path, "Condition")
    if not block.members:
        context.add("EMPTY_OBJECT_CONDITION", path, block)
    for operator, key_node, tests in block.members:
        _check_operator(context, (*path, operator), operator, key_node, tests)


def _check_operator(context: Context, path: Path, operator: str, key_node: Node, tests: Node) -> None:
    """One operator and its key → values map."""
    qualifier, base, if_exists = split_operator(operator)
    if base not in OPERATORS and base != "Null":
        context.add("INVALID_CONDITION_OPERATOR", key_path(path), key_node, operator=operator)
        return
    if base == "Null" and if_exists:
        context.add("NULL_WITH_IF_EXISTS", key_path(path), key_node)
    if base == "Null" and qualifier:
        context.add("NULL_WITH_QUALIFIER", key_path(path), key_node)
    if tests.kind != "object":
        context.add("DATA_TYPE_MISMATCH", path, tests, data_type="Object")
        return
    seen: dict[str, str] = {}
    for key, key_token, values in tests.members:
        where = (*path, key)
        if key.lower() in seen and seen[key.lower()] != key:
            context.add("DUPLICATE_KEYS_WITH_DIFFERENT_CASE", key_path(where), key_token, key=key)
        seen.setdefault(key.lower(), key)
        kind = _check_key(context, key_path(where), key, key_token)
        _check_values(context, where, operator, key, kind, values)


def _check_key(context: Context, path: Path, key: str, node: Node) -> str | None:
    """The key exists (globally or in its service); return its type when known."""
    service, colon, name = key.partition(":")
    if not colon or not service or not name:
        context.add("INVALID_CONDITION_KEY_FORMAT", path, node)
        return None
    lower = service.lower()
    if lower == "aws":
        if key.lower() == "aws:arn":
            context.add("UNSUPPORTED_GLOBAL_CONDITION_KEY", path, node)
            return None
        if key.lower().rstrip("/") in ("aws:resourcetag", "aws:requesttag", "aws:principaltag"):
            context.add("MISSING_TAG_KEY_IN_CONDITION", path, node, key=key.rstrip("/") + "/")
            return None
        kind = reference.key_type(key)
        if kind is None:
            context.add("INVALID_GLOBAL_CONDITION_KEY", path, node, key=key)
        return kind
    if "." in lower or lower in _FEDERATION_PREFIXES:
        return None  # identity-provider claims (OIDC issuers, saml:…): not in the reference
    if not reference.service_exists(lower):
        context.add("INVALID_SERVICE", path, node, service=service)
        return None
    kind = reference.key_type(key)
    if kind is None:
        context.add("INVALID_SERVICE_CONDITION_KEY", path, node, key=key, service=service)
    return kind


def _check_values(
    context: Context, path: Path, operator: str, key: str, kind: str | None, values: Node
) -> None:
    """A key's values: present, of one JSON type, fitting the operator and the key."""
    qualifier, base, if_exists = split_operator(operator)
    items = values.items if values.kind == "array" else [values]
    item_paths = [(*path, i) for i in range(len(items))] if values.kind == "array" else [path]
    if not items:
        code = {
            "ForAllValues": "EMPTY_ARRAY_CONDITION_FORALLVALUES",
            "ForAnyValue": "EMPTY_ARRAY_CONDITION_FORANYVALUE",
        }
        empty = code.get(
            qualifier, "EMPTY_ARRAY_CONDITION_IFEXISTS" if if_exists else "EMPTY_ARRAY_CONDITION"
        )
        context.add(empty, path, values, key=key)
        return
    if any(i.kind in ("object", "array", "null") for i in items):
        context.add("DATA_TYPE_MISMATCH", path, values, data_type="String")
        return
    if len({i.kind for i in items}) > 1:
        context.add("INVALID_CONDITION_DATA_TYPE", path, values)
    group = family(base)
    if kind is not None and group:
        _check_types(context, path, values, operator, key, kind, group, qualifier)
    if group == "Bool" and len(items) > 1:
        context.add("INVALID_CONDITION_MULTIPLE_BOOLEAN", path, values)
    texts = [_text(i) for i in items]
    for text, item_path, item in zip(texts, item_paths, items, strict=True):
        _check_value(context, item_path, item, text, operator, base, group, key)
    if group == "IpAddress" and key.lower() == "aws:sourceip":
        _check_private(context, path, values, texts, base)


def _text(node: Node) -> str:
    """A condition value as the text IAM compares."""
    if node.kind == "boolean":
        return "true" if node.value else "false"
    return node.value if node.kind == "string" else str(node.value)


def _check_types(
    context: Context, path: Path, values: Node, operator: str, key: str, kind: str, group: str, qualifier: str
) -> None:
    """The operator's family fits the key's type; ForAllValues only on multivalued keys."""
    scalar = kind.removeprefix("ArrayOf")
    allowed = _FAMILIES.get(scalar)
    if qualifier == "ForAllValues" and not kind.startswith("ArrayOf"):
        context.add("FORALLVALUES_WITH_SINGLE_VALUED_KEY", path, values, key=key)
    if allowed is None or group in ("Null",) or group in allowed:
        if scalar == "ARN" and group == "String" and "Like" in operator:
            context.add(
                "STRING_LIKE_OPERATOR_WITH_ARN_CONDITION_KEYS",
                path,
                values,
                allowed="ARN",
                operator=operator,
                key=key,
            )
        return
    context.add("TYPE_MISMATCH", path, values, allowed=_FAMILY_NAMES[allowed[0]], operator=operator, key=key)


def _check_value(
    context: Context, path: Path, node: Node, text: str, operator: str, base: str, group: str, key: str
) -> None:
    """One value against its operator: parses as the operator's type; variables only in strings and ARNs."""
    if "${" in text:
        context.uses_variables = True
        if group not in ("String", "Arn"):
            context.add("INVALID_VARIABLE_FOR_OPERATOR", path, node)
        return
    if group == "Numeric" and not _parses(number, text):
        context.add("TYPE_MISMATCH_NUMBER", path, node, operator=operator)
    elif group == "Date" and not _parses(date, text):
        context.add("TYPE_MISMATCH_DATE", path, node)
    elif group in ("Bool", "Null") and text.lower() not in ("true", "false"):
        context.add("TYPE_MISMATCH_BOOLEAN", path, node, operator=operator)
    elif group == "Binary" and not _is_base64(text):
        context.add("TYPE_MISMATCH_STRING", path, node, operator=operator)
    elif group == "IpAddress":
        _check_network(context, path, node, text, operator)
    elif base in _EXACT_STRING and ("*" in text or "?" in text):
        context.add("WILDCARD_WITHOUT_LIKE_OPERATOR", path, node)
    elif base in ("StringEquals", "StringEqualsIgnoreCase") and "*" not in text:
        _check_identifier(context, path, node, text, key)


def _parses(parse: object, text: str) -> bool:
    """Whether the engine's own parser accepts the value."""
    try:
        parse(text)  # type: ignore[operator]
    except (ValueError, OverflowError):
        return False
    return True


def _is_base64(text: str) -> bool:
    """Whether a value is base64."""
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _check_network(context: Context, path: Path, node: Node, text: str, operator: str) -> None:
    """An address or CIDR range; host bits set after the mask are ignored."""
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        context.add("TYPE_MISMATCH_IP_RANGE", path, node, operator=operator)
        return
    if "/" in text and str(ipaddress.ip_interface(text.strip()).ip) != str(network.network_address):
        context.add("IMPROVE_IP_RANGE", path, node, address=str(network))


def _check_private(context: Context, path: Path, values: Node, texts: list[str], base: str) -> None:
    """aws:SourceIp sees only public addresses: private ranges never match."""
    private = []
    for text in texts:
        try:
            private.append(ipaddress.ip_network(text.strip(), strict=False).is_private)
        except ValueError:
            return
    if not any(private):
        return
    negated = base == "NotIpAddress"
    if all(private):
        context.add("PRIVATE_NOT_IP_ADDRESS" if negated else "PRIVATE_IP_ADDRESS", path, values)
    else:
        context.add("PRIVATE_NOT_IP_ADDRESS_SUBSET" if negated else "PRIVATE_IP_ADDRESS_SUBSET", path, values)


def _check_identifier(context: Context, path: Path, node: Node, text: str, key: str) -> None:
    """aws:SourceVpc and aws:SourceVpce values look like VPC and endpoint identifiers."""
    lower = key.lower()
    if lower == "aws:sourcevpc" and not _VPC.fullmatch(text):
        context.add("INVALID_VPC_FORMAT", path, node)
    elif lower == "aws:sourcevpce" and not _VPCE.fullmatch(text):
        context.add("INVALID_VPCE_FORMAT", path, node)
