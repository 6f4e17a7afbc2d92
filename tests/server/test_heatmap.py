"""The weekday × hour heatmap: Vietnam hours, a minimum count per cell, scoping."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from analytics_helpers import given, post_ratings
from server_harness import RunningServer, make_org, signed_in

from hailong.sync.server.heatmap import band, build_heatmap
from hailong.sync.server.scores import RatingPoint


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_cells_are_in_vietnam_time_and_the_few_show_no_index() -> None:
    """Monday 2 March 2026 01:30 UTC is Monday 08:30 in Vietnam; Sunday 1 March
    17:10 UTC is Monday 00:10. Monday 08h: 5, 5, 4, 2 and a flagged 1 → 4 valid,
    SIPAS 75 %. With a minimum of 4 it shows; Monday 00h (one rating) does not."""
    points = [RatingPoint(at("2026-03-02T01:30:00"), level, False) for level in (5, 5, 4, 2)]
    points.append(RatingPoint(at("2026-03-02T01:40:00"), 1, True))
    points.append(RatingPoint(at("2026-03-01T17:10:00"), 5, False))
    heat = build_heatmap(points, min_count=4)
    assert heat.hours == [0, 8]
    monday = heat.rows[0]
    assert (monday[1].valid, monday[1].sipas_index, monday[1].band) == (4, 75.0, 2)
    assert (monday[0].valid, monday[0].sipas_index, monday[0].band) == (1, None, None)
    assert all(cell.valid == 0 for row in heat.rows[1:] for cell in row)
    with pytest.raises(ValueError):
        build_heatmap(points, min_count=0)


def test_the_colour_bands() -> None:
    assert [band(v) for v in (0, 49.9, 50, 84.9, 85, 94.9, 95, 100)] == [0, 0, 1, 2, 3, 3, 4, 4]


def test_the_heatmap_page(server: RunningServer) -> None:
    """Five ratings on Tuesday 3 March 2026 at 09:xx Vietnam time (02:xx UTC):
    5, 5, 5, 4, 1 → 80 %; two on Wednesday 14h: below the minimum."""
    place = make_org(server.sessions, officers=1)
    other = make_org(server.sessions, officers=1)
    officer = place.officer_ids[0]
    post_ratings(server, place.counter_ids[0],
                 [given(officer, level, at(f"2026-03-03T02:0{n}:00"))
                  for n, level in enumerate((5, 5, 5, 4, 1))]
                 + [given(officer, 5, at("2026-03-04T07:00:00"))] * 2)
    http = signed_in(server, "supervisor", place.unit_id)
    page = http.get("/heatmap", params={"from": "2026-03-01", "to": "2026-03-31"})
    assert page.status_code == 200, page.text
    tuesday = re.search(r'data-cell="1-9"[^>]*>([^<]*)<small>(\d+)</small>', page.text)
    assert tuesday is not None and tuesday.groups() == ("80%", "5")
    wednesday = re.search(r'data-cell="2-14"[^>]*>([^<]*)<small>(\d+)</small>', page.text)
    assert wednesday is not None and wednesday.groups() == ("—", "2")
    assert 'class="cell heat-2"' in page.text and "heat-none" in page.text
    assert http.get("/heatmap", params={"unit": other.unit_id}).status_code == 404
    assert http.get("/heatmap", params={"officer": other.officer_ids[0]}).status_code == 404
    assert signed_in(server, "technician", place.unit_id).get("/heatmap").status_code == 403
