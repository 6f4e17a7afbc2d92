"""The kiosk's wiring without a window: the real simulated box on a pty, the real
driver, session and SQLite store, joined by the controller."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hailong.config.settings import (
    DEFAULT_SCALE,
    DeviceSettings,
    KioskFile,
    KioskPolicy,
    KioskSettings,
    OpeningHours,
    SyncSettings,
)
from hailong.device.simulator import Simulator
from hailong.kiosk.controller import Event, KioskController
from hailong.kiosk.session import RatingSession
from hailong.sync.store import Feedback, KioskStore
from hailong.sync.wire import Counter, KioskConfig, Officer

CONFIG = KioskConfig(
    kiosk_id=7,
    counter=Counter(id=3, name="Quầy 2", unit_name="Bộ phận Một cửa"),
    officers=[Officer(id=11, name="Nguyễn Thị Lan", title="Chuyên viên")],
)


def settings(tmp_path: Path, port: str) -> KioskFile:
    return KioskFile(
        kiosk=KioskSettings(
            data_dir=tmp_path, response_interval_s=0, opening_hours=OpeningHours(enabled=False)
        ),
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
        # Further apart than a press and a tap made together (those are one rating).
        time.sleep(RatingSession.COINCIDENCE_S)
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


def test_a_low_rating_is_held_for_feedback_only_when_a_screen_asks(
    tmp_path: Path, store: KioskStore
):
    config = settings(tmp_path, "unused").model_copy(
        update={"device": DeviceSettings(enabled=False)}
    )
    asking = KioskController(config, enrolled(store), asks_feedback=True)
    low, high = asking.touch(4), asking.touch(1)
    assert low is not None and high is not None
    assert (asking.wants_reason(low), asking.wants_reason(high)) == (True, False)
    assert [item.id for item in store.pending(10, 10**6)] == [high.id]
    assert asking.update_feedback(low.id, Feedback(reason="staff_attitude"))
    assert asking.finish_feedback(low.id)
    assert not asking.finish_feedback(low.id)
    assert {item.reason for item in store.pending(10, 10**6)} == {None, "staff_attitude"}

    headless = KioskController(config, store)
    unasked = headless.touch(4)
    assert unasked is not None and not headless.wants_reason(unasked)


def test_the_pulled_policy_replaces_the_files_scale_and_questions(
    tmp_path: Path, store: KioskStore
):
    config = settings(tmp_path, "unused").model_copy(
        update={"device": DeviceSettings(enabled=False)}
    )
    controller = KioskController(config, enrolled(store), asks_feedback=True)
    three = KioskPolicy(
        scale=(*DEFAULT_SCALE[:2], DEFAULT_SCALE[3].model_copy(update={"button": 3})),
        low_rating_max_sipas=0,
    )
    controller.apply_config(CONFIG.model_copy(update={"policy": three}))
    assert len(controller.scale) == 3
    rating = controller.touch(3)
    assert rating is not None and rating.scale_size == 3 and rating.sipas_level == 2
    assert not controller.wants_reason(rating), "this unit asks no reasons"


def test_the_button_test_takes_presses_without_storing_them(
    tmp_path: Path, box: Simulator, store: KioskStore
):
    controller = KioskController(settings(tmp_path, str(tmp_path / "box")), enrolled(store))
    pressed: list[int] = []
    controller.set_button_test(pressed.append)
    controller.start()
    try:
        wait_until(lambda: controller.box_status == "connected")
        box.press(3)
        wait_until(lambda: 1 in acknowledged(box))
        assert pressed[:1] == [3] and store.backlog() == 0
        assert controller.box_info().serial
        controller.set_button_test(None)
        box.press(2)
        wait_until(lambda: store.backlog() == 1)
    finally:
        controller.stop()
