"""The kiosk's wiring without a window: the real simulated box on a pty, the real
driver, session and SQLite store, joined by the controller."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hailong.config.settings import DeviceSettings, KioskFile, KioskSettings, SyncSettings
from hailong.device.simulator import Simulator
from hailong.kiosk.controller import Event, KioskController
from hailong.sync.store import KioskStore
from hailong.sync.wire import Counter, KioskConfig, Officer

CONFIG = KioskConfig(
    kiosk_id=7,
    counter=Counter(id=3, name="Quầy 2", unit_name="Bộ phận Một cửa"),
    officers=[Officer(id=11, name="Nguyễn Thị Lan", title="Chuyên viên")],
)


def settings(tmp_path: Path, port: str) -> KioskFile:
    return KioskFile(
        kiosk=KioskSettings(data_dir=tmp_path, response_interval_s=0),
        device=DeviceSettings(port=port),
        # Nobody listens here: uploads fail and ratings wait in the outbox.
        sync=SyncSettings(server_url="http://127.0.0.1:9", interval_s=60, timeout_s=0.5),
    )


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Simulator]:
    # A third of the frames are lost in each direction, ACKs included, so presses
    # are resent and must still be stored once.
    sim = Simulator(link=tmp_path / "box", drop=30, seed=4)
    sim.start()
    yield sim
    sim.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[KioskStore]:
    with KioskStore(tmp_path / "kiosk.db") as opened:
        yield opened


def enrolled(store: KioskStore, officer: int | None = 11) -> KioskStore:
    store.set_state("token", "t")
    store.set_state("config", CONFIG.model_dump_json())
    store.set_state("officer_id", str(officer) if officer else "")
    return store


def acknowledged(box: Simulator) -> set[int]:
    return {event["seq"] for event in list(box.events) if event.get("event") == "ack"}


def wait_until(condition, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_each_press_is_stored_once_and_acknowledged_after_its_commit(
    tmp_path: Path, box: Simulator, store: KioskStore
):
    controller = KioskController(settings(tmp_path, str(tmp_path / "box")), enrolled(store))
    rated: list[Event] = []
    lock = threading.Lock()

    def listen(event: Event) -> None:
        if event is Event.RATED:
            with lock:
                rated.append(event)

    controller.add_listener(listen)
    controller.start()
    try:
        wait_until(lambda: controller.box_status == "connected")
        for button in (1, 2, 3, 4, 2, 1):
            box.press(button)
        wait_until(lambda: store.backlog() == 6)
        # Every press confirmed to the box; the resends it made meanwhile added nothing.
        wait_until(lambda: acknowledged(box) >= set(range(1, 7)))
        time.sleep(0.5)
        assert store.backlog() == 6
    finally:
        controller.stop()
    # Lost frames arrive later, by resend: the box's sequence gives the press order.
    items = sorted(store.pending(100, 10**6), key=lambda item: item.box_seq)
    assert [item.box_seq for item in items] == [1, 2, 3, 4, 5, 6]
    assert [item.button for item in items] == [1, 2, 3, 4, 2, 1]
    assert [item.sipas_level for item in items] == [5, 4, 3, 2, 4, 5]
    assert {(item.counter_id, item.officer_id, item.source) for item in items} == {(3, 11, "box")}
    assert len(rated) == 6


def test_touch_and_box_ratings_share_one_outbox(tmp_path: Path, box: Simulator, store: KioskStore):
    controller = KioskController(settings(tmp_path, str(tmp_path / "box")), enrolled(store, None))
    controller.start()
    try:
        wait_until(lambda: controller.box_status == "connected")
        box.press(4)
        wait_until(lambda: store.backlog() == 1)
        stored = controller.touch(1)
    finally:
        controller.stop()
    assert stored.source == "touch" and stored.kiosk_seq == 2
    # Nobody signed in: kept, but flagged.
    assert all("no_officer" in item.flags for item in store.pending(10, 10**6))


def test_an_unenrolled_kiosk_leaves_presses_in_the_box(
    tmp_path: Path, box: Simulator, store: KioskStore
):
    controller = KioskController(settings(tmp_path, str(tmp_path / "box")), store)
    controller.start()
    try:
        box.press(2)
        time.sleep(1.0)
        assert controller.box_status == "disconnected"
        assert store.backlog() == 0
    finally:
        controller.stop()
