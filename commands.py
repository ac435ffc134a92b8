"""Command-line interface: ``flask seed``, ``flask authorizations refresh-status``,
``flask users create``. Errors end with one line on stderr and a non-zero exit."""
from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from extensions import db
from rules import Actor, DomainError
from rules.audit import acting_as


def fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def register(app: Flask) -> None:
    @app.cli.command("seed")
    @click.option("--demo", is_flag=True, help="Also add the demo practice (clients, auths, "
                  "notes, demo logins). Refused outside demo mode (AUTHDESK_DEMO=1).")
    def seed(demo: bool) -> None:
        """Add the reference data (idempotent), and with --demo the demo data."""
        from seeds import seed_demo, seed_reference

        if demo and not (app.config["AUTHDESK_DEMO"] or app.config["DEBUG"]
                         or app.config["TESTING"]):
            fail("demo data (with its well-known logins) is only for demo mode; "
                 "set AUTHDESK_DEMO=1 on a machine that is not production")
        with acting_as(db.session, Actor.system()):
            created = seed_reference(db.session)
            if demo:
                created += seed_demo(db.session)
            db.session.commit()
        click.echo(f"Seeded: {created} rows added." if created else "Seeded: nothing to add.")

    authorizations = AppGroup("authorizations", help="Authorization jobs and tools.")

    @authorizations.command("refresh-status")
    @click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="Pretend today is this date (YYYY-MM-DD).")
    def refresh_status(today) -> None:
        """Recompute active status and open/close alerts for every auth (the daily job)."""
        from rules.status import refresh_status as run

        result = run(db.session, today=today.date() if today else None)
        db.session.commit()
        click.echo(f"Status refreshed: {result.activated} activated, {result.deactivated} "
                   f"deactivated; alerts: {result.alerts_opened} opened, "
                   f"{result.alerts_closed} closed.")

    app.cli.add_command(authorizations)

    users = AppGroup("users", help="Manage logins.")

    @users.command("create")
    @click.argument("username")
    @click.option("--profile", required=True, help="Profile name, e.g. Administrator.")
    @click.option("--name", "full_name", default=None, help="Full name (default: username).")
    @click.option("--email", default=None)
    @click.password_option(help="At least 12 characters (asked for when not given).")
    def create_user(username, profile, full_name, email, password) -> None:
        """Create a login with a profile."""
        from rules.users import create_user as create

        actor = Actor.system()
        try:
            with acting_as(db.session, actor):
                create(db.session, actor, username=username, full_name=full_name or username,
                       password=password, profile_name=profile, email=email)
                db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            fail(exc.message)
        click.echo(f"User {username} created with profile {profile}.")

    @users.command("disable-demo")
    def disable_demo() -> None:
        """Disable every demo login (their password is published); a production app refuses
        to serve while one is active."""
        from models import User
        from rules.users import demo_usernames, set_active

        actor = Actor.system()
        with acting_as(db.session, actor):
            names = demo_usernames(db.session)
            for name in names:
                user = db.session.scalar(db.select(User).where(User.username == name))
                set_active(db.session, actor, user.id, False)
            db.session.commit()
        click.echo(f"Disabled {len(names)} demo logins: {', '.join(names)}." if names
                   else "No active demo login.")

    app.cli.add_command(users)
