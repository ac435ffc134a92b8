"""Issue 7 point 6 (per address): Flask-Limiter counts failed logins per address, in the store
named by RATELIMIT_STORAGE_URI, and answers the login page with a clear message and a 429.
The suite turns the limiter off (conftest); this module turns it on."""
import logging

import pytest

import rules.users
from app import load_config
from conftest import PASSWORD
from extensions import limiter


@pytest.fixture
def app_config(app_config):
    return {**app_config, "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"}


@pytest.fixture(autouse=True)
def instant_hash_checks(monkeypatch, password_hash):
    monkeypatch.setattr(rules.users, "check_password_hash",
                        lambda stored, given: stored == password_hash and given == PASSWORD)


def from_address(client, address: str):
    client.http.environ_base["REMOTE_ADDR"] = address
    return client


def test_failed_logins_from_one_address_are_limited_with_a_clear_message(web, users, caplog):
    caplog.set_level(logging.INFO, logger="authdesk.login")
    client = from_address(web(), "203.0.113.7")
    for username in ("admin", "support", "nobody"):  # spread over accounts: no lockout
        assert client.login(username, "wrong password!").status_code == 401
    response = client.login("billing", PASSWORD)  # even a right password now waits
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "60"
    assert response.headers["X-Frame-Options"] == "DENY"
    html = response.get_data(as_text=True)
    assert "Too many failed logins from this address; wait a minute" in html
    assert 'name="username"' in html  # the login page, not a bare error
    assert client.get("/console/").status_code == 302
    assert any("login refused (rate limit" in r.getMessage() and "ip=203.0.113.7" in
               r.getMessage() for r in caplog.records if r.name == "authdesk.login")
    # another address is not held up
    assert from_address(web(), "198.51.100.9").login("billing", PASSWORD).status_code == 302


def test_successful_logins_do_not_count(web, users):
    client = from_address(web(), "203.0.113.8")
    for _ in range(4):
        assert client.login("support", PASSWORD).status_code == 302
        client.logout()
    assert client.login("support", PASSWORD).status_code == 302


def test_only_posts_count(web, users):
    client = from_address(web(), "203.0.113.9")
    for _ in range(5):
        assert client.get("/login").status_code == 200


def test_the_limiter_store_is_configurable(app, monkeypatch):
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert limiter.enabled
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://cache.internal:6379/0")
    monkeypatch.setenv("AUTHDESK_LOGIN_RATE_LIMIT", "10 per minute")
    config = load_config({"TESTING": True})
    assert config["RATELIMIT_STORAGE_URI"] == "redis://cache.internal:6379/0"
    assert config["LOGIN_RATE_LIMIT"] == "10 per minute"


def test_behind_a_proxy_the_clients_address_is_limited(app_config, users):
    """Without PROXY_HOPS every client behind nginx would share the proxy's address."""
    from app import create_app
    from conftest import WebClient
    from extensions import db

    proxied = create_app({**app_config, "PROXY_HOPS": 1})
    try:
        attacker, colleague = WebClient(proxied), WebClient(proxied)
        for client, address in ((attacker, "203.0.113.50"), (colleague, "203.0.113.51")):
            client.http.environ_base.update(REMOTE_ADDR="10.0.0.1",
                                            HTTP_X_FORWARDED_FOR=address)
        for _ in range(3):
            attacker.login("nobody", "wrong password!")
        assert attacker.login("support", PASSWORD).status_code == 429
        assert colleague.login("support", PASSWORD).status_code == 302
    finally:
        with proxied.app_context():
            db.session.remove()
            db.engine.dispose()
