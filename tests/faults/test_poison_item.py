"""A poison item in a batch: the server refuses that one item, the kiosk sets it
aside with the server's reason, and every other rating of the batch still arrives.

The poison ratings are what a kiosk with a stale roster would store: an officer who
has moved to another unit, and a counter that is not this kiosk's. They are written
through the kiosk's own store (`KioskStore.record`, as the controller does), then
the real kiosk process uploads them with the rest in one batch.
"""

from __future__ import annotations

import json
import time
import uuid
from contextlib import closing
from datetime import UTC, datetime

import stack
from faultkit import MakeKiosk

from hailong.kiosk.session import NewRating
from hailong.sync.boot import current_boot_id
from hailong.sync.store import KioskStore

DRAIN_S = 60.0


def test_a_refused_item_is_set_aside_and_the_rest_arrive(
    server: stack.Server, make_kiosk: MakeKiosk
):
    kiosk = make_kiosk(interval_s=0.2, batch_max_items=100)
    [[config]] = kiosk.query("SELECT value FROM state WHERE key = 'config'")
    counter_id = json.loads(config)["counter"]["id"]
    officer_id = kiosk.officer_ids[0]
    [[unit_id]] = server.query("SELECT unit_id FROM counters WHERE id = ?", counter_id)
    [[other_unit]] = server.query("SELECT min(id) FROM units WHERE id != ?", unit_id)
    [[other_counter]] = server.query("SELECT min(id) FROM counters WHERE id != ?", counter_id)
    stack.run_hailong(
        "admin", "--data-dir", str(server.data_dir),
        "officer", "add", "Đỗ Văn Khác", "--unit", str(other_unit),
    )
    [[outsider]] = server.query("SELECT id FROM officers WHERE name = 'Đỗ Văn Khác'")

    def rating(officer: int, counter: int = counter_id) -> NewRating:
        return NewRating(counter, officer, 2, 4, 4, "touch", (), None)

    plan = [rating(officer_id)] * 4 + [rating(outsider), rating(officer_id, other_counter)]
    plan += [rating(officer_id)] * 4
    boot_id = current_boot_id()
    with closing(KioskStore(kiosk.database)) as store:
        stored = [
            store.record(
                new,
                wall_time=datetime.now(UTC),
                monotonic_ms=int(time.monotonic() * 1000),
                clock_trusted=True,
                boot_id=boot_id,
            )
            for new in plan
        ]
    # The server's reason names the officer or the counter (in its own language).
    poison = {stored[4].id: str(outsider), stored[5].id: str(other_counter)}
    good = {r.id for r in stored} - set(poison)

    kiosk.start()
    stack.wait_until(lambda: kiosk.backlog() == 0, DRAIN_S, "kiosk backlog 0")

    status = kiosk.status()
    print(status)
    assert "Set aside (refused by the server): 2" in status, status
    on_server = {
        uuid.UUID(rating_id)
        for (rating_id,) in server.query("SELECT id FROM ratings WHERE kiosk_id = ?",
                                         kiosk.kiosk_id)
    }
    assert on_server == good
    # Set aside on the kiosk with the server's reason; every other one sent.
    outbox = {
        uuid.UUID(rating_id): (state, result, reason)
        for rating_id, state, result, reason in kiosk.query(
            "SELECT r.id, o.state, o.result, o.reason FROM outbox o JOIN ratings r USING "
            "(kiosk_seq)"
        )
    }
    for rating_id, named in poison.items():
        state, result, reason = outbox[rating_id]
        assert (state, result) == ("set_aside", "rejected")
        assert named in reason, reason
        # The technician sees each refused rating and why in `hailong sync status`.
        assert f"{rating_id}: rejected: {reason}" in status, status
    assert len({outbox[rating_id][2] for rating_id in poison}) == 2, "one reason for each"
    assert {outbox[rating_id][:2] for rating_id in good} == {("sent", "accepted")}
    # Uploading by hand later does not send them again.
    pushed = stack.run_hailong("sync", "push", "--config", str(kiosk.toml))
    assert "Uploaded 0 ratings; 0 set aside" in pushed, pushed
