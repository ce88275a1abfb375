"""`ostiary keyring rotate`: every sealed secret re-sealed under a new key while servers keep serving.

1. The keyring file becomes [new, old]: new seals, both open. Running servers re-read the file within
   `REFRESH_SECONDS` (and at once when a value does not open), so the rotation waits twice that before
   re-sealing: from then on no server seals with the old key.
2. Each sealed column is re-sealed in batches, one transaction each; a row changed meanwhile is left to
   the next pass (the update is conditional on the sealed value read).
3. Passes repeat until one finds nothing left under the old key.
4. The file becomes [new]: the old key is retired, and opens nothing in the store.

Session tokens and authorization messages handed out before the rotation are sealed under the old key
(they live with their clients, not in the store): they are refused once the old key is retired, unless
the rotation keeps it (`keep_old`, step 4 skipped) until they expire. A file holding two keys (an
interrupted rotation, or one that kept its old key) is finished by rotating again: steps 2 to 4.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ostiary.store.db import Database
from ostiary.store.keyring import REFRESH_SECONDS, Keyring, new_key, read_keys, write_keys
from ostiary.store.sealed import SEALED, ResealError, SealedColumn, reseal_batch

_BATCH = 500
_PASSES = 5


class RotationError(Exception):
    """The keyring cannot be rotated here, or a secret would not re-seal."""


def rotate(
    db: Database, keyring_path: Path, *, keep_old: bool = False, wait: Callable[[float], None] = time.sleep
) -> dict[str, int]:
    """Rotate the keyring file at `keyring_path` over the store `db`; secrets re-sealed per table.

    `keep_old` leaves the old key in the file (opening only) for the session tokens sealed under it.
    """
    try:
        keys = read_keys(keyring_path)
    except (OSError, ValueError) as exc:
        raise RotationError(f"the keyring file cannot be read: {exc}") from exc
    if len(keys) == 1:  # else a rotation was interrupted (or kept its old key): its new key is first
        keys = [new_key(), *keys]
        write_keys(keyring_path, keys)
    both, new_only = Keyring(*keys), Keyring(keys[0])
    wait(2 * REFRESH_SECONDS)  # every server now seals with the new key
    resealed: dict[str, int] = {}
    for _ in range(_PASSES):
        done = {column.table.name: _reseal(db, column, both, new_only) for column in SEALED}
        if not any(done.values()):
            break
        for name, count in done.items():
            resealed[name] = resealed.get(name, 0) + count
    else:
        raise RotationError(
            "secrets kept being sealed under the old key: is a server using another keyring file?"
        )
    if not keep_old:
        write_keys(keyring_path, keys[:1])
    return resealed


def _reseal(db: Database, column: SealedColumn, both: Keyring, new_only: Keyring) -> int:
    """Re-seal under the new key every value of `column` that only the old one opens; how many."""
    count, after = 0, ""
    while True:
        try:
            with db.transaction() as conn:
                done, last = reseal_batch(conn, column, after, both, new_only, _BATCH)
        except ResealError as exc:
            raise RotationError(str(exc)) from exc
        count += done
        if last is None:
            return count
        after = last
