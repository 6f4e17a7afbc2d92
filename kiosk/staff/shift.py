"""When an officer's shift ends, from the counter's opening hours.

An officer who forgets to sign out must not collect the next morning's ratings:
the kiosk signs them out when the last open period of the day ends. A lunch break
between two periods does not sign anyone out.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hailong.config.settings import OpeningHours


def _ends_on(day: date, hours: OpeningHours, zone: ZoneInfo) -> list[datetime]:
    return sorted(
        datetime.combine(day, time.fromisoformat(period.end), zone)
        for period in hours.periods
        if day.isoweekday() in period.days
    )


def next_shift_end(now: datetime, opening_hours: OpeningHours) -> datetime | None:
    """The end of the open period under way at `now` (timezone-aware), or else of the
    next one the same day; None when no period of that day is left, or when the
    opening hours are switched off."""
    if not opening_hours.enabled:
        return None
    zone = ZoneInfo(opening_hours.timezone)
    local = now.astimezone(zone)
    return next((end for end in _ends_on(local.date(), opening_hours, zone) if end > local), None)


def shift_over(signed_in_at: datetime, now: datetime, opening_hours: OpeningHours) -> bool:
    """Whether the last open period of some day ended after the sign-in and by `now`."""
    if not opening_hours.enabled or now <= signed_in_at:
        return False
    zone = ZoneInfo(opening_hours.timezone)
    start, stop = signed_in_at.astimezone(zone), now.astimezone(zone)
    day = start.date()
    # A kiosk left off for weeks needs only the first day's end.
    while day <= stop.date():
        ends = _ends_on(day, opening_hours, zone)
        if ends and start < ends[-1] <= stop:
            return True
        day += timedelta(days=1)
        if day - start.date() > timedelta(days=7):
            return True
    return False
