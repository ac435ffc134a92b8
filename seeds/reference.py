"""Reference data every installation starts with: the two out-of-the-box auth groups, common
behavioral-health billing codes and the default profiles. Idempotent: looked up by natural key,
created only when missing (an administrator's later edits are never overwritten)."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuthGroup, BillingCode, Counter, Profile
from rules.permissions import DEFAULT_PROFILES

AUTH_GROUPS = ("Auth Group 1", "Auth Group 2")

#: code, description, standard fee per unit, default units per note.
BILLING_CODES = (
    ("90791", "Psychiatric diagnostic evaluation", "180.00", 1),
    ("90792", "Psychiatric diagnostic evaluation with medical services", "210.00", 1),
    ("90832", "Psychotherapy, 30 minutes", "75.00", 1),
    ("90834", "Psychotherapy, 45 minutes", "110.00", 1),
    ("90837", "Psychotherapy, 60 minutes", "150.00", 1),
    ("90839", "Psychotherapy for crisis, first 60 minutes", "160.00", 1),
    ("90840", "Psychotherapy for crisis, each additional 30 minutes", "75.00", 1),
    ("90846", "Family psychotherapy without the patient", "110.00", 1),
    ("90847", "Family psychotherapy with the patient", "120.00", 1),
    ("90853", "Group psychotherapy", "40.00", 1),
    ("96127", "Brief emotional/behavioral assessment", "10.00", 1),
    ("99213", "Office visit, established patient, low complexity", "95.00", 1),
    ("99214", "Office visit, established patient, moderate complexity", "140.00", 1),
    ("H0031", "Mental health assessment by a non-physician", "90.00", 1),
    ("H0032", "Mental health service plan development", "85.00", 1),
    ("H2011", "Crisis intervention service, per 15 minutes", "30.00", 4),
    ("H2014", "Skills training and development, per 15 minutes", "18.00", 4),
    ("H2017", "Psychosocial rehabilitation, per 15 minutes", "20.00", 4),
    ("H2019", "Therapeutic behavioral services, per 15 minutes", "22.00", 4),
    ("97153", "Adaptive behavior treatment by protocol, per 15 minutes", "15.00", 4),
    ("97155", "Adaptive behavior treatment with protocol modification, per 15 minutes",
     "25.00", 4),
    ("T1017", "Targeted case management, per 15 minutes", "20.00", 4),
)


def seed_reference(session: Session) -> int:
    created = 0
    for order, name in enumerate(AUTH_GROUPS, start=1):
        if session.scalar(select(AuthGroup).where(AuthGroup.name == name)) is None:
            session.add(AuthGroup(name=name, active=True, sort_order=order))
            created += 1
    existing = set(session.scalars(select(BillingCode.code)))
    for code, description, rate, units in BILLING_CODES:
        if code not in existing:
            session.add(BillingCode(code=code, description=description, rate=Decimal(rate),
                                    default_units=units, active=True))
            created += 1
    for name, (description, permissions) in DEFAULT_PROFILES.items():
        if session.scalar(select(Profile).where(Profile.name == name)) is None:
            profile = Profile(name=name, description=description)
            profile.permissions = permissions
            session.add(profile)
            created += 1
    if session.get(Counter, "auth_number") is None:
        session.add(Counter(name="auth_number", value=0))
        created += 1
    session.flush()
    return created
