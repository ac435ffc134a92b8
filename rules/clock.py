"""The clinic's today. Rules take ``today`` as an argument so tests can pin it; this is the
default. AUTHDESK_TIMEZONE (an IANA name, e.g. America/Chicago) sets the clinic's zone."""
from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo


def clinic_today() -> dt.date:
    zone = os.environ.get("AUTHDESK_TIMEZONE")
    return dt.datetime.now(ZoneInfo(zone)).date() if zone else dt.date.today()
