"""What the API tests share: a JSON client that sends a bearer token, and tokens for the default
profiles' users (fixtures: import them into a test module)."""
from __future__ import annotations

import contextvars

import pytest

from extensions import db
from rules import Actor
from rules.audit import acting_as
from rules.tokens import create_token


class ApiClient:
    """A test client for /api/v1 that authenticates with a bearer token (and no cookie)."""

    def __init__(self, app, token: str | None):
        self.http = app.test_client(use_cookies=False)
        self.token = token

    def headers(self, extra=None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(extra or {})
        return headers

    def request(self, method: str, path: str, json=None, *, headers=None, **kw):
        url = path if path.startswith("/api/") else "/api/v1" + path
        # In an empty context: the request gets an app context (and a database session) of its
        # own, as in production, even when the test holds one open (the `session` fixture).
        return contextvars.Context().run(self.http.open, url, method=method, json=json,
                                         headers=self.headers(headers), **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json, **kw)

    def patch(self, path, json=None, **kw):
        return self.request("PATCH", path, json, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def issue_token(app, user_id: int, name: str = "test") -> str:
    with app.app_context():
        with acting_as(db.session, Actor.system()):
            secret = create_token(db.session, Actor.system(), user_id, name).secret
            db.session.commit()
    return secret


@pytest.fixture
def api(app, users):
    """``api("billing")`` → an ApiClient with a fresh token of that default profile's user;
    ``api()`` sends no token."""

    def client_for(role: str | None = None) -> ApiClient:
        return ApiClient(app, issue_token(app, users[role]) if role else None)

    return client_for
