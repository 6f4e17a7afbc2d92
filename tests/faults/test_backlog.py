"""A 50,000-rating backlog (a kiosk offline for months) drains to the real server
through the real uploader: `hailong sync push`, with its progress bar.

Filling the store. One rating is stored through `KioskStore.record`, the path every
rating takes; the others are copies of it with their own id, sequence number and
times, inserted in ONE transaction with the store's own table definitions
(`hailong.sync.kiosk_schema`): a rating row, its pending outbox row and the kiosk's
sequence counter, exactly what `record` writes. Why not `record` 50,000 times: it
commits (and fsyncs) once per rating by design, about 4 ms each here (1.5 ms on
tmpfs) — 200 s of filling for a test that must take seconds. After the fill the
store must see them as its own: `backlog()` counts them and `pending()` reads them
back as valid wire items.

HAILONG_BACKLOG sets the count (50,000 by default).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from contextlib import closing
from datetime import UTC, datetime

import stack
from faultkit import MakeKiosk

from hailong.kiosk.session import NewRating
from hailong.sync.bench import copy_pending
from hailong.sync.boot import current_boot_id
from hailong.sync.store import KioskStore

BACKLOG = int(os.environ.get("HAILONG_BACKLOG", "50000"))
PUSH_TIMEOUT_S = 240.0


def test_a_long_backlog_drains_with_sync_push(server: stack.Server, make_kiosk: MakeKiosk):
    # Batches as large as the server takes (1,000 items, 1 MB bodies).
    kiosk = make_kiosk(batch_max_items=1000, batch_max_bytes=900_000, timeout_s=30.0)
    [[config]] = kiosk.query("SELECT value FROM state WHERE key = 'config'")
    counter_id = int(re.search(r'"counter":\s*\{"id":\s*(\d+)', config).group(1))
    started = time.monotonic()
    with closing(KioskStore(kiosk.database)) as store:
        template = store.record(
            NewRating(counter_id, kiosk.officer_ids[0], 1, 4, 5, "touch", (), None),
            wall_time=datetime.now(UTC),
            monotonic_ms=int(time.monotonic() * 1000),
            clock_trusted=True,
            boot_id=current_boot_id(),
        )
        copy_pending(store, template, BACKLOG - 1)
        assert store.backlog() == BACKLOG
        assert len(store.pending(1000, 10_000_000)) == 1000
    filled = time.monotonic()

    push = subprocess.run(
        stack.hailong("sync", "push", "--config", str(kiosk.toml)),
        capture_output=True, text=True, timeout=PUSH_TIMEOUT_S,
    )
    drained = time.monotonic()
    print(
        f"{BACKLOG} ratings: filled in {filled - started:.1f} s, drained by `hailong sync "
        f"push` in {drained - filled:.1f} s ({BACKLOG / (drained - filled):.0f} ratings/s)"
    )
    assert push.returncode == 0, push.stderr
    assert f"Uploaded {BACKLOG} ratings; 0 set aside" in push.stdout, push.stdout
    # The progress bar went from nothing to everything.
    assert f"0/{BACKLOG}" in push.stderr and f"] {BACKLOG}/{BACKLOG}" in push.stderr

    on_server = server.query(
        "SELECT count(*), count(DISTINCT id), count(DISTINCT kiosk_seq) FROM ratings "
        "WHERE kiosk_id = ?", kiosk.kiosk_id,
    )
    assert on_server == [(BACKLOG, BACKLOG, BACKLOG)]
    server_ids = {row[0] for row in server.query(
        "SELECT id FROM ratings WHERE kiosk_id = ?", kiosk.kiosk_id)}
    kiosk_ids = {row[0] for row in kiosk.query("SELECT id FROM ratings")}
    assert server_ids == kiosk_ids
    assert "Waiting to upload: 0\n" in kiosk.status()
