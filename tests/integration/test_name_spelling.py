"""No spelling of a name changes a decision: names are found ignoring case, decisions are made on the
stored entity's own ARN (issue 10, finding 2, as a property over random spellings).

Each property runs a few examples against the live server: every spelling is decided as the
canonical one is, for a Deny on the canonical ARN, a boundary Deny on a prefix, and an Allow naming
only the canonical ARN.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Server
from tests.integration.authz_helpers import Principal, account_trust, allow, denied, deny, doc

_EXAMPLES = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Characters whose lower case is another's: `K` (Kelvin sign) lower-cases to `k`.
_LOOKALIKES = {"k": ("K", "k", "\u212a")}


def spellings(name: str, *, lookalikes: bool = False) -> st.SearchStrategy[str]:
    """Random spellings of `name`: each letter in either case, and with `lookalikes` the characters
    that lower-case to one of its letters (which must never reach a decision of their own)."""
    table = _LOOKALIKES if lookalikes else {}
    choices = [st.sampled_from(table.get(c.lower(), (c.lower(), c.upper()))) for c in name]
    return st.tuples(*choices).map("".join)


def _role(server: Server, iam: Any, name: str) -> str:
    return str(
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=account_trust(server.account_id))["Role"][
            "Arn"
        ]
    )


def test_no_spelling_of_a_role_arn_escapes_a_deny_on_it(server: Server, iam: Any, unique: str) -> None:
    name = f"ProdKiosk{unique}"
    arn = _role(server, iam, name)
    caller = Principal(server, iam, f"dev-{unique}", allow("sts:AssumeRole"), deny("sts:AssumeRole", arn))
    prefix = arn[: -len(name)]

    @_EXAMPLES
    @given(spellings(name, lookalikes=True))
    def check(spelled: str) -> None:
        with pytest.raises(ClientError) as exc:
            caller.sts.assume_role(RoleArn=prefix + spelled, RoleSessionName="spelled")
        message = denied(exc)
        if spelled.isascii():  # a look-alike names no role at all, and is refused on what it names
            assert (
                message
                == f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {arn}"
            )

    check()


def test_no_spelling_of_a_role_arn_escapes_a_boundary_deny(server: Server, iam: Any, unique: str) -> None:
    name = f"ProdKiosk{unique}"
    arn = _role(server, iam, name)
    prod = f"arn:aws:iam::{server.account_id}:role/Prod*"
    cap = iam.create_policy(
        PolicyName=f"cap-{unique}", PolicyDocument=doc(allow("sts:AssumeRole"), deny("sts:AssumeRole", prod))
    )["Policy"]["Arn"]
    caller = Principal(server, iam, f"dev-{unique}", allow("sts:AssumeRole"), PermissionsBoundary=cap)
    prefix = arn[: -len(name)]

    @_EXAMPLES
    @given(spellings(name))
    def check(spelled: str) -> None:
        with pytest.raises(ClientError) as exc:
            caller.sts.assume_role(RoleArn=prefix + spelled, RoleSessionName="spelled")
        assert denied(exc).endswith(f"sts:AssumeRole on resource: {arn}")

    check()


def test_an_allow_naming_the_canonical_role_arn_holds_for_every_spelling(
    server: Server, iam: Any, unique: str
) -> None:
    name = f"ProdKiosk{unique}"
    arn = _role(server, iam, name)
    caller = Principal(server, iam, f"dev-{unique}", allow("sts:AssumeRole", arn))
    prefix = arn[: -len(name)]

    @_EXAMPLES
    @given(spellings(name))
    def check(spelled: str) -> None:
        out = caller.sts.assume_role(RoleArn=prefix + spelled, RoleSessionName="spelled")
        assert (
            out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{server.account_id}:assumed-role/{name}/spelled"
        )

    check()


def _named(server: Server, iam: Any, kind: str, name: str) -> tuple[str, Callable[[Any, str], Any]]:
    """Create a `kind` named `name`: (its ARN, a call that reads it by name)."""
    if kind == "user":
        return iam.create_user(UserName=name)["User"]["Arn"], lambda c, n: c.get_user(UserName=n)
    if kind == "group":
        return iam.create_group(GroupName=name)["Group"]["Arn"], lambda c, n: c.get_group(GroupName=n)
    if kind == "role":
        return _role(server, iam, name), lambda c, n: c.get_role(RoleName=n)
    created = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]
    return created, lambda c, n: c.get_instance_profile(InstanceProfileName=n)


@pytest.mark.parametrize("kind", ["user", "group", "role", "instance-profile"])
def test_no_spelling_of_a_name_changes_an_iam_decision(
    server: Server, iam: Any, unique: str, kind: str
) -> None:
    denied_name, allowed_name = f"KeptKey{unique}", f"OpenKey{unique}"
    denied_arn, read = _named(server, iam, kind, denied_name)
    allowed_arn, _ = _named(server, iam, kind, allowed_name)
    caller = Principal(
        server, iam, f"reader-{unique}", allow("iam:Get*", allowed_arn), allow("iam:*", denied_arn)
    )
    iam.put_user_policy(
        UserName=caller.name, PolicyName="deny", PolicyDocument=doc(deny("iam:*", denied_arn))
    )

    @_EXAMPLES
    @given(spellings(denied_name), spellings(allowed_name))
    def check(spelled_denied: str, spelled_allowed: str) -> None:
        with pytest.raises(ClientError) as exc:
            read(caller.iam, spelled_denied)
        assert denied(exc).endswith(
            f"on resource: {denied_arn} with an explicit deny in an identity-based policy"
        )
        read(caller.iam, spelled_allowed)

    check()


def test_no_spelling_of_a_source_arn_escapes_a_deny_on_the_simulator(
    server: Server, iam: Any, unique: str
) -> None:
    name = f"KeyHolder{unique}"
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    caller = Principal(
        server, iam, f"auditor-{unique}", allow("iam:SimulatePrincipalPolicy"), deny("iam:*", arn)
    )
    prefix = arn[: -len(name)]

    @_EXAMPLES
    @given(spellings(name))
    def check(spelled: str) -> None:
        with pytest.raises(ClientError) as exc:
            caller.iam.simulate_principal_policy(
                PolicySourceArn=prefix + spelled, ActionNames=["iam:GetUser"]
            )
        assert denied(exc).endswith(f"on resource: {arn} with an explicit deny in an identity-based policy")

    check()
