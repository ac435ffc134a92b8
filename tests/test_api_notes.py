"""Notes through the API: the auth-group example of the source article, and many integrations
racing for the last units of one authorization."""
import threading

import sqlalchemy as sa

from api_support import ApiClient, api, issue_token  # noqa: F401  (fixture)
from models import Authorization, Note
from rules import clinic_today

DAY = clinic_today().isoformat()
YEAR = clinic_today().year


def test_group_example_twenty_sessions_in_any_mix_not_eighty(api, users):
    """20 sessions approved across 90832, 90834, 90837 and 90853: four auths of 20 units in one
    auth group → 20 notes in any mix, and the 21st is refused with a clear message."""
    support, provider, billing = api("support"), api("provider"), api("billing")
    groups = support.get("/auth-groups").get_json()["items"]
    group = next(g["id"] for g in groups if g["name"] == "Auth Group 1")
    client = support.post("/clients", {"first_name": "Robin", "last_name": "Park",
                                       "dob": "2012-04-05"}).get_json()["id"]
    codes = ["90832", "90834", "90837", "90853"]
    auths = {}
    for code in codes:
        response = support.post("/authorizations", {
            "client_id": client, "billing_code": code, "start_date": f"{YEAR}-01-01",
            "end_date": f"{YEAR}-12-31", "allotted_units": 20, "auth_group_id": group})
        assert response.status_code == 201, response.get_json()
        auths[code] = response.get_json()["id"]
    mix = [codes[i % 4] if i < 12 else "90837" for i in range(20)]  # any mix of the four
    for n, code in enumerate(mix, start=1):
        note = provider.post("/notes", {"client_id": client, "service_date": DAY,
                                        "billing_code": code, "units": 1})
        assert note.status_code == 201, (n, note.get_json())
        assert note.get_json()["authorization_id"] == auths[code]
        released = billing.post(f"/notes/{note.get_json()['id']}/release")
        assert released.status_code == 200 and released.get_json()["status"] == "released"
    for code, auth_id in auths.items():
        auth = support.get(f"/authorizations/{auth_id}").get_json()
        assert (auth["remaining_units"], auth["pending_units"], auth["available_units"],
                auth["active"]) == (0, 0, 0, False), code
    refused = provider.post("/notes", {"client_id": client, "service_date": DAY,
                                       "billing_code": "90834", "units": 1})
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "no_usable_authorization"
    assert error["message"] == f"Park, Robin cannot be documented on for code 90834 on {DAY}."
    assert any("has no units left in its auth group" in d for d in error["details"])
    pinned = provider.post("/notes", {"client_id": client, "service_date": DAY, "units": 1,
                                      "authorization_id": auths["90853"]})
    assert pinned.status_code == 409
    assert pinned.get_json()["error"]["code"] == "insufficient_units"
    assert "has no units left; this note needs 1" in pinned.get_json()["error"]["message"]
    usable = provider.get(f"/clients/{client}/usable-authorizations?service_date={DAY}")
    assert usable.get_json()["items"] == [] and len(usable.get_json()["reasons"]) == 4


def test_fifty_concurrent_notes_get_exactly_the_last_units(app, make, session, users):
    """50 integrations write and release a note at once against an auth with 5 units left:
    5 succeed, 45 are refused with 409, and the auth ends at 0 remaining, 0 pending."""
    client = make.client("Race")
    auth = make.auth(client, "90834", allotted_units=20, remaining_units=5,
                     today=clinic_today())
    session.commit()
    auth_id, client_id = auth.id, client.id
    secret = issue_token(app, users["admin"])
    start = threading.Barrier(50)
    results: list[tuple[int, int | str]] = []
    lock = threading.Lock()

    def integration():
        http = ApiClient(app, secret)
        start.wait()
        note = http.post("/notes", {"client_id": client_id, "provider_id": users["provider_id"],
                                    "service_date": DAY, "authorization_id": auth_id,
                                    "units": 1})
        if note.status_code == 201:
            outcome = (201, http.post(f"/notes/{note.get_json()['id']}/release").status_code)
        else:
            outcome = (note.status_code, note.get_json()["error"]["code"])
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=integration) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 50
    assert sorted(results, key=str).count((201, 200)) == 5
    assert [r for r in results if r != (201, 200)] == [(409, "insufficient_units")] * 45
    session.expire_all()
    final = session.get(Authorization, auth_id)
    assert (final.remaining_units, final.pending_units, final.overdrawn) == (0, 0, False)
    assert session.scalar(sa.select(sa.func.count()).select_from(Note)
                          .where(Note.status == "released")) == 5


def test_write_release_void_and_delete_move_units(api, make, session, users):
    payer = make.payer("Acme")
    client = make.client("Doe", first_name="Jane", payers=[payer])
    auth = make.auth(client, "90837", allotted_units=6, today=clinic_today(),
                     sliding_scale_pct="50", inpatient=True)
    session.commit()
    admin = api("admin")

    def units():
        a = admin.get(f"/authorizations/{auth.id}").get_json()
        return a["remaining_units"], a["pending_units"]

    note = admin.post("/notes", {"client_id": client.id, "provider_id": users["provider_id"],
                                 "service_date": DAY, "billing_code": "90837", "units": 2})
    body = note.get_json()
    assert note.status_code == 201 and units() == (6, 2)
    assert (body["status"], body["charge"], body["inpatient"], body["payer"]) == (
        "draft", "150.00", True, {"id": payer.id, "name": "Acme"})
    assert admin.get(f"/notes/{body['id']}").get_json() == body
    assert admin.post(f"/notes/{body['id']}/release").status_code == 200 and units() == (4, 0)
    again = admin.post(f"/notes/{body['id']}/release")
    assert again.status_code == 409 and "already released" in again.get_json()["error"][
        "details"][0]
    assert admin.delete(f"/notes/{body['id']}").status_code == 409
    voided = admin.post(f"/notes/{body['id']}/void", {"reason": "Duplicate claim"})
    assert voided.status_code == 200 and voided.get_json()["void_reason"] == "Duplicate claim"
    assert units() == (6, 0)
    assert admin.post(f"/notes/{body['id']}/void", {"reason": "x"}).status_code == 409
    draft = admin.post("/notes", {"client_id": client.id, "provider_id": users["provider_id"],
                                  "service_date": DAY, "units": 3,
                                  "authorization_id": auth.id}).get_json()
    assert units() == (6, 3)
    assert admin.delete(f"/notes/{draft['id']}").status_code == 204 and units() == (6, 0)
    assert admin.get(f"/notes/{draft['id']}").status_code == 404
    missing_reason = admin.post(f"/notes/{body['id']}/void", {"reason": ""})
    assert missing_reason.status_code == 422 and "reason" in missing_reason.get_json()[
        "error"]["fields"]


def test_a_provider_sees_and_touches_only_their_own_notes(api, make, session, users):
    client = make.client()
    other = make.provider("Other")
    auth = make.auth(client, "90834", today=clinic_today())
    session.commit()
    admin, provider = api("admin"), api("provider")
    theirs = admin.post("/notes", {"client_id": client.id, "provider_id": other.id,
                                   "service_date": DAY, "authorization_id": auth.id}).get_json()
    assert provider.get(f"/notes/{theirs['id']}").status_code == 404
    assert provider.delete(f"/notes/{theirs['id']}").status_code == 404
    as_other = provider.post("/notes", {"client_id": client.id, "provider_id": other.id,
                                        "service_date": DAY, "authorization_id": auth.id})
    assert as_other.status_code == 403
    assert as_other.get_json()["error"]["message"] == "You may only write notes as yourself."
    mine = provider.post("/notes", {"client_id": client.id, "service_date": DAY,
                                    "authorization_id": auth.id})
    assert mine.status_code == 201 and mine.get_json()["provider_id"] == users["provider_id"]
    assert provider.get(f"/notes/{mine.get_json()['id']}").status_code == 200
