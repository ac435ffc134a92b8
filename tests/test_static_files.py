"""The app's own static files are cached by browsers and served without loading the user."""
import sqlalchemy as sa

from extensions import db


def test_static_files_are_cacheable_and_need_no_database(app, web):
    client = web("support")
    statements = []

    def count(*args):
        statements.append(args[2])

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        for url in ("/static/authdesk.css",
                    "/console/static/bootstrap/bootstrap4/css/bootstrap.min.css"):
            response = client.get(url)
            assert response.status_code == 200, url
            assert "max-age=3600" in response.headers["Cache-Control"], url
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert statements == []
    assert client.get("/console/").status_code == 200  # pages still know who is logged in
