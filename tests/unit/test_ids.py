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


def test_a_forked_process_never_makes_its_parents_next_request_ids() -> None:
    import os

    ids.request_id()  # the parent's random bytes read ahead
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's side
        try:
            os.write(writer, ",".join(ids.request_id() for _ in range(20)).encode())
        finally:
            os._exit(0)
    os.close(writer)
    parents = {ids.request_id() for _ in range(20)}
    with os.fdopen(reader) as pipe:
        childs = set(pipe.read().split(","))
    os.waitpid(child, 0)
    assert len(childs) == 20 and not parents & childs


def test_request_ids_from_threads_at_once_are_all_different() -> None:
    import threading

    made: list[list[str]] = [[] for _ in range(8)]

    def make(into: list[str]) -> None:
        into.extend(ids.request_id() for _ in range(2000))

    threads = [threading.Thread(target=make, args=(into,)) for into in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [value for into in made for value in into]
    assert len(set(every)) == len(every) == 16000
