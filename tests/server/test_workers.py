"""`hailong server` with several worker processes: the real command in a subprocess,
hit by concurrent clients on fresh connections.

Each worker keeps its own per-kiosk upload buckets (ratelimit.py, in process
memory), so a kiosk may get up to `workers` × the burst before it is slowed down;
sessions, enrollment and ratings live in the database and the signing key in the
data folder, so they hold across workers."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from server_harness import TIMEOUT_S, Http, RatingMaker, issue_code, make_org, make_user
from test_metrics import Samples, parse, value
from test_server_cli import ServerProcess, hailong_server

from hailong.sync.server import metrics
from hailong.sync.server.db import make_engine, make_session_factory
from hailong.sync.wire import API_PREFIX

WORKERS = 2
BURST = 3
# Not the default (2): the workers serve the file's kiosk policy.
LOW_RATING_MAX = 3
DEADLINE_S = 20.0


def fresh(
    method: str, url: str, headers: dict[str, str] | None = None, **kwargs: Any
) -> requests.Response:
    """A request on a connection of its own, so the kernel may hand it to any worker."""
    return requests.request(method, url, headers={"Connection": "close", **(headers or {})},
                            timeout=TIMEOUT_S, **kwargs)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(base URL, data folder) of `hailong server --workers 2` on a free port. The
    per-kiosk limit is tiny (BURST batches, then one every 100 s) so the test sees it."""
    folder = tmp_path_factory.mktemp("workers")
    config = folder / "server.toml"
    config.write_text(
        f'[server]\ndata_dir = "{folder}"\nupload_batches_per_s = 0.01\n'
        f"upload_burst = {BURST}\nlanguage = \"en\"\n"
        f"[kiosk_policy]\nlow_rating_max_sipas = {LOW_RATING_MAX}\n"
    )
    with hailong_server("--config", str(config), "--port", "0",
                        "--workers", str(WORKERS)) as server:
        base = server.wait_for(r"listening on (http://\S+)").group(1)
        try:
            yield base, folder
        finally:
            stop(server)


def stop(server: ServerProcess) -> None:
    """SIGTERM, as systemd stops the unit: the supervisor stops its workers and exits."""
    server.process.send_signal(signal.SIGTERM)
    server.process.wait(DEADLINE_S)


def scrape(base: str) -> Samples:
    answer = fresh("GET", f"{base}/metrics")
    assert answer.status_code == 200, answer.text
    return parse(answer.text)


def worker_requests(samples: Samples) -> dict[str, float]:
    return {dict(labels)["pid"]: count for (name, labels), count in samples.items()
            if name == "hailong_worker_http_requests_total"}


def test_requests_are_served_by_several_processes_and_counted_once(
    running: tuple[str, Path],
) -> None:
    base, _folder = running
    sent = 0
    deadline = time.monotonic() + DEADLINE_S
    with ThreadPoolExecutor(8) as pool:
        while True:
            codes = list(pool.map(lambda _n: fresh("GET", f"{base}/healthz").status_code,
                                  range(40)))
            assert codes == [200] * 40
            sent += 40
            samples = scrape(base)
            busy = [pid for pid, count in worker_requests(samples).items() if count > 0]
            if value(samples, "hailong_workers") == WORKERS and len(busy) >= WORKERS:
                break
            assert time.monotonic() < deadline, f"one process served everything: {samples}"
    # The other worker's file is at most a second behind: the sum reaches what was sent.
    while True:
        counted = value(scrape(base), metrics.REQUESTS, route="/healthz", method="GET",
                        status="200")
        assert counted <= sent
        if counted == sent:
            break
        assert time.monotonic() < deadline, f"counted {counted} of {sent}"
        time.sleep(0.1)


def test_a_login_made_on_one_worker_holds_on_every_worker(running: tuple[str, Path]) -> None:
    base, folder = running
    engine = make_engine(f"sqlite:///{folder / 'server.db'}")
    try:
        sessions = make_session_factory(engine)
        username, password = make_user(sessions, "admin", None)
    finally:
        engine.dispose()
    http = Http(base)
    # A new connection for every request: the form, the login and the pages that
    # follow reach the workers at random.
    http.session.headers["Connection"] = "close"
    assert http.login(username, password).status_code == 303
    codes = [http.get(f"{API_PREFIX}/kiosks").status_code for _n in range(30)]
    assert codes == [200] * 30


def test_the_upload_limit_holds_per_worker(running: tuple[str, Path]) -> None:
    """Each worker has its own bucket of BURST for the kiosk: at most WORKERS × BURST
    uploads go through, and the rest get 429 with Retry-After."""
    base, folder = running
    engine = make_engine(f"sqlite:///{folder / 'server.db'}")
    try:
        sessions = make_session_factory(engine)
        org = make_org(sessions)
        code = issue_code(sessions, org.counter_ids[0])
    finally:
        engine.dispose()
    enrolled = fresh("POST", f"{base}{API_PREFIX}/enroll",
                     json={"code": code, "app_version": "test", "hostname": "t"})
    assert enrolled.status_code == 200, enrolled.text
    assert enrolled.json()["config"]["policy"]["low_rating_max_sipas"] == LOW_RATING_MAX
    headers = {"Authorization": f"Bearer {enrolled.json()['token']}"}
    maker = RatingMaker(org.counter_ids[0])
    batches = [maker.batch([maker.item(org.officer_ids[0], 5)]) for _n in range(12)]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(
            lambda batch: fresh("POST", f"{base}{API_PREFIX}/ratings/batches", json=batch,
                                headers=headers),
            batches))
    codes = [answer.status_code for answer in answers]
    assert set(codes) <= {200, 429}, codes
    assert BURST <= codes.count(200) <= WORKERS * BURST, codes
    assert all(int(a.headers["Retry-After"]) >= 1 for a in answers if a.status_code == 429)


def test_stopping_the_server_stops_every_worker(tmp_path: Path) -> None:
    with hailong_server("--data-dir", str(tmp_path), "--port", "0",
                        "--workers", str(WORKERS)) as server:
        base = server.wait_for(r"listening on (http://\S+)").group(1)
        deadline = time.monotonic() + DEADLINE_S
        while value(scrape(base), "hailong_workers") < WORKERS:
            assert time.monotonic() < deadline, "the workers did not all start"
            time.sleep(0.1)
        pids = [int(pid) for pid in worker_requests(scrape(base))]
        stop(server)
        output = "".join(iter(server.lines.get, None))
    assert server.process.returncode == 0, output
    assert len(pids) == WORKERS
    for pid in pids:
        assert not metrics.is_running(pid), f"worker {pid} outlived the server"
    assert "Traceback" not in output, output


def test_the_shared_socket_passes_no_delay_on_to_its_connections() -> None:
    import socket

    import uvicorn

    from hailong.sync.server.runner import listening_socket

    sock = listening_socket(uvicorn.Config("x:y", host="127.0.0.1", port=0))
    try:
        sock.listen(1)
        client = socket.create_connection(sock.getsockname()[:2], timeout=5)
        accepted, _address = sock.accept()
        with client, accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        sock.close()
