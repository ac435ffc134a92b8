"""Personal API tokens: only a bearer token authenticates (never the console's cookie); a token
is stored hashed, shown once, revoked at once, and stops working with its user; the console
screen and `flask users token`."""
import hashlib
import re

import sqlalchemy as sa

from api_support import ApiClient, api, issue_token  # noqa: F401  (fixture)
from extensions import db
from models import ApiToken, AuditRecord, Profile, User
from rules import Actor
from rules.audit import acting_as
from rules.tokens import revoke_token
from rules.users import set_active

TOKEN_RE = re.compile(r"adk_[A-Za-z0-9_-]{40,}")


def test_no_token_wrong_scheme_or_unknown_token_is_401(app, users):
    anonymous = ApiClient(app, None)
    response = anonymous.get("/clients")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    basic = anonymous.get("/clients", headers={"Authorization": "Basic YWRtaW46eA=="})
    assert basic.status_code == 401
    forged = ApiClient(app, "adk_" + "x" * 43).get("/clients")
    assert forged.status_code == 401
    assert forged.get_json()["error"]["code"] == "invalid_token"


def test_the_console_session_cookie_does_not_authenticate_the_api(app, web):
    console = web("admin")
    assert console.get("/console/").status_code == 200
    response = console.http.get("/api/v1/clients")
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers  # the console session is not even read
    # …and a write is refused as unauthenticated, not as a CSRF failure.
    post = console.http.post("/api/v1/clients", json={"first_name": "A", "last_name": "B",
                                                      "dob": "2000-01-01"})
    assert post.status_code == 401


def test_a_token_acts_with_its_users_profile_as_it_is_now(app, api, users):
    provider = api("provider")
    assert provider.get("/clients").status_code == 200
    with app.app_context(), acting_as(db.session, Actor.system()):
        profile = db.session.scalar(sa.select(Profile).where(Profile.name == "Provider"))
        profile.permissions = profile.permissions - {"view_clients"}
        db.session.commit()
    response = provider.get("/clients")
    assert response.status_code == 403
    assert "View clients" in response.get_json()["error"]["message"]


def test_token_is_stored_hashed_with_a_prefix_and_last_use(app, users):
    secret = issue_token(app, users["billing"], "Billing robot")
    assert TOKEN_RE.fullmatch(secret)
    with app.app_context():
        row = db.session.scalar(sa.select(ApiToken))
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in (row.token_hash, row.prefix) and secret.startswith(row.prefix)
        assert row.last_used_at is None
        audit = db.session.scalar(sa.select(AuditRecord).where(
            AuditRecord.object_type == "api_token"))
        assert audit.changes["token_hash"] == [None, "(set)"]
    used = ApiClient(app, secret).get("/billing-codes")
    assert used.status_code == 200 and used.headers["Cache-Control"] == "no-store"
    with app.app_context():
        assert db.session.scalar(sa.select(ApiToken.last_used_at)) is not None


def test_revoking_is_immediate(app, users):
    secret = issue_token(app, users["support"])
    client = ApiClient(app, secret)
    assert client.get("/auth-groups").status_code == 200
    with app.app_context(), acting_as(db.session, Actor.system()):
        revoke_token(db.session, Actor.system(), db.session.scalar(sa.select(ApiToken.id)))
        db.session.commit()
    response = client.get("/auth-groups")
    assert response.status_code == 401
    assert "revoked" in response.get_json()["error"]["message"]


def test_a_disabled_users_tokens_stop_working(app, users):
    secret = issue_token(app, users["support"])
    client = ApiClient(app, secret)
    assert client.get("/providers").status_code == 200
    with app.app_context(), acting_as(db.session, Actor.system()):
        set_active(db.session, Actor.system(), users["support"], False)
        db.session.commit()
    assert client.get("/providers").status_code == 401


def test_api_writes_are_audited_as_the_tokens_user(app, api, users):
    response = api("support").post("/clients", {"first_name": "Sam", "last_name": "Lee",
                                                "dob": "2001-02-03"},
                                   headers={"X-Request-Id": "req-000042"})
    assert response.status_code == 201
    with app.app_context():
        record = db.session.scalar(sa.select(AuditRecord).where(
            AuditRecord.object_type == "client"))
        assert (record.actor_name, record.actor_id, record.request_id, record.action) == (
            "Support", users["support"], "req-000042", "create")


# ---------------------------------------------------------------- the console screen

def test_console_creates_a_token_shown_once_and_revokes_it(app, web, users):
    console = web("provider")
    page = console.get("/console/tokens/")
    assert page.status_code == 200 and "No tokens yet" in page.get_data(as_text=True)
    created = console.post("/console/tokens/", {"name": "Scheduler"})
    html = created.get_data(as_text=True)
    secret = TOKEN_RE.search(html).group(0)
    assert "shown only once" in html and created.headers["Cache-Control"] == "no-store"
    assert ApiClient(app, secret).get("/clients").status_code == 200
    listing = console.get("/console/tokens/").get_data(as_text=True)
    assert "Scheduler" in listing and secret[:12] in listing and secret not in listing
    with app.app_context():
        token_id = db.session.scalar(sa.select(ApiToken.id))
    revoked = console.post(f"/console/tokens/{token_id}/revoke", follow_redirects=True)
    assert "revoked: it no longer works" in revoked.get_data(as_text=True)
    assert ApiClient(app, secret).get("/clients").status_code == 401


def test_console_cannot_revoke_another_users_token_nor_post_without_csrf(app, web, users):
    secret = issue_token(app, users["admin"])
    with app.app_context():
        token_id = db.session.scalar(sa.select(ApiToken.id))
    provider = web("provider")
    provider.get("/console/tokens/")
    page = provider.post(f"/console/tokens/{token_id}/revoke", follow_redirects=True)
    assert "does not exist" in page.get_data(as_text=True)
    assert provider.post("/console/tokens/", {"name": "x"}, csrf=False).status_code == 400
    assert ApiClient(app, secret).get("/clients").status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 1


def test_console_token_screen_needs_a_login(web):
    response = web().get("/console/tokens/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# ---------------------------------------------------------------- the command line

def test_cli_prints_only_a_working_token(app, users):
    result = app.test_cli_runner().invoke(args=["users", "token", "billing"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    assert TOKEN_RE.fullmatch(secret) and result.output == secret + "\n"
    response = ApiClient(app, secret).get("/alerts")
    assert response.status_code == 200


def test_cli_refuses_an_unknown_or_disabled_user(app, users):
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["users", "token", "nobody"])
    assert unknown.exit_code == 1 and "no user is named nobody" in unknown.output
    with app.app_context(), acting_as(db.session, Actor.system()):
        db.session.get(User, users["billing"]).active = False
        db.session.commit()
    disabled = runner.invoke(args=["users", "token", "billing"])
    assert disabled.exit_code == 1 and "disabled" in disabled.output
