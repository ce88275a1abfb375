"""MaxSigninSessionDuration of roles and login profiles: set, replaced or reset, shown only when set.

The model checks the range (3600 to 7776000 seconds). A login profile's value is the length of the
user's `ostiary signin` sessions (ostiary.signin); a role's is kept and returned, with no console sign-in
to apply to.
"""

from __future__ import annotations

from typing import Any

from ostiary.errors import InvalidInputException


def signin_change(seconds: int | None, reset: bool | None) -> dict[str, int | None]:
    """The column to set for an update: the new value, None to reset, nothing when neither is given."""
    if seconds is not None and reset:
        raise InvalidInputException(
            "You cannot specify MaxSigninSessionDuration and set ResetMaxSigninSessionDuration to true "
            "in the same request."
        )
    if seconds is not None:
        return {"max_signin_session_duration": seconds}
    return {"max_signin_session_duration": None} if reset else {}


def with_signin(shape: dict[str, Any], seconds: int | None) -> dict[str, Any]:
    """The shape with MaxSigninSessionDuration when it is set (AWS omits it when unset)."""
    if seconds is not None:
        shape["MaxSigninSessionDuration"] = seconds
    return shape
