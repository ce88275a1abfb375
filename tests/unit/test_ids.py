"""Identifiers in AWS's shapes, from the system's random source."""

from __future__ import annotations

import re
import uuid
from collections import Counter

from ostiary import ids


def test_unique_ids_are_a_prefix_and_17_base32_characters() -> None:
    made = {ids.unique_id("AIDA") for _ in range(2000)}
    assert len(made) == 2000
    assert all(re.fullmatch(r"AIDA[A-Z2-7]{17}", value) for value in made)


def test_every_base32_character_turns_up_in_every_position() -> None:
    made = [ids.unique_id("AROA")[4:] for _ in range(4000)]
    for position in range(17):
        assert len(Counter(value[position] for value in made)) == 32


def test_access_key_ids_and_secrets_have_aws_lengths_and_alphabets() -> None:
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", ids.access_key_id())
    assert re.fullmatch(r"ASIA[A-Z2-7]{16}", ids.access_key_id("ASIA"))
    secrets = {ids.secret_access_key() for _ in range(500)}
    assert len(secrets) == 500
    assert all(re.fullmatch(r"[A-Za-z0-9+/]{40}", secret) for secret in secrets)


def test_request_ids_are_random_uuids_as_aws_writes_them() -> None:
    made = [ids.request_id() for _ in range(2000)]
    assert len(set(made)) == 2000
    for value in made:
        parsed = uuid.UUID(value)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == value  # lower-case, dashed
    assert {value[19] for value in made} == set("89ab")
