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
        from sqlalchemy.exc import OperationalError

        from rules.status import refresh_status as run

        for attempt in range(1, 4):
            try:
                result = run(db.session, today=today.date() if today else None)
                db.session.commit()
                break
            except OperationalError as exc:
                # PostgreSQL may pick the job as the victim of a deadlock with a user's
                # transaction: nothing was changed, so run it again.
                db.session.rollback()
                if attempt == 3 or getattr(exc.orig, "sqlstate", None) not in ("40P01", "40001"):
                    raise
        click.echo(f"Status refreshed: {result.activated} activated, {result.deactivated} "
                   f"deactivated; alerts: {result.alerts_opened} opened, "
                   f"{result.alerts_closed} closed.")

    @authorizations.command("send-digest")
    @click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="Pretend today is this date (YYYY-MM-DD), for the days left.")
    def send_digest(today) -> None:
        """E-mail each alert recipient the alerts new since their last digest (daily job)."""
        import smtplib

        from mailer import send_digests
        from rules.clock import clinic_today
        from rules.digest import build_digests, mark_digest_sent

        host, port = app.config.get("SMTP_HOST"), app.config["SMTP_PORT"]
        if not host:
            click.echo("E-mail digest: no SMTP server is configured (set SMTP_HOST, and "
                       "SMTP_PORT and MAIL_FROM if needed); nothing was sent.")
            return
        digests = build_digests(db.session, today=today.date() if today else clinic_today())
        db.session.rollback()
        if not digests:
            click.echo("E-mail digest: no new alerts for anyone; nothing was sent.")
            return
        sent = []

        def mark(digest) -> None:
            mark_digest_sent(db.session, digest)
            db.session.commit()
            sent.append(digest)

        def refused(digest, exc) -> None:
            click.echo(f"E-mail digest: {host} refused {digest.email} ({digest.full_name}); "
                       "their digest waits for the next run.", err=True)

        try:
            send_digests(host, port, app.config["MAIL_FROM"], digests, mark, refused)
        except (OSError, smtplib.SMTPException) as exc:
            fail(f"could not send the e-mail digest through {host}:{port} ({exc}); "
                 f"{len(sent)} of {len(digests)} sent before the failure.")
        alerts = sum(d.count for d in sent)
        click.echo(f"E-mail digest: sent to {len(sent)} of {len(digests)} recipients "
                   f"({alerts} new alerts).")

    @authorizations.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
    def import_authorizations(file, dry_run) -> None:
        """Import authorizations from a CSV in the export's columns (all rows or none)."""
        from pathlib import Path

        from rules.csv_io import import_authorizations as run

        try:
            text = Path(file).read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            fail(f"{file} is not UTF-8 text; save the spreadsheet as CSV UTF-8")
        actor = Actor.system()
        with acting_as(db.session, actor):
            report = run(db.session, actor, text, source=Path(file).name)
            if dry_run or not report.ok or not report.changed:
                db.session.rollback()
            else:
                db.session.commit()
        if not report.ok:
            for problem in report.problems:
                click.echo(str(problem), err=True)
            fail(f"{len(report.problems)} problems; nothing was imported.")
        click.echo(("Dry run: " if dry_run else "Imported: ") + report.summary(dry_run=dry_run)
                   + (" Nothing was written." if dry_run else ""))

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

    @users.command("token")
    @click.argument("username")
    @click.option("--name", default="command line", show_default=True,
                  help="What the token is for (shown in the user's token list).")
    def issue_token(username, name) -> None:
        """Issue a personal API token for USERNAME and print only the token (shown once)."""
        from sqlalchemy import func, select

        from models import User
        from rules.tokens import create_token

        user = db.session.scalar(select(User).where(func.lower(User.username)
                                                    == username.strip().lower()))
        if user is None:
            fail(f"no user is named {username}")
        actor = Actor.system()
        try:
            with acting_as(db.session, actor):
                issued = create_token(db.session, actor, user.id, name)
                db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            fail(exc.message)
        click.echo(issued.secret)

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
