"""Rating ids are RFC 9562 version 7 UUIDs: unique and ordered by their time."""

from __future__ import annotations

import uuid

from hailong.sync.ids import new_rating_id


def test_the_id_is_a_version_7_uuid_carrying_its_millisecond() -> None:
    made = new_rating_id(1_764_115_200_123)
    assert made.version == 7 and made.variant == uuid.RFC_4122
    assert made.int >> 80 == 1_764_115_200_123


def test_ids_follow_their_time_and_never_repeat() -> None:
    ids = [new_rating_id(ms) for ms in range(1_764_115_200_000, 1_764_115_201_000)]
    assert ids == sorted(ids)
    same_ms = {new_rating_id(1_764_115_200_000) for _ in range(10_000)}
    assert len(same_ms) == 10_000


def test_without_a_time_the_id_carries_now() -> None:
    import time

    before = time.time_ns() // 1_000_000
    made = new_rating_id()
    after = time.time_ns() // 1_000_000
    assert before <= made.int >> 80 <= after
