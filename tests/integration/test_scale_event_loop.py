"""Which requests the server answers off its event loop (issue 16): those whose time grows with the
account, so that one slow page holds up no other client. (How long they take is the bench's business:
bench/scale_bench.py measures GetCallerIdentity while three clients page users.)"""

from __future__ import annotations

from ostiary.app import _account_wide_operations
from ostiary.protocol import models


def test_every_paged_or_counting_operation_runs_off_the_loop() -> None:
    off_loop = _account_wide_operations()
    iam = models.service("iam").model
    for name in iam.operation_names:
        takes_marker = "Marker" in getattr(iam.operation_model(name).input_shape, "members", {})
        assert (name in off_loop) == (takes_marker or name == "GetAccountSummary"), name
    assert {"ListUsers", "ListPolicies", "GetAccountAuthorizationDetails", "GetGroup"} <= off_loop


def test_single_entity_operations_stay_on_the_loop() -> None:
    """Their cost does not grow with the account; a thread hand-off would cost them more than it saves."""
    off_loop = _account_wide_operations()
    assert not {"GetUser", "GetPolicy", "GetRole", "AttachUserPolicy", "GetCallerIdentity"} & off_loop
