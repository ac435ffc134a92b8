"""Issue 7 point 8: cookies HttpOnly and SameSite=Lax, Secure outside debug/tests/demo; security
headers on every response (pages, errors, static files); ``next`` after login only to this site;
no asset from a CDN — every page references only the app's own files, and they are served."""
import re
from urllib.parse import quote

import pytest

from admin_views.login import safe_next
from app import create_app, load_config
from conftest import PASSWORD

HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}


def assert_security_headers(response):
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (name, response.status_code)
    csp = response.headers.get("Content-Security-Policy", "")
    for directive in ("default-src 'self'", "frame-ancestors 'none'", "script-src 'self'",
                      "form-action 'self'", "base-uri 'self'"):
        assert directive in csp, directive
    assert "http:" not in csp and "https:" not in csp and "*" not in csp


def set_cookies(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_the_session_cookie_is_httponly_and_samesite_lax(web, users):
    client = web()
    client.get("/login")
    response = client.post("/login", {"username": "support",
                                      "password": "correct-horse-battery"})
    [session_cookie] = [c for c in set_cookies(response) if c.startswith("session=")]
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert "Secure" not in session_cookie  # tests run over http
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize("overrides, secure", [
    ({}, True),
    ({"DEBUG": True}, False),
    ({"TESTING": True}, False),
    ({"AUTHDESK_DEMO": True}, False),
])
def test_cookies_are_secure_outside_debug_tests_and_demo(monkeypatch, overrides, secure):
    for name in ("FLASK_DEBUG", "TESTING", "AUTHDESK_DEMO"):
        monkeypatch.delenv(name, raising=False)
    config = load_config({"SECRET_KEY": "k", **overrides})
    assert config["SESSION_COOKIE_SECURE"] is secure
    assert config["REMEMBER_COOKIE_SECURE"] is secure
    assert config["SESSION_COOKIE_HTTPONLY"] and config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["REMEMBER_COOKIE_HTTPONLY"] and config["REMEMBER_COOKIE_SAMESITE"] == "Lax"


def test_a_production_app_sends_a_secure_cookie(monkeypatch, database_url, tmp_path, users):
    for name in ("FLASK_DEBUG", "TESTING", "AUTHDESK_DEMO"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"SECRET_KEY": "production-secret", "SQLALCHEMY_DATABASE_URI": database_url,
                      "AUTHDESK_INSTANCE": str(tmp_path), "RATELIMIT_ENABLED": False})
    client = app.test_client()
    html = client.get("/login", base_url="https://authdesk.example").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    response = client.post("/login", base_url="https://authdesk.example",
                           headers={"Referer": "https://authdesk.example/login"},
                           data={"csrf_token": token, "username": "support",
                                 "password": "correct-horse-battery"})
    assert response.status_code == 302
    [session_cookie] = [c for c in set_cookies(response) if c.startswith("session=")]
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    with app.app_context():
        from extensions import db
        db.session.remove()
        db.engine.dispose()


def test_security_headers_on_pages(web):
    admin = web("admin")
    for url in ("/console/", "/console/audit/", "/console/account/"):
        response = admin.get(url)
        assert response.status_code == 200
        assert_security_headers(response)
    assert_security_headers(web().get("/login"))


def test_security_headers_on_redirects_and_errors(web):
    anonymous = web()
    assert_security_headers(anonymous.get("/console/"))  # 302 to the login page
    assert_security_headers(anonymous.get("/no-such-page"))  # 404
    assert_security_headers(anonymous.http.put("/login"))  # 405
    bad = anonymous.post("/login", {"username": "x", "password": "y" * 12}, csrf=False)
    assert bad.status_code == 400
    assert_security_headers(bad)
    assert_security_headers(web("support").get("/console/audit/"))  # 403


def test_security_headers_on_static_files(web):
    client = web()
    for url in ("/static/authdesk.css",
                "/console/static/bootstrap/bootstrap4/css/bootstrap.min.css"):
        response = client.get(url)
        assert response.status_code == 200
        assert_security_headers(response)


def test_security_headers_on_a_server_error(app_config):
    app = create_app({**app_config, "PROPAGATE_EXCEPTIONS": False})

    @app.route("/boom")
    def boom():
        raise RuntimeError("broken")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert_security_headers(response)
    assert "broken" not in response.get_data(as_text=True)
    with app.app_context():
        from extensions import db
        db.engine.dispose()


OUTSIDE = [
    "//evil.example/", "///evil.example/", "https://evil.example/", "http://evil.example",
    "HTTPS://evil.example", "https:evil.example", "/\\evil.example", "\\\\evil.example",
    "/\\/evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x",
    " //evil.example", "/\t/evil.example", "/\n/evil.example", "/\r/evil.example",
    "\x00//evil.example", "evil.example", "console/", "%2F%2Fevil.example",
    "%252F%252Fevil.example", "/%09/evil.example".replace("%09", "\t"),
    "https://authdesk.example@evil.example/", "ftp://evil.example/",
]


@pytest.mark.parametrize("target", OUTSIDE)
def test_safe_next_refuses_every_way_off_the_site(target):
    assert safe_next(target) is None


@pytest.mark.parametrize("target", ["/console/", "/console/audit/?page=2",
                                    "/console/audit/history/client/1", "/console/%2F%2Fx"])
def test_safe_next_keeps_paths_of_this_site(target):
    assert safe_next(target) == target


def test_next_after_login_never_leaves_the_site(web, users, monkeypatch, password_hash):
    import rules.users

    monkeypatch.setattr(rules.users, "check_password_hash",  # the redirect is under test
                        lambda stored, given: stored == password_hash and given == PASSWORD)
    client = web()
    for target in OUTSIDE + ["/console/audit/"]:
        url = "/login?next=" + quote(target, safe="")
        client.get(url)
        response = client.post(url, {"username": "support", "password": PASSWORD})
        client.token = None  # the session was renewed: the old CSRF token is void
        if "\x00" in target:
            assert response.status_code == 400
            continue
        assert response.status_code == 302, target
        location = response.headers["Location"]
        expected = target if target == "/console/audit/" else "/console/"
        assert location == expected, (target, location)
        assert client.logout().status_code == 302


def test_a_page_that_needs_a_login_comes_back_after_it(web, users):
    client = web()
    response = client.get("/console/audit/history/client/3")
    login_url = response.headers["Location"]
    assert "next=" in login_url
    client.get(login_url)
    response = client.post(login_url, {"username": "admin",
                                       "password": "correct-horse-battery"})
    assert response.headers["Location"] == "/console/audit/history/client/3"


ASSET = re.compile(r'<(?:link|script|img|iframe|source|object|embed)\b[^>]*?'
                   r'(?:href|src|data)=["\']([^"\']+)["\']', re.I)


def assets_of(html: str) -> list[str]:
    return [a for a in ASSET.findall(html) if not a.startswith(("data:", "#"))]


def test_no_page_loads_an_asset_from_outside_the_app(session, web, make, users):
    client_row = make.client("Garcia")
    session.commit()
    pages = {None: ["/login"],
             "admin": ["/console/", "/console/audit/", f"/console/audit/history/client/"
                       f"{client_row.id}", "/console/account/",
                       f"/console/account/reset/{users['billing']}"]}
    seen = set()
    for role, urls in pages.items():
        client = web(role)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            html = response.get_data(as_text=True)
            assert not re.search(r"(?:src|href)=[\"'](?:https?:)?//", html, re.I), url
            for asset in assets_of(html):
                assert asset.startswith("/"), (url, asset)
                seen.add(asset)
    assert any(a.endswith(".css") for a in seen) and any(".js" in a for a in seen)
    anonymous = web()
    for asset in sorted(seen):  # the app serves each of them itself
        assert anonymous.get(asset).status_code == 200, asset
