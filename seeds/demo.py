"""The demo practice: payers, providers, a few dozen clients, authorizations that show every rule
(the 20-session group, exhausted, expiring, low, unmanaged, excluded, specific provider, sliding
scale, inpatient, remaining below allotted, expired), draft and released notes, and the demo
logins. Built through rules/, so units and status are exactly what the product would compute.
Idempotent: pick lists, payers, providers, users and clients by natural key; a client's auths
and notes only when that client has none yet. Dates are relative to the day it runs."""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (AuthGroup, Authorization, BillingCode, BillingCodeGroup, Client, ClientGroup,
                    ClientPayer, Division, InsuranceCompany, Profile, Provider, User,
                    UserGroup)
from rules import Actor
from rules.authorizations import create_authorization
from rules.clock import clinic_today
from rules.notes import create_note, release_note
from rules.users import hash_password

DEMO_PASSWORD = "demo-password-2026"
#: username, full name, profile, provider (last name) the login acts as.
DEMO_USERS = (
    ("admin", "Avery Admin", "Administrator", None),
    ("support", "Sam Support", "Support Staff", None),
    ("billing", "Blair Billing", "Billing", None),
    ("provider", "Dana Reyes", "Provider", "Reyes"),
)
DIVISIONS = ("North Clinic", "South Clinic", "Telehealth")
CLIENT_GROUPS = ("Adults", "Children & Adolescents", "Intensive Outpatient", "ABA")
USER_GROUPS = ("Therapists", "Psychiatry", "ABA Team")
PAYERS = (("Blue Cross Blue Shield", "BCBS01"), ("Aetna", "AET01"), ("Medicaid", "MCD01"),
          ("UnitedHealthcare", "UHC01"), ("Cigna", "CIG01"))
#: first, last, credentials, user group.
PROVIDERS = (("Dana", "Reyes", "LCSW", "Therapists"), ("Marcus", "Lee", "LPC", "Therapists"),
             ("Priya", "Natarajan", "MD", "Psychiatry"), ("Tom", "Becker", "LMFT", "Therapists"),
             ("Alicia", "Gomez", "BCBA", "ABA Team"), ("Jordan", "Kim", "PsyD", "Therapists"))
CODE_GROUPS = {
    "Outpatient therapy": ("90832", "90834", "90837", "90853"),
    "Family therapy": ("90846", "90847"),
    "Assessment": ("90791", "H0031", "96127"),
    "ABA": ("97153", "97155"),
}
FIRST = ("Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella",
         "Lucas", "Mia", "Mason", "Amelia", "Ethan", "Harper", "Logan", "Evelyn", "Aiden",
         "Abigail", "Jackson", "Ella", "Sebastian", "Scarlett", "Mateo", "Grace", "Henry")
LAST = ("Garcia", "Smith", "Johnson", "Brown", "Davis", "Miller", "Wilson", "Moore", "Taylor",
        "Anderson", "Thomas", "Jackson", "White", "Harris", "Martin", "Thompson", "Martinez",
        "Robinson", "Clark", "Lewis", "Walker", "Young", "Allen", "King", "Wright", "Scott")


def _get_or_add(session, model, defaults=None, **key):
    row = session.scalar(select(model).filter_by(**key))
    if row is None:
        row = model(**key, **(defaults or {}))
        session.add(row)
        session.flush()
        return row, True
    return row, False


def seed_demo(session: Session, *, today: dt.date | None = None) -> int:
    today = today or clinic_today()
    actor = Actor.system()
    created = 0

    def add(model, defaults=None, **key):
        nonlocal created
        row, new = _get_or_add(session, model, defaults, **key)
        created += new
        return row

    divisions = [add(Division, {"sort_order": i}, name=n) for i, n in enumerate(DIVISIONS, 1)]
    groups = [add(ClientGroup, {"sort_order": i}, name=n) for i, n in enumerate(CLIENT_GROUPS, 1)]
    ugroups = {n: add(UserGroup, {"sort_order": i}, name=n)
               for i, n in enumerate(USER_GROUPS, 1)}
    payers = [add(InsuranceCompany, {"payer_id": pid}, name=n) for n, pid in PAYERS]
    providers = {last: add(Provider, {"credentials": cred, "user_group_id": ugroups[g].id},
                           first_name=first, last_name=last)
                 for first, last, cred, g in PROVIDERS}
    codes = {c.code: c for c in session.scalars(select(BillingCode))}
    for name, members in CODE_GROUPS.items():
        group = add(BillingCodeGroup, name=name)
        if not group.codes:
            group.codes = [codes[c] for c in members]
    for username, full_name, profile_name, provider_last in DEMO_USERS:
        if session.scalar(select(User).where(User.username == username)) is None:
            profile = session.scalar(select(Profile).where(Profile.name == profile_name))
            session.add(User(username=username, full_name=full_name, profile=profile,
                             password_hash=hash_password(DEMO_PASSWORD), is_demo=True,
                             provider_id=providers[provider_last].id if provider_last else None,
                             user_group_id=ugroups["Therapists"].id if provider_last else None))
            created += 1
    session.flush()

    group1 = session.scalar(select(AuthGroup).where(AuthGroup.name == "Auth Group 1"))
    rng = random.Random(2026)
    provider_list = list(providers.values())
    clients = []
    names = [("Mark", "Hanson")] + [(rng.choice(FIRST), rng.choice(LAST)) for _ in range(35)]
    for i, (first, last) in enumerate(names):
        dob = dt.date(1950 + rng.randrange(60), rng.randrange(1, 13), rng.randrange(1, 29))
        client = session.scalar(select(Client).where(Client.first_name == first,
                                                     Client.last_name == last))
        if client is None:
            client = Client(first_name=first, last_name=last, dob=dob,
                            division_id=divisions[i % len(divisions)].id,
                            primary_therapist_id=provider_list[i % 4].id if i % 4 != 2
                            else providers["Reyes"].id)
            client.client_groups = [groups[i % len(groups)]]
            client.payers = [ClientPayer(insurance_company_id=payers[i % len(payers)].id,
                                         is_primary=True)]
            if i % 3 == 0:
                client.payers.append(ClientPayer(
                    insurance_company_id=payers[(i + 1) % len(payers)].id, is_primary=False))
            session.add(client)
            session.flush()
            created += 1
        clients.append(client)

    def has_auths(client) -> bool:
        return bool(session.scalar(select(func.count()).select_from(Authorization)
                                   .where(Authorization.client_id == client.id)))

    def auth(client, code, **fields):
        base = {"billing_code_id": codes[code].id, "start_date": today - dt.timedelta(days=30),
                "end_date": today + dt.timedelta(days=150), "allotted_units": 12}
        base.update(fields)
        return create_authorization(session, actor, client.id, base, today=today)

    def note(client, auth_row, provider, days_ago, units=None, release=False):
        n = create_note(session, actor, {
            "client_id": client.id, "provider_id": provider.id,
            "service_date": today - dt.timedelta(days=days_ago),
            "authorization_id": auth_row.id, "units": units}, today=today)
        if release:
            release_note(session, actor, n.id, today=today)
        return n

    reyes, lee, natarajan = providers["Reyes"], providers["Lee"], providers["Natarajan"]
    hanson = clients[0]
    if not has_auths(hanson):
        # The article's example: 20 sessions across four codes, decremented together.
        group_auths = [auth(hanson, code, allotted_units=20, auth_group_id=group1.id,
                            unit_alert_level=4, exp_alert_days=30, auth_number="BCBS-778120",
                            is_default=(code == "90834"))
                       for code in ("90832", "90834", "90837", "90853")]
        note(hanson, group_auths[1], reyes, 21, release=True)
        note(hanson, group_auths[2], reyes, 14, release=True)
        note(hanson, group_auths[3], lee, 7, release=True)
        note(hanson, group_auths[1], reyes, 1)
        auth(hanson, "96127", exclude_from_notes=True, allotted_units=4)
        auth(hanson, "H0031", unmanaged=True, allotted_units=0)
        created += 6

    showcase = [
        # exhausted: every unit used
        (clients[1], "90834", {"allotted_units": 6, "unit_alert_level": 2}, 6),
        # low units: at the alert level
        (clients[2], "90837", {"allotted_units": 10, "unit_alert_level": 3}, 7),
        # expiring soon
        (clients[3], "90834", {"end_date": today + dt.timedelta(days=10), "exp_alert_days": 30},
         2),
        # only a specific provider may use it
        (clients[4], "90837", {"specific_provider_id": natarajan.id}, 0),
        # sliding scale: the client pays 40 %
        (clients[5], "90834", {"sliding_scale_pct": "40"}, 1),
        # inpatient
        (clients[6], "H2019", {"inpatient": True, "allotted_units": 80}, 0),
        # seen before the auth arrived: remaining entered below allotted
        (clients[7], "90834", {"allotted_units": 24, "remaining_units": 20}, 2),
        # expired last week
        (clients[8], "90832", {"start_date": today - dt.timedelta(days=200),
                               "end_date": today - dt.timedelta(days=7)}, 3),
    ]
    for client, code, fields, released in showcase:
        if has_auths(client):
            continue
        row = auth(client, code, **fields)
        provider = natarajan if row.specific_provider_id else client.primary_therapist or reyes
        for k in range(released):
            date_back = 3 + 2 * k
            if row.start_date <= today - dt.timedelta(days=date_back) <= row.end_date:
                note(client, row, provider, date_back, release=True)
        created += 1

    everyday = ("90834", "90837", "90832", "90847", "H2019", "97153", "90791")
    for i, client in enumerate(clients[9:], start=9):
        if has_auths(client):
            continue
        for k in range(1 + i % 3):
            code = everyday[(i + k) % len(everyday)]
            if session.scalar(select(func.count()).select_from(Authorization).where(
                    Authorization.client_id == client.id,
                    Authorization.billing_code_id == codes[code].id)):
                continue
            row = auth(client, code, allotted_units=rng.choice((8, 12, 16, 24)),
                       unit_alert_level=2, exp_alert_days=14,
                       end_date=today + dt.timedelta(days=rng.randrange(20, 200)))
            created += 1
            provider = client.primary_therapist or reyes
            if k == 0 and i % 2 == 0:
                note(client, row, provider, 5, release=True)
                note(client, row, provider, 2, release=(i % 4 == 0))
    session.flush()
    return created
