"""rules.clock: "today" is the clinic's date, in AUTHDESK_TIMEZONE — not the server's."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from rules.clock import clinic_today


def test_today_is_the_clinics_date(monkeypatch):
    # 25 hours apart: on any instant these two zones are on different dates.
    seen = {}
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        monkeypatch.setenv("AUTHDESK_TIMEZONE", zone)
        before = dt.datetime.now(ZoneInfo(zone)).date()
        seen[zone] = clinic_today()
        assert seen[zone] in (before, dt.datetime.now(ZoneInfo(zone)).date())
    assert seen["Pacific/Kiritimati"] - seen["Pacific/Pago_Pago"] in (dt.timedelta(days=1),
                                                                        dt.timedelta(days=2))
    monkeypatch.delenv("AUTHDESK_TIMEZONE")
    assert clinic_today() in (dt.date.today(), dt.date.today() - dt.timedelta(days=1))
