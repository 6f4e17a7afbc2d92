"""A broken network between the real kiosk (headless) and the real server, made by
the fault-injecting proxy (`proxy.py`): whatever it does, every press reaches the
server exactly once, and the backlog drains once the proxy behaves."""

from __future__ import annotations

import itertools
import random
from urllib.parse import urlsplit

import pytest
import stack
from faultkit import Kiosk, MakeKiosk, assert_exactly_once, box_rows, fault_seed
from proxy import COMMITTING, Fault, FaultProxy, Plan

from hailong.sync.client import BATCHES_PATH

TIMEOUT_S = 1.0
RETRY_AFTER_S = 1
FAULTS = 3
PRESSES = 12
PRESS_GROUP = 12
DRAIN_S = 60.0
# Small batches: several uploads, so faults and successes interleave.
SYNC = {"interval_s": 0.1, "timeout_s": TIMEOUT_S, "batch_max_items": 3, "backoff_max_s": 0.5}


def upstream(server: stack.Server) -> tuple[str, int]:
    parts = urlsplit(server.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def every_other(fault: Fault, count: int) -> Plan:
    """`fault` on requests 0, 2, 4, … until it has happened `count` times, then none."""
    return lambda index: fault if index % 2 == 0 and index < 2 * count else Fault.PASS


def press_and_drain(
    server: stack.Server, kiosk: Kiosk, proxy: FaultProxy, presses: int, faults: int
) -> str:
    """Press the box `presses` times with the kiosk running behind `proxy`, wait until
    the proxy has done `faults` faults and the kiosk's backlog has drained; then check
    the server holds every press exactly once. The kiosk's `hailong sync status`."""
    box, serial = kiosk.box()
    kiosk.start()
    rng = random.Random(presses)
    # In groups the box's ring of unacknowledged presses can hold.
    for done in range(0, presses, PRESS_GROUP):
        group = min(PRESS_GROUP, presses - done)
        box.press(*(rng.randint(1, 4) for _press in range(group)))
        box.wait_until(lambda _events, n=done + group: len(box.acked()) == n, DRAIN_S)
    stack.wait_until(lambda: len(proxy.faults()) >= faults, DRAIN_S, f"{faults} faults done")
    stack.wait_until(
        lambda: len(box_rows(server, kiosk)) >= presses, DRAIN_S, "every press on the server"
    )
    stack.wait_until(lambda: kiosk.backlog() == 0, DRAIN_S, "kiosk backlog 0")
    assert len(box.presses()) == presses
    assert_exactly_once(box_rows(server, kiosk), serial, box.presses(), box.acked())
    status = kiosk.status()
    assert "Waiting to upload: 0\n" in status, status
    assert "Set aside (refused by the server): 0" in status, status
    return status


def gaps_after(proxy: FaultProxy, fault: Fault) -> list[float]:
    """Seconds from each upload that met `fault` to the next upload (the kiosk's
    heartbeats and roster downloads go their own way)."""
    uploads = [seen for seen in proxy.requests_seen if seen.path == BATCHES_PATH]
    return [b.at - a.at for a, b in itertools.pairwise(uploads) if a.fault is fault]


@pytest.mark.parametrize("fault", [fault for fault in Fault if fault is not Fault.PASS],
                         ids=lambda fault: fault.value)
def test_no_rating_lost_or_doubled_through(
    fault: Fault, server: stack.Server, make_kiosk: MakeKiosk
):
    # A delayed answer comes after the client's timeout: the server has stored the
    # batch, the kiosk thinks it failed and sends it again.
    with FaultProxy(
        upstream(server),
        every_other(fault, FAULTS),
        delay_s=TIMEOUT_S * 1.5,
        retry_after_s=RETRY_AFTER_S,
    ) as proxy:
        kiosk = make_kiosk(upload_to=proxy.url, **SYNC)
        status = press_and_drain(server, kiosk, proxy, PRESSES, FAULTS)

    assert "Last failed upload: never" not in status, status
    if fault in (Fault.TOO_MANY_429, Fault.ERROR_503):
        # Never sooner than the server's Retry-After.
        gaps = gaps_after(proxy, fault)
        assert gaps and min(gaps) >= RETRY_AFTER_S * 0.95, gaps
    if fault is Fault.SILENT:
        # The uploader's own timeout ended each silent wait, and says so.
        gaps = gaps_after(proxy, fault)
        assert gaps and min(gaps) >= TIMEOUT_S * 0.95, gaps
        assert f"within {TIMEOUT_S} s" in status, status
    if fault in COMMITTING:
        # The server did store batches (answered 200) whose answer the kiosk never got;
        # sent again, they were answered "duplicate", not stored twice (checked above).
        assert [proxy.upstream_status.get(seen.index) for seen in proxy.faults()] == [200] * FAULTS


def test_mixed_random_faults(server: stack.Server, make_kiosk: MakeKiosk):
    seed = fault_seed()
    rng = random.Random(seed)
    faults = [fault for fault in Fault if fault is not Fault.PASS]
    schedule = [rng.choice(faults) if rng.random() < 0.6 else Fault.PASS for _i in range(16)]
    print("schedule:", [fault.value for fault in schedule])
    # Every request this time, heartbeats and roster downloads too; and a short delay:
    # slow answers that do arrive in time.
    with FaultProxy(
        upstream(server),
        lambda index: schedule[index] if index < len(schedule) else Fault.PASS,
        target="",
        delay_s=TIMEOUT_S / 3,
        retry_after_s=RETRY_AFTER_S,
    ) as proxy:
        kiosk = make_kiosk(upload_to=proxy.url, **SYNC)
        # 24 presses take at least 8 requests of at most 3 ratings each, so the first
        # 8 entries of the schedule are met for sure.
        certain = sum(fault is not Fault.PASS for fault in schedule[:8])
        press_and_drain(server, kiosk, proxy, 24, certain)
