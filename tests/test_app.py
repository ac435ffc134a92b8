"""The application factory, configuration and the login basics."""
import pytest

from app import ConfigError, create_app, load_config


def test_refuses_to_start_without_secret_key_outside_debug(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.delenv("TESTING", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert load_config({"DEBUG": True})["SECRET_KEY"].startswith("dev-only-")


def test_database_url_defaults_to_sqlite_under_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("AUTHDESK_INSTANCE", str(tmp_path))
    config = load_config({"TESTING": True})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'authdesk.sqlite'}"
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    assert load_config({"TESTING": True})["SQLALCHEMY_DATABASE_URI"] == \
        "postgresql+psycopg://u@h/db"


def test_unauthenticated_users_see_only_the_login_page(web):
    anonymous = web()
    response = anonymous.get("/console/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert anonymous.get("/login").status_code == 200


def test_login_and_logout(web):
    client = web("support")
    assert client.get("/console/").status_code == 200
    assert client.logout().status_code == 302
    assert client.get("/console/").status_code == 302


def test_wrong_password_is_refused_with_a_message(web):
    client = web()
    response = client.login("support", "not-the-password")
    assert response.status_code == 401
    assert "Unknown username or wrong password" in response.get_data(as_text=True)


def test_a_post_without_csrf_token_is_refused(web):
    client = web()
    response = client.post("/login", {"username": "support", "password": "x" * 12}, csrf=False)
    assert response.status_code == 400
    assert client.get("/console/").status_code == 302  # not logged in


def test_security_headers(web):
    response = web().get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
