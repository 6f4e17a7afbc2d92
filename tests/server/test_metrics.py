"""GET /metrics: the Prometheus text format, counters of requests and ingested
ratings, gauges read from the database, and counters added over worker processes
through their shared directory."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from server_harness import Http, RatingMaker, enroll, make_org, serve, upload
from sqlalchemy import update

from hailong.config.settings import ServerSettings
from hailong.sync.server import metrics
from hailong.sync.server.db import migrate
from hailong.sync.server.heartbeat import OFFLINE_AFTER, ONLINE_WITHIN
from hailong.sync.server.models import Kiosk
from hailong.sync.wire import API_PREFIX, ItemResult

# One line of the text exposition format 0.0.4: a comment, or a sample.
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(
    rf"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{{(?P<labels>{LABEL}(?:,{LABEL})*)\}})? "
    r"(?P<value>[-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf|NaN))$"
)
COMMENT = re.compile(r"^# (?:HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* "
                     r"(?:counter|gauge|histogram|summary|untyped))$")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """The samples of an exposition, failing on any line that breaks the format or a
    sample whose family has no TYPE line before it."""
    assert text.endswith("\n")
    typed: set[str] = set()
    samples: Samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert COMMENT.match(line), line
            if line.startswith("# TYPE "):
                typed.add(line.split()[2])
            continue
        found = SAMPLE.match(line)
        assert found, line
        name = found["name"]
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in typed or family in typed, line
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                      found["labels"] or ""))
        key = (name, labels)
        assert key not in samples, f"duplicate series {line}"
        samples[key] = float(found["value"])
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape(http: Http) -> Samples:
    answer = http.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == metrics.CONTENT_TYPE
    return parse(answer.text)


# --- the pure parts ---------------------------------------------------------------

def test_render_is_valid_exposition_text_with_escaped_labels() -> None:
    snapshot = metrics.Snapshot()
    snapshot.counters[metrics.REQUESTS] = {
        (("route", 'a"b\\c\nd'), ("method", "GET"), ("status", "200")): 3.0,
    }
    histogram = metrics.Histogram()
    for seconds in (0.001, 0.2, 30.0):
        histogram.observe(seconds)
    snapshot.histograms[metrics.LATENCY] = {(("route", "/x"), ("method", "GET")): histogram}
    text = metrics.render(snapshot, {41: 3.0}, metrics.DatabaseGauges({"online": 2}, 7))
    samples = parse(text)
    assert 'route="a\\"b\\\\c\\nd"' in text
    bucket = f"{metrics.LATENCY}_bucket"
    assert value(samples, bucket, route="/x", method="GET", le="0.005") == 1
    assert value(samples, bucket, route="/x", method="GET", le="0.25") == 2
    assert value(samples, bucket, route="/x", method="GET", le="10.0") == 2
    assert value(samples, bucket, route="/x", method="GET", le="+Inf") == 3
    assert value(samples, f"{metrics.LATENCY}_count", route="/x", method="GET") == 3
    latency_sum = value(samples, f"{metrics.LATENCY}_sum", route="/x", method="GET")
    assert latency_sum == pytest.approx(30.201)
    assert value(samples, "hailong_kiosks", state="online") == 2
    assert ("hailong_kiosks", frozenset({("state", "offline")})) in samples  # zero, not absent
    assert value(samples, "hailong_ratings_stored") == 7
    assert value(samples, "hailong_workers") == 1
    assert value(samples, "hailong_worker_http_requests_total", pid="41") == 3
    assert value(samples, "hailong_database_up") == 1


def test_without_the_database_the_counters_are_still_given() -> None:
    samples = parse(metrics.render(metrics.REGISTRY.snapshot(), {41: 1.0}, None))
    assert value(samples, "hailong_database_up") == 0
    assert not any(name.startswith("hailong_kiosks") for name, _labels in samples)
    assert value(samples, metrics.INGESTED, status="accepted") >= 0
    assert (metrics.INGESTED, frozenset({("status", "accepted")})) in samples


def test_count_ingest_counts_each_verdict() -> None:
    before = metrics.REGISTRY.snapshot()
    results = [ItemResult(id=uuid.uuid4(), status=status)
               for status in ("accepted", "accepted", "duplicate", "rejected")]
    metrics.count_ingest(results)
    after = metrics.REGISTRY.snapshot()

    def delta(status: str) -> float:
        key = (("status", status),)
        return (after.counters[metrics.INGESTED][key]
                - before.counters[metrics.INGESTED].get(key, 0.0))

    assert [delta(s) for s in metrics.INGEST_STATUSES] == [2, 1, 0, 1]


def test_snapshots_survive_their_file_and_add_up(tmp_path: Path) -> None:
    one, two = metrics.Snapshot(), metrics.Snapshot()
    labels = (("status", "accepted"),)
    one.counters[metrics.INGESTED] = {labels: 5.0}
    two.counters[metrics.INGESTED] = {labels: 2.0}
    histogram = metrics.Histogram()
    histogram.observe(0.3)
    two.histograms[metrics.LATENCY] = {(("route", "/x"), ("method", "GET")): histogram}
    metrics.SharedDirectory(tmp_path, 111).write(one)
    metrics.SharedDirectory(tmp_path, 222).write(two)
    others = dict(metrics.SharedDirectory(tmp_path, 222).others())
    assert list(others) == [111]
    total = metrics.Snapshot()
    total.add(others[111])
    total.add(two)
    assert total.counters[metrics.INGESTED][labels] == 7
    assert total.histograms[metrics.LATENCY][(("route", "/x"), ("method", "GET"))].count == 1


def test_a_dead_workers_counts_stay_in_the_sums_but_it_is_not_listed(tmp_path: Path) -> None:
    """A worker that died (here: a process that wrote its file and exited) still counts
    in the totals, so they never go down; it is no longer listed as a worker."""
    script = (
        "import pathlib, sys\n"
        "from hailong.sync.server import metrics\n"
        "metrics.REGISTRY.inc(metrics.INGESTED, (('status', 'conflict'),), 4)\n"
        "metrics.share_through(pathlib.Path(sys.argv[1]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], timeout=60,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    (dead_file,) = tmp_path.glob("*.json")
    dead_pid = int(dead_file.stem)
    assert not metrics.is_running(dead_pid)
    directory = metrics.SharedDirectory(tmp_path, 1)
    (pid, snapshot), = directory.others()
    assert pid == dead_pid
    assert snapshot.counters[metrics.INGESTED][(("status", "conflict"),)] == 4


# --- the real server ----------------------------------------------------------------

@pytest.fixture
def settings(empty_database_url: Callable[[str], str], tmp_path: Path) -> ServerSettings:
    url = empty_database_url("metrics")
    migrate(url)
    return ServerSettings(database_url=url, data_dir=tmp_path)


def test_requests_are_counted_by_route_template_not_by_path(settings: ServerSettings) -> None:
    with serve(settings) as running:
        http = running.http()
        before = scrape(http)
        for kiosk_id in (7, 8, 9):
            assert http.get(f"{API_PREFIX}/kiosks/{kiosk_id}/gaps").status_code == 401
        for n in range(3):
            assert http.get(f"/no-such-page-{n}").status_code == 404
        after = scrape(http)
    route = f"{API_PREFIX}/kiosks/{{kiosk_id}}/gaps"
    name = metrics.REQUESTS

    def delta(**labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta(route=route, method="GET", status="401") == 3
    assert delta(route=metrics.OTHER, method="GET", status="404") == 3
    assert not any("no-such-page" in dict(labels).get("route", "") for _n, labels in after)
    count = f"{metrics.LATENCY}_count"
    assert (value(after, count, route=route, method="GET")
            - value(before, count, route=route, method="GET")) == 3


def test_gauges_come_from_the_database(settings: ServerSettings) -> None:
    with serve(settings) as running:
        org = make_org(running.sessions)
        kiosks = [enroll(running, org.counter_ids[0]) for _n in range(5)]
        now = datetime.now(UTC)
        heard = {
            kiosks[1].kiosk_id: now,
            kiosks[2].kiosk_id: now - (ONLINE_WITHIN + OFFLINE_AFTER) / 2,
            kiosks[3].kiosk_id: now - OFFLINE_AFTER - timedelta(minutes=1),
        }
        with running.sessions() as session:
            for kiosk_id, when in heard.items():
                session.execute(update(Kiosk).where(Kiosk.id == kiosk_id)
                                .values(last_heartbeat_at=when))
            session.execute(update(Kiosk).where(Kiosk.id == kiosks[4].kiosk_id)
                            .values(revoked_at=now))
            session.commit()
        maker = RatingMaker(org.counter_ids[0])
        batch = maker.batch([maker.item(org.officer_ids[0], 5) for _n in range(3)])
        assert upload(running, kiosks[0], batch).status_code == 200
        samples = scrape(running.http())
    for state in metrics.KIOSK_STATES:
        assert value(samples, "hailong_kiosks", state=state) == 1, state
    assert value(samples, "hailong_ratings_stored") == 3


def test_metrics_are_not_in_the_openapi_document(settings: ServerSettings) -> None:
    with serve(settings) as running:
        paths = running.http().get("/openapi.json").json()["paths"]
    assert "/metrics" not in paths


def test_a_database_that_stops_answering_leaves_the_counters(tmp_path: Path) -> None:
    database = tmp_path / "server.db"
    url = f"sqlite:///{database}"
    migrate(url)
    with serve(ServerSettings(database_url=url, data_dir=tmp_path)) as running:
        http = running.http()
        assert value(scrape(http), "hailong_database_up") == 1
        database.write_bytes(b"this is no longer a database " * 1000)
        samples = scrape(http)
    assert value(samples, "hailong_database_up") == 0
    assert value(samples, metrics.REQUESTS, route="/metrics", method="GET", status="200") >= 1
