"""What the fault tests share: the seed of their random schedules, and an enrolled
kiosk run as a real process."""

from __future__ import annotations

import collections
import os
import random
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import stack


def fault_seed() -> int:
    """HAILONG_FAULT_SEED replays a failed run; otherwise a fresh seed, printed."""
    text = os.environ.get("HAILONG_FAULT_SEED")
    seed = int(text) if text else random.SystemRandom().randrange(2**32)
    print(f"fault seed: {seed} (replay with HAILONG_FAULT_SEED={seed})")
    return seed


@dataclass
class Kiosk:
    """An enrolled kiosk's files; `start()` runs it (headless) as a real process."""

    toml: Path
    data_dir: Path
    box_link: Path
    officer_ids: list[int]
    started: list[stack.Process]

    @property
    def database(self) -> Path:
        return self.data_dir / "kiosk.db"

    def start(self) -> stack.Process:
        process = stack.start_kiosk(self.toml)
        self.started.append(process)
        return process

    def box(self) -> tuple[stack.Box, str]:
        return stack.start_box(self.box_link, self.started)

    def status(self) -> str:
        return stack.sync_status(self.toml)

    def backlog(self) -> int:
        """Ratings waiting to upload, read from the kiosk's database."""
        [(count,)] = self.query("SELECT count(*) FROM outbox WHERE state = 'pending'")
        return int(count)

    @property
    def kiosk_id(self) -> int:
        """The id the server gave this kiosk at enrollment."""
        [(value,)] = self.query("SELECT value FROM state WHERE key = 'kiosk_id'")
        return int(value)

    def query(self, sql: str, *params: object) -> list[tuple]:
        """Rows from the kiosk's database, opened read-only."""
        uri = f"file:{self.database}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=10)) as db:
            return db.execute(sql, params).fetchall()


MakeKiosk = Callable[..., Kiosk]


def box_rows(server: stack.Server, kiosk: Kiosk) -> list[tuple[str, int, int, str]]:
    """(box serial, boot nonce, sequence, rating id) of the server's ratings from
    `kiosk` (whose only ratings are its box's: the simulated boxes of other tests
    share its serial number)."""
    return server.query(
        "SELECT box_serial, box_boot_nonce, box_seq, id FROM ratings WHERE kiosk_id = ?",
        kiosk.kiosk_id,
    )


def assert_exactly_once(
    rows: list[tuple[str, int, int, str]],
    serial: str,
    made: set[tuple[int, int]],
    acked: set[tuple[int, int]],
) -> None:
    """The server's `rows` from the box `serial` hold every press the box `made` exactly once.

    `made` and `acked` are (boot nonce, sequence) pairs from the box's own events:
    every press it took into its ring, and those the kiosk acknowledged (confirmed by
    the light). The box resends an unacknowledged press until it is acknowledged, so
    by the end every press made must be there, not only the acknowledged ones.
    """
    assert {row[0] for row in rows} <= {serial}, "ratings from another box"
    keys = [(nonce, seq) for _serial, nonce, seq, _id in rows]
    ids = [rating_id for *_key, rating_id in rows]
    # 1. Nothing confirmed by the light is lost.
    assert not acked - set(keys), f"acknowledged presses missing on the server: {acked - set(keys)}"
    # 2. Nothing unconfirmed is lost either: the box resent it and the kiosk stored it.
    assert not made - set(keys), f"presses missing on the server: {sorted(made - set(keys))}"
    # 3. No press counted twice: one row per (serial, boot nonce, sequence) ...
    twice = [key for key, n in collections.Counter(keys).items() if n > 1]
    assert not twice, f"presses stored twice on the server: {twice}"
    # 4. ... and no rating id twice (a resent upload is answered "duplicate", not stored).
    assert len(set(ids)) == len(ids), "a rating id stored twice"
    # 5. Nothing the box never sent.
    assert set(keys) == made, f"ratings the box never sent: {set(keys) - made}"
