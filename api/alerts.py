"""The authorization alerts the token's user receives (rule 13)."""
from __future__ import annotations

from models import ALERT_KIND_LABELS
from rules.alert_inbox import open_alerts_for
from rules.permissions import RECEIVE_ALERTS

from extensions import db

from . import schemas as s
from .auth import current_actor, current_user
from .authorizations import utc
from .operations import operation


@operation("GET", "/alerts", summary="My open alerts", tag="Alerts", response=s.AlertList,
           permission=RECEIVE_ALERTS,
           description="Open alerts (low units, expiring, no units left, expired) on the auths "
                       "this user's profile receives alerts for, newest first; `acknowledged` "
                       "says whether this user has acknowledged each.")
def my_alerts():
    items = open_alerts_for(db.session, current_actor(), current_user())
    return {"items": [{
        "id": i.alert.id, "kind": i.alert.kind, "label": ALERT_KIND_LABELS[i.alert.kind],
        "authorization_id": i.authorization.id, "auth_number": i.authorization.auth_number,
        "billing_code": i.authorization.billing_code.code,
        "client_id": i.authorization.client_id, "opened_at": utc(i.alert.opened_at),
        "acknowledged": i.acknowledged} for i in items]}
