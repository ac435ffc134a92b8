"""The alerts a user receives (rule 13): open alerts, for users whose profile has "receive
authorization alerts", narrowed to the profile's division (clients of that division) or user
group (clients whose primary therapist is in that group) when the profile sets one. Each alert
says whether this user has acknowledged it."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from models import Alert, AlertAcknowledgement, Authorization, Client, Provider, User

from .actor import Actor
from .permissions import RECEIVE_ALERTS


@dataclass(frozen=True)
class InboxAlert:
    alert: Alert
    authorization: Authorization
    acknowledged: bool


def open_alerts_for(session: Session, actor: Actor, user: User, *,
                    limit: int = 500) -> list[InboxAlert]:
    """The open alerts ``user`` receives, newest first (at most ``limit``)."""
    actor.require(RECEIVE_ALERTS, "receive authorization alerts")
    profile = user.profile
    acked = exists().where(AlertAcknowledgement.alert_id == Alert.id,
                           AlertAcknowledgement.user_id == user.id)
    stmt = (select(Alert, Authorization, acked.label("acknowledged"))
            .join(Authorization, Authorization.id == Alert.authorization_id)
            .where(Alert.closed_at.is_(None))
            .order_by(Alert.opened_at.desc(), Alert.id.desc()).limit(limit))
    if profile.alert_division_id is not None or profile.alert_user_group_id is not None:
        stmt = stmt.join(Client, Client.id == Authorization.client_id)
        if profile.alert_division_id is not None:
            stmt = stmt.where(Client.division_id == profile.alert_division_id)
        if profile.alert_user_group_id is not None:
            stmt = stmt.join(Provider, Provider.id == Client.primary_therapist_id).where(
                Provider.user_group_id == profile.alert_user_group_id)
    return [InboxAlert(alert, auth, bool(ack)) for alert, auth, ack in session.execute(stmt)]
