"""Issue 7 point 9: no default or demo account in a production configuration — the reference
seed creates no login; demo logins work only in demo mode; ``flask seed --demo`` is refused
outside it; a production app holding an active demo login refuses to serve until
``flask users disable-demo``; and the guard never queries the database when the app is created
(``flask db upgrade`` creates the app before the tables exist)."""
import logging

import pytest
import sqlalchemy as sa

from app import create_app
from conftest import PASSWORD
from extensions import db
from models import User


@pytest.fixture
def demo_user(session, make):
    user = make.user("demo-admin", "Administrator", is_demo=True)
    session.commit()
    return user.id


@pytest.fixture
def make_app(app_config, monkeypatch):
    """Another app on the same database with other settings (production: no TESTING)."""
    for name in ("FLASK_DEBUG", "TESTING", "AUTHDESK_DEMO"):
        monkeypatch.delenv(name, raising=False)
    made = []

    def build(**overrides):
        app = create_app({**app_config, **overrides})
        made.append(app)
        return app

    yield build
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_the_reference_seed_creates_no_login(session):
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_a_demo_login_is_refused_outside_demo_mode(web, demo_user):
    response = web().login("demo-admin", PASSWORD)
    assert response.status_code == 401
    assert "Unknown username or wrong password" in response.get_data(as_text=True)


def test_a_demo_login_works_in_demo_mode(make_app, demo_user):
    from conftest import WebClient

    demo = make_app(AUTHDESK_DEMO=True, TESTING=True)
    client = WebClient(demo)
    assert client.login("demo-admin", PASSWORD).status_code == 302
    assert client.get("/console/").status_code == 200


def test_a_demo_session_ends_when_demo_mode_is_off(app, session, demo_user):
    from admin_views.login import load_user

    token = session.get(User, demo_user).session_token
    with app.test_request_context("/console/"):
        assert load_user(f"{demo_user}:{token}") is None
    app.config["AUTHDESK_DEMO"] = True
    with app.test_request_context("/console/"):
        assert load_user(f"{demo_user}:{token}").id == demo_user


def test_seed_demo_is_refused_outside_demo_mode(make_app):
    production = make_app(TESTING=False, SECRET_KEY="production-secret")
    result = production.test_cli_runner().invoke(args=["seed", "--demo"])
    assert result.exit_code == 1
    assert "only for demo mode" in result.output
    with production.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_a_production_app_with_a_demo_login_refuses_to_serve(make_app, demo_user, users,
                                                            caplog):
    caplog.set_level(logging.ERROR, logger="authdesk.security")
    production = make_app(TESTING=False, SECRET_KEY="production-secret")
    client = production.test_client()
    response = client.get("/login")
    assert response.status_code == 503
    assert "demo login" in response.get_data(as_text=True)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert any("demo logins exist in a production configuration (demo-admin)" in r.getMessage()
               for r in caplog.records)
    assert client.get("/console/static/bootstrap/bootstrap4/css/bootstrap.min.css"
                      ).status_code == 200  # the refusal page keeps its style

    result = production.test_cli_runner().invoke(args=["users", "disable-demo"])
    assert result.exit_code == 0 and "Disabled 1 demo logins: demo-admin." in result.output
    assert client.get("/login").status_code == 200
    with production.app_context():
        assert db.session.get(User, demo_user).active is False


def test_a_production_app_without_demo_logins_serves(make_app, users):
    production = make_app(TESTING=False, SECRET_KEY="production-secret")
    assert production.test_client().get("/login").status_code == 200


@pytest.mark.parametrize("mode", [{"AUTHDESK_DEMO": True}, {"DEBUG": True}])
def test_demo_and_debug_modes_are_not_production(make_app, demo_user, mode):
    app = make_app(TESTING=False, SECRET_KEY="k", **mode)
    assert app.test_client().get("/login").status_code == 200


def test_the_app_is_created_and_serves_before_the_tables_exist(make_app, tmp_path, caplog):
    """`flask db upgrade` creates the app on an empty database: nothing may query it then."""
    caplog.set_level(logging.ERROR, logger="authdesk.security")
    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    app = make_app(TESTING=False, SECRET_KEY="k", SQLALCHEMY_DATABASE_URI=empty)
    with app.app_context():
        assert sa.inspect(db.engine).get_table_names() == []
    assert app.test_client().get("/login").status_code == 200
    assert any("could not check for demo logins" in r.getMessage() for r in caplog.records)
