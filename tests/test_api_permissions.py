"""Every API operation for every default profile: allowed (and it works) or 403 (and nothing
changed), from one table. The table must name every operation the API declares."""
import datetime as dt

import pytest
import sqlalchemy as sa

from api.operations import OPERATIONS
from api_support import api  # noqa: F401  (fixture)
from conftest import ROLE_USERS, snapshot_tables
from extensions import db
from models import (Authorization, BillingCode, Client, ClientPayer, InsuranceCompany, Note,
                    NoteClaim)
from rules import Actor, clinic_today
from rules.audit import acting_as
from rules.authorizations import create_authorization
from rules.notes import create_note, release_note

ALL = {"admin", "support", "billing", "provider"}
TODAY = clinic_today()
DAY = (TODAY - dt.timedelta(days=1)).isoformat()

#: (method, path, body, roles allowed, status when allowed). {names} are filled from `world`.
TABLE = [
    ("GET", "/clients?name=doe", None, ALL, 200),
    ("POST", "/clients", {"first_name": "Sam", "last_name": "Lee", "dob": "2001-02-03"},
     {"admin", "support"}, 201),
    ("GET", "/clients/{client}", None, ALL, 200),
    ("GET", "/providers", None, ALL, 200),
    ("GET", "/billing-codes", None, ALL, 200),
    ("GET", "/auth-groups", None, ALL, 200),
    ("GET", "/insurance-companies", None, ALL, 200),
    ("GET", "/authorizations?client_id={client}", None, ALL, 200),
    ("POST", "/authorizations", {"client_id": "{client}", "billing_code": "90837",
                                 "start_date": "2026-01-01", "end_date": "2026-12-31",
                                 "allotted_units": 12}, {"admin", "support"}, 201),
    ("GET", "/authorizations/{auth}", None, ALL, 200),
    ("PATCH", "/authorizations/{auth}", {"unit_alert_level": 2}, {"admin", "support"}, 200),
    ("GET", "/clients/{client}/usable-authorizations?service_date=" + DAY, None, ALL, 200),
    ("POST", "/notes", {"client_id": "{client}", "provider_id": "{provider}",
                        "service_date": DAY, "billing_code": "90834", "units": 1},
     {"admin", "provider"}, 201),
    ("GET", "/notes/{draft}", None, ALL, 200),
    ("POST", "/notes/{draft}/release", None, {"admin", "billing"}, 200),
    ("POST", "/notes/{released}/void", {"reason": "billed twice"}, {"admin", "billing"}, 200),
    ("DELETE", "/notes/{draft}", None, {"admin", "provider"}, 204),
    ("GET", "/alerts", None, {"admin", "support", "billing"}, 200),
]


@pytest.fixture
def world(app, users):
    """A client with a payer and an auth; for each role a draft and a released note written by
    the provider user (so that each role's release, void or delete has its own note)."""
    with app.app_context(), acting_as(db.session, Actor.system()):
        payer = InsuranceCompany(name="Acme Health")
        db.session.add(payer)
        db.session.flush()
        client = Client(first_name="Jane", last_name="Doe", dob=dt.date(1990, 1, 1),
                        payers=[ClientPayer(insurance_company_id=payer.id, is_primary=True)])
        db.session.add(client)
        db.session.flush()
        system = Actor.system()
        code_id = db.session.scalar(sa.select(BillingCode.id).where(BillingCode.code == "90834"))
        auth = create_authorization(db.session, system, client.id, {
            "billing_code_id": code_id, "start_date": TODAY - dt.timedelta(days=30),
            "end_date": TODAY + dt.timedelta(days=5), "allotted_units": 20,
            "unit_alert_level": 20, "exp_alert_days": 30})
        world = {"client": client.id, "auth": auth.id, "provider": users["provider_id"]}
        for role in ROLE_USERS:
            draft, released = (create_note(db.session, system, {
                "client_id": client.id, "provider_id": users["provider_id"],
                "authorization_id": auth.id, "service_date": TODAY - dt.timedelta(days=2),
                "units": 1}) for _ in range(2))
            release_note(db.session, system, released.id)
            world[f"draft_{role}"], world[f"released_{role}"] = draft.id, released.id
        db.session.commit()
    return world


def _fill(value, world):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return world[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


def test_the_table_covers_every_operation():
    names = {"client": "client_id", "auth": "authorization_id", "draft": "note_id",
             "released": "note_id"}
    covered = set()
    for method, path, *_ in TABLE:
        path = path.split("?")[0]
        for name, param in names.items():
            path = path.replace("{" + name + "}", "{" + param + "}")
        covered.add((method, path))
    assert covered == {(op.method, op.path) for op in OPERATIONS}


@pytest.mark.parametrize("method,path,body,allowed,status", TABLE,
                         ids=[f"{m} {p.split('?')[0]}" for m, p, *_ in TABLE])
def test_each_operation_for_each_default_profile(app, api, world, method, path, body, allowed,
                                                 status):
    # Refused roles first: a refusal must change nothing, whatever ran before it.
    for role in sorted(ROLE_USERS, key=lambda r: (r in allowed, r)):
        mine = {**world, "draft": world[f"draft_{role}"], "released": world[f"released_{role}"]}
        with app.app_context():
            before = snapshot_tables(db.session, Authorization, Note, NoteClaim, Client)
        response = api(role).request(method, path.format(**mine), _fill(body, mine))
        text = f"{role}: {response.status_code} {response.get_data(as_text=True)}"
        if role in allowed:
            assert response.status_code == status, text
            if status != 204:
                assert response.is_json and "error" not in response.get_json(), text
        else:
            assert response.status_code == 403, text
            error = response.get_json()["error"]
            assert error["code"] == "forbidden", text
            assert error["message"].startswith("Your profile does not allow you to"), text
            with app.app_context():
                assert snapshot_tables(db.session, Authorization, Note, NoteClaim,
                                       Client) == before, text
