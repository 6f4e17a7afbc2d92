"""The per-kiosk upload rate limit: the token bucket alone, then over real HTTP."""

from __future__ import annotations

import time
import uuid

import pytest
from server_harness import RatingMaker, RunningServer, enroll, make_org, serve, statuses, upload
from sqlalchemy import select

from hailong.sync.server.models import Rating
from hailong.sync.server.ratelimit import Bucket, KioskRateLimiter, RateLimit


def test_a_bucket_allows_the_burst_then_the_rate() -> None:
    limit = RateLimit(per_s=2.0, burst=3)
    bucket = Bucket(tokens=3.0, updated=100.0)
    assert [bucket.take(limit, 100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(limit, 100.0) == pytest.approx(0.5)
    assert bucket.take(limit, 100.25) == pytest.approx(0.25)
    assert bucket.take(limit, 100.5) == 0.0
    # a long quiet spell refills it to the burst, no further
    assert [bucket.take(limit, 1000.0) for _ in range(4)][-1] == pytest.approx(0.5)


def test_each_kiosk_has_its_own_bucket_and_waits_are_whole_seconds() -> None:
    limiter = KioskRateLimiter(RateLimit(per_s=0.1, burst=1))
    assert limiter.retry_after(1, 0.0) is None
    assert limiter.retry_after(2, 0.0) is None
    assert limiter.retry_after(1, 0.0) == 10
    assert limiter.retry_after(1, 9.5) == 1
    assert limiter.retry_after(1, 10.1) is None


@pytest.mark.parametrize(("per_s", "burst"), [(0.0, 1), (1.0, 0), (-1.0, 5)])
def test_a_rate_limit_must_let_something_through(per_s: float, burst: int) -> None:
    with pytest.raises(ValueError):
        RateLimit(per_s=per_s, burst=burst)


def test_a_kiosk_over_its_rate_gets_429_with_retry_after_and_nothing_is_stored(
    server: RunningServer,
) -> None:
    # A second app on the same database, with a tight limit.
    with serve(server.settings, RateLimit(per_s=1.0, burst=3)) as limited:
        place = make_org(limited.sessions, officers=1)
        kiosk = enroll(limited, place.counter_ids[0])
        neighbour = enroll(limited, place.counter_ids[1])
        maker = RatingMaker(kiosk.counter_id)
        for _ in range(3):
            assert statuses(upload(limited, kiosk, maker.batch([]))) == []
        batch = maker.batch([maker.item(place.officer_ids[0], 5)])
        refused = upload(limited, kiosk, batch)
        assert refused.status_code == 429
        wait = int(refused.headers["retry-after"])
        assert wait == 1  # one token comes back each second
        assert "too many" in refused.json()["detail"]
        with limited.sessions() as session:
            assert session.get(Rating, uuid.UUID(batch["items"][0]["id"])) is None

        # the neighbour at the next counter is not slowed down
        other = RatingMaker(neighbour.counter_id)
        assert statuses(upload(limited, neighbour, other.batch([]))) == []

        time.sleep(wait)  # what the kiosk does with Retry-After
        assert statuses(upload(limited, kiosk, batch)) == ["accepted"]
        with limited.sessions() as session:
            stored = session.scalars(select(Rating.kiosk_id).where(
                Rating.id == uuid.UUID(batch["items"][0]["id"]))).all()
        assert stored == [kiosk.kiosk_id]
