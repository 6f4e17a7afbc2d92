"""Reasons by SIPAS factor, and comments with callback numbers masked unless the
viewer may call back."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from analytics_helpers import given, post_ratings
from server_harness import RunningServer, make_org, signed_in

from hailong.sync.server.feedback_views import PAGE_SIZE, mask_phone, summarise_reasons


def test_phones_are_masked_to_the_first_and_last_digits() -> None:
    assert mask_phone("0912345678") == "09•••••678"
    assert mask_phone("+84912345678") == "+84••••••678"


def test_reasons_add_up_by_factor_and_low_ratings_with_a_reason() -> None:
    """Low ratings (levels 1–2): 2 + 1 + 1 with a reason, 1 without → 4/5 = 80 %.
    Reasons given: waited 2 (access), attitude 1 + harassment 1 (officer), and one
    'other' at level 3 (feedback): 5 in all."""
    summary = summarise_reasons({
        ("waited_too_long", 1): 2, ("staff_attitude", 2): 1, ("harassment_or_payment", 1): 1,
        (None, 2): 1, ("other", 3): 1, (None, 5): 40,
    })
    assert (summary.low_ratings, summary.low_with_reason, summary.given) == (5, 4, 5)
    assert summary.share_with_reason == pytest.approx(80.0)
    factors = {f.code: f for f in summary.factors}
    assert list(factors) == ["access", "procedure", "officer", "result", "feedback"]
    assert (factors["access"].count, factors["officer"].count, factors["feedback"].count) == (
        2, 2, 1)
    assert factors["officer"].share == pytest.approx(40.0)
    lines = {line.code: line.count for line in factors["officer"].reasons}
    assert lines == {"unclear_guidance": 0, "staff_attitude": 1, "harassment_or_payment": 1}
    assert summarise_reasons({}).share_with_reason is None


@pytest.fixture
def said(server: RunningServer) -> dict[str, int]:
    parent = make_org(server.sessions, officers=1)
    child = make_org(server.sessions, officers=1, parent_id=parent.unit_id)
    officer = child.officer_ids[0]
    start = datetime(2026, 3, 2, 2, tzinfo=UTC)
    post_ratings(server, child.counter_ids[0], [
        given(officer, 1, start, reason="waited_too_long", comment="Chờ quá lâu, hai tiếng",
              callback_phone="0912345678", phone_consent=True),
        given(officer, 2, start + timedelta(hours=1), reason="staff_attitude"),
        given(officer, 2, start + timedelta(hours=2)),
        given(officer, 5, start + timedelta(hours=3)),
        given(officer, 1, start + timedelta(hours=4), reason="harassment_or_payment",
              comment="Bị gợi ý nộp thêm tiền"),
    ] + [given(None, 3, start + timedelta(days=1, minutes=n), comment=f"Góp ý số {n}")
         for n in range(PAGE_SIZE)])
    return {"parent": parent.unit_id, "child": child.unit_id}


RANGE = {"from": "2026-03-01", "to": "2026-03-31"}


def test_the_reasons_page(server: RunningServer, said: dict[str, int]) -> None:
    http = signed_in(server, "supervisor", said["child"])
    page = http.get("/reasons", params=RANGE)
    assert page.status_code == 200, page.text
    # low: 1, 2, 2, 1 → three of four with a reason
    assert re.search(r'id="low">4<', page.text)
    assert re.search(r'id="with-reason">75.0%<', page.text)
    row = re.search(r'data-factor="access">(.*?)</tr>', page.text, re.S)
    assert row is not None and re.findall(r'class="num">([^<]*)<', row.group(1)) == [
        "1", "33.3%"]
    assert "I waited too long" in page.text and "Officers serving the citizen" in page.text
    vietnamese = http.get("/reasons", params=RANGE, headers={"Accept-Language": "vi"})
    assert vietnamese.status_code == 200
    outsider = signed_in(server, "supervisor", make_org(server.sessions).unit_id)
    assert outsider.get("/reasons", params={"unit": said["child"]}).status_code == 404
    assert signed_in(server, "technician", said["child"]).get("/reasons").status_code == 403


def test_comments_are_newest_first_paged_and_phones_masked_for_the_parent(
    server: RunningServer, said: dict[str, int]
) -> None:
    own = signed_in(server, "supervisor", said["child"])
    first = own.get("/comments", params=RANGE)
    assert first.status_code == 200, first.text
    texts = re.findall(r'<p class="text">([^<]*)</p>', first.text)
    assert texts[:2] == [f"Góp ý số {PAGE_SIZE - 1}", f"Góp ý số {PAGE_SIZE - 2}"]
    assert len(texts) == PAGE_SIZE and "Chờ quá lâu" not in first.text
    second = own.get("/comments", params={**RANGE, "page": 2})
    assert "Chờ quá lâu, hai tiếng" in second.text
    # a serious report is for the head of the unit above, as its case
    assert "Bị gợi ý nộp thêm tiền" not in second.text
    assert "0912345678" in second.text and "the citizen agreed to be called" in second.text
    assert "I waited too long" in second.text and "Cán bộ 1" in second.text

    head = signed_in(server, "supervisor", said["parent"]).get(
        "/comments", params={**RANGE, "page": 2})
    assert "Chờ quá lâu, hai tiếng" in head.text and "Bị gợi ý nộp thêm tiền" in head.text
    assert "0912345678" not in head.text and "09•••••678" in head.text

    admin = signed_in(server, "admin", None).get(
        "/comments", params={**RANGE, "unit": said["child"], "page": 2})
    assert "0912345678" in admin.text

    outsider = signed_in(server, "supervisor", make_org(server.sessions).unit_id)
    assert "Chờ quá lâu" not in outsider.get("/comments", params=RANGE).text
    assert outsider.get("/comments", params={"unit": said["child"]}).status_code == 404
    technician = signed_in(server, "technician", said["child"])
    answer = technician.get("/comments", params=RANGE)
    assert answer.status_code == 403 and "Chờ quá lâu" not in answer.text
