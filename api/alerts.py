"""The authorization alerts the token's user receives (rule 13)."""
from __future__ import annotations

from models import ALERT_KIND_LABELS
from rules.alerts import open_alerts_for
from rules.clock import clinic_today
from rules.permissions import RECEIVE_ALERTS

from extensions import db

from . import schemas as s
from .auth import current_actor, current_user
from .authorizations import utc
from .operations import operation


@operation("GET", "/alerts", summary="My open alerts", tag="Alerts", response=s.AlertList,
           permission=RECEIVE_ALERTS,
           description="Open alerts (low units, expiring, no units left, expired) on the auths "
                       "this user's profile receives alerts for, most urgent first; `acknowledged` "
                       "says whether this user has acknowledged each.")
def my_alerts():
    current_actor().require(RECEIVE_ALERTS, "receive authorization alerts")
    alerts = open_alerts_for(db.session, current_user(), today=clinic_today(),
                             include_acknowledged=True, limit=500)
    return {"items": [{
        "id": row.alert_id, "kind": row.kind, "label": ALERT_KIND_LABELS[row.kind],
        "authorization_id": row.authorization_id, "auth_number": row.auth_number,
        "billing_code": row.code, "client_id": row.client_id, "opened_at": utc(row.opened_at),
        "acknowledged": row.acknowledged} for row in alerts.rows]}
