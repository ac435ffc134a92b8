"""The daily e-mail digest: for each alert recipient with an e-mail address, the alerts that
opened since their last digest, are still open, and that they have not acknowledged — as plain
text. Recipients with nothing new get no mail. A recipient who never had a digest gets every
open alert they have not acknowledged (at most MAX_LINES lines; the rest is counted).

Building is here (no mail, no Flask); ``mailer`` sends; the caller marks each digest sent
(``mark_digest_sent``) once the server has taken it, so a failure halfway resends nothing twice."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, not_, or_, select, update
from sqlalchemy.orm import Session

from models import Alert, Profile, User, utcnow

from .alerts import (AlertRow, acknowledged_by, alert_columns, alert_row, has_alert_rule,
                     joined_alerts, kind_rank, profile_narrowing)

MAX_LINES = 200
#: (heading, width): 78 characters in all, so the mail goes as plain 7-bit text.
_COLUMNS = (("Alert", 14), ("Client", 24), ("Code", 7), ("Auth #", 14), ("Remaining", 10),
            ("Days left", 0))


@dataclass
class Digest:
    user_id: int
    full_name: str
    email: str
    today: dt.date
    cutoff: dt.datetime  # alerts opened up to this instant are in this digest
    alerts: list[AlertRow] = field(default_factory=list)
    more: int = 0  # new alerts beyond MAX_LINES

    @property
    def count(self) -> int:
        return len(self.alerts) + self.more

    @property
    def subject(self) -> str:
        s = "" if self.count == 1 else "s"
        return f"Authdesk: {self.count} new authorization alert{s} ({self.today.isoformat()})"

    @property
    def body(self) -> str:
        s = "" if self.count == 1 else "s"
        lines = [f"Hello {self.full_name},", "",
                 f"{self.count} new authorization alert{s} since your last digest, still open "
                 f"on {self.today.isoformat()}:", "",
                 _row([name for name, _ in _COLUMNS]),
                 _row(["-" * max(width - 1, len(name)) for name, width in _COLUMNS])]
        lines += [_row([a.kind_label, a.client_name, a.code, a.auth_number, a.remaining_label,
                        a.days_left_label]) for a in self.alerts]
        if self.more:
            lines.append(f"... and {self.more} more.")
        lines += ["", "Open Authdesk, menu Alerts, to see every open alert",
                  "and to acknowledge the ones you have dealt with.", ""]
        return "\n".join(lines)


def _row(cells) -> str:
    return "".join(str(c).ljust(w) if w else str(c)
                   for c, (_, w) in zip(cells, _COLUMNS)).rstrip()


def build_digests(session: Session, *, today: dt.date, now: dt.datetime | None = None
                  ) -> list[Digest]:
    """One digest per recipient with something new, from one query over every recipient."""
    cutoff = now or utcnow()
    since = or_(User.last_digest_at.is_(None), Alert.opened_at > User.last_digest_at)
    stmt = (joined_alerts(
        select(User.id.label("user_id"), User.full_name, User.email, *alert_columns())
        .select_from(User).join(Profile, Profile.id == User.profile_id)
        .join(Alert, since))
        .where(User.active.is_(True), has_alert_rule(), User.email.is_not(None),
               func.length(func.trim(User.email)) > 0,
               Alert.closed_at.is_(None), Alert.opened_at <= cutoff,
               not_(acknowledged_by(User.id)), profile_narrowing())
        .order_by(User.id, kind_rank(), Alert.opened_at, Alert.id))
    digests: dict[int, Digest] = {}
    for r in session.execute(stmt):
        d = digests.get(r.user_id)
        if d is None:
            d = digests[r.user_id] = Digest(r.user_id, r.full_name, r.email.strip(), today,
                                            cutoff)
        if len(d.alerts) < MAX_LINES:
            d.alerts.append(alert_row(r, today))
        else:
            d.more += 1
    return list(digests.values())


def mark_digest_sent(session: Session, digest: Digest) -> None:
    """The next digest starts where this one stopped (login bookkeeping: not audited)."""
    session.execute(update(User).where(User.id == digest.user_id)
                    .values(last_digest_at=digest.cutoff)
                    .execution_options(synchronize_session=False))
