"""kill -9 of the kiosk process at random moments, while the box is pressed and the
uploader uploads — then every press is on the server exactly once.

Real processes only: the server, the simulated box and the headless kiosk
(`hailong kiosk run --no-window`), which is SIGKILLed and restarted again and again.
The box keeps every unacknowledged press in its ring and resends it, so presses made
while the kiosk is dead (or killed between storing and acknowledging) arrive later.

HAILONG_FAULT_KILLS sets the number of kills (50 in `make test`, 1,000 in `make
soak`); HAILONG_FAULT_SEED replays a run's random schedule.
"""

from __future__ import annotations

import collections
import os
import random
import threading
import time

import stack
from faultkit import MakeKiosk, assert_exactly_once, box_rows, fault_seed

from hailong.device.protocol_constants import EVENT_RING_SIZE

KILLS = int(os.environ.get("HAILONG_FAULT_KILLS", "50"))
# Where a kill lands. Some kiosk lives end during start-up (migrations, opening the
# store), at a random moment after the start; the others once the services are up,
# at a random moment of the box handshake, of storing and acknowledging presses, of
# uploads.
STARTUP_KILLS = 0.25
STARTUP_S = (0.0, 0.8)
RUNNING_S = (0.0, 1.0)
DEAD_S = (0.0, 0.3)
PRESS_GAP_S = (0.01, 0.12)
# The presser leaves room in the box's ring (it drops presses, unconfirmed, when it is
# full), so every press the box takes is one it will keep resending.
RING_MARGIN = 4
DRAIN_S = 60.0


class Presser(threading.Thread):
    """Presses random buttons at random moments until stopped, whatever the kiosk does."""

    def __init__(self, box: stack.Box, rng: random.Random) -> None:
        super().__init__(name="presser", daemon=True)
        self.box = box
        self.rng = rng
        self.halt = threading.Event()
        self.count = 0

    def run(self) -> None:
        while not self.halt.wait(self.rng.uniform(*PRESS_GAP_S)):
            waiting = len(self.box.presses() - self.box.acked())
            if waiting < EVENT_RING_SIZE - RING_MARGIN:
                self.box.press(self.rng.randint(1, 4))
                self.count += 1


def test_every_press_survives_kill_9_of_the_kiosk(server: stack.Server, make_kiosk: MakeKiosk):
    seed = fault_seed()
    rng = random.Random(seed)
    # Small batches and a short interval: the uploader is nearly always mid-upload.
    kiosk = make_kiosk(interval_s=0.1, timeout_s=2.0, batch_max_items=4, backoff_max_s=0.5)
    box, serial = kiosk.box()
    presser = Presser(box, random.Random(rng.getrandbits(64)))
    presser.start()

    lives_with_acks = lives_with_uploads = 0
    try:
        for _kill in range(KILLS):
            acked_before = len(box.acked())
            on_server_before = len(box_rows(server, kiosk))
            process = kiosk.start()
            if rng.random() >= STARTUP_KILLS:
                process.wait_for(lambda line: "kiosk services ready" in line, 30)
                time.sleep(rng.uniform(*RUNNING_S))
            else:
                time.sleep(rng.uniform(*STARTUP_S))
            process.kill()
            kiosk.started.remove(process)
            lives_with_acks += len(box.acked()) > acked_before
            lives_with_uploads += len(box_rows(server, kiosk)) > on_server_before
            time.sleep(rng.uniform(*DEAD_S))  # presses keep coming while it is dead
    finally:
        presser.halt.set()
        presser.join()

    print(
        f"{KILLS} kills; {presser.count} presses; {lives_with_acks} lives acknowledged "
        f"presses, {lives_with_uploads} lives uploaded before their kill"
    )
    # The kills must have hit a working kiosk, not only one still starting.
    assert lives_with_acks >= KILLS // 4, "too few kiosk lives got as far as storing a press"
    assert lives_with_uploads >= KILLS // 4, "too few kiosk lives got as far as an upload"

    # Every press command has reached the box: as a press in its ring, or dropped.
    box.wait_until(
        lambda events: len(box.presses()) + sum(e["event"] == "ring_full" for e in events)
        == presser.count,
        DRAIN_S,
    )
    made = box.presses()
    last = kiosk.start()
    box.wait_until(lambda _events: box.acked() >= made, DRAIN_S)
    stack.wait_until(
        lambda: len(box_rows(server, kiosk)) >= len(made), DRAIN_S, "the backlog drained"
    )
    stack.wait_until(lambda: kiosk.backlog() == 0, DRAIN_S, "kiosk backlog 0")
    assert "Waiting to upload: 0\n" in kiosk.status()
    assert last.stop() == 0, last.tail()

    rows = box_rows(server, kiosk)
    events = collections.Counter(event["event"] for event in box.snapshot())
    print(f"box events: {dict(events)}; server rows: {len(rows)}")
    # The box took every press into its ring (none dropped for lack of room), so every
    # one of them counts as made and will be resent until acknowledged.
    assert events["ring_full"] == 0
    assert presser.count == len(made)
    assert_exactly_once(rows, serial, made, box.acked())
    # The kiosk agrees: one rating per press there too, none left waiting.
    on_kiosk = kiosk.query("SELECT count(*) FROM ratings WHERE box_serial = ?", serial)
    assert on_kiosk == [(len(made),)]
