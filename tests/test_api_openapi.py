"""The OpenAPI document describes the API that runs: it is generated from the schemas the API
validates with, a reference page renders it without any outside asset, and a property-based run
(schemathesis, from the document) finds no server error and no response outside its schema."""
import datetime as dt
import re
import time

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import schemathesis
from api.operations import OPERATIONS
from api.schemas import AuthorizationCreate, NoteCreate
from api_support import issue_token
from conftest import Factory
from extensions import db
from rules import Actor, clinic_today
from rules.audit import acting_as
from rules.notes import create_note, release_note
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               negative_data_rejection,
                                               response_schema_conformance,
                                               status_code_conformance)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]
#: Examples per operation and generation mode: 18 operations, 13 with something to make
#: invalid → 31 runs of at most 9 (fewer where the inputs run out) ≈ 240 requests.
EXAMPLES = 9


def test_document_is_openapi_3_1_with_every_operation(app):
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0" and doc["servers"] == [{"url": "/api/v1"}]
    listed = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    assert listed == {(op.method, op.path) for op in OPERATIONS} and len(listed) == 18
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    # The request schemas are the pydantic models the API validates with.
    schemas = doc["components"]["schemas"]
    assert set(schemas["AuthorizationCreate"]["properties"]) == set(
        AuthorizationCreate.model_json_schema()["properties"])
    assert schemas["NoteCreate"]["required"] == NoteCreate.model_json_schema()["required"]
    post = doc["paths"]["/authorizations"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AuthorizationCreate"}
    assert set(post["responses"]) == {"201", "400", "401", "403", "409", "422"}
    fields = set(schemas["Authorization"]["properties"])
    assert {"billing_code", "start_date", "end_date", "allotted_units", "remaining_units",
            "pending_units", "unit_alert_level", "exp_alert_days", "auth_number",
            "specific_provider_id", "insurance_company_id", "exclude_from_notes",
            "auth_group_id", "unmanaged", "active", "default", "suspend_alerts",
            "sliding_scale_pct", "inpatient", "last_edited_at", "last_edited_by",
            "client_id"} <= fields
    assert not {"pending_units", "active", "last_edited_at", "last_edited_by"} & set(
        schemas["AuthorizationUpdate"]["properties"])


def test_reference_page_lists_every_operation_with_no_outside_asset(app):
    response = app.test_client().get("/api/v1/docs")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    for op in OPERATIONS:
        assert f"<code>/api/v1{op.path}</code>" in html and op.summary in html
    assert "insufficient_units" in html and "Bearer" in html
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html)
    assert "<script" not in html


def _seed(app, users, password_hash):
    """Something for the operations to find: clients, auths, notes of each state."""
    today = clinic_today()
    with app.app_context(), acting_as(db.session, Actor.system()):
        make = Factory(db.session, password_hash)
        payer = make.payer("Acme")
        ids = {"client": [], "auth": [], "note": []}
        for n in range(3):
            client = make.client(f"Prop{n}", payers=[payer])
            auth = make.auth(client, "90834", today=today, insurance_company_id=payer.id,
                             auth_group_id=1, unit_alert_level=8, exp_alert_days=90)
            make.auth(client, "90837", today=today, unmanaged=True)
            notes = [create_note(db.session, make.system, {
                "client_id": client.id, "provider_id": users["provider_id"],
                "authorization_id": auth.id, "service_date": today - dt.timedelta(days=1)})
                for _ in range(3)]
            release_note(db.session, make.system, notes[1].id)
            ids["client"].append(client.id)
            ids["auth"].append(auth.id)
            ids["note"] += [n.id for n in notes]
        db.session.commit()
    return ids


def test_property_based_run_finds_no_server_error_and_no_response_off_schema(app, users,
                                                                             password_hash):
    token = issue_token(app, users["admin"])
    known = _seed(app, users, password_hash)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    doc = schema.raw_schema
    auth = {"Authorization": f"Bearer {token}"}
    sent = {"requests": 0}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 18

    started = time.monotonic()
    for operation in operations:
        params = re.findall(r"{(\w+)}", operation.path)
        kind = {"client_id": "client", "authorization_id": "auth", "note_id": "note"}
        raw = doc["paths"][operation.path][operation.method.lower()]
        modes = [GenerationMode.POSITIVE]
        if "parameters" in raw or "requestBody" in raw:  # else there is nothing to make invalid
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            strategies = [operation.as_strategy(generation_mode=mode, headers=auth)]
            if params and mode is GenerationMode.POSITIVE:
                # Half the cases on ids that exist, so the success responses are checked too.
                strategies.append(st.sampled_from(known[kind[params[0]]]).flatmap(
                    lambda i: operation.as_strategy(generation_mode=mode, headers=auth,
                                                    path_parameters={params[0]: i})))

            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=st.one_of(strategies))
            def run(case):
                sent["requests"] += 1
                response = case.call()
                case.validate_response(response, checks=CHECKS, headers=auth)

            run()
    elapsed = time.monotonic() - started
    assert 150 <= sent["requests"] <= 400, sent
    assert elapsed < 60, f"{sent['requests']} requests took {elapsed:.0f}s"
    print(f"schemathesis: {sent['requests']} requests over {len(operations)} operations "
          f"in {elapsed:.1f}s")
