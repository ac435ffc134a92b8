"""Notes: providers document services against authorizations; billing releases and voids them.

Screens only. Which auths a note may use, the units it claims, release, void, overrides and who
sees which note are rules (rules.notes, rules.availability); this module shows their results and
posts to them, commits on success and rolls back on a DomainError.

- ``/console/notes/``                 the list (filters, CSV export, bulk "Release" action)
- ``/console/notes/new/``             a new note: client, provider, date → the usable auths
- ``/console/notes/details/?id=``     one note: payer, charge, inpatient, override, units held
- ``/console/notes/edit/?id=``        edit a draft; ``delete/``, ``release/``, ``void/`` (POST)
- ``/console/notes/authorization/<id>/``  the notes of one authorization (for the client chart)
- ``/console/notes/choices.json``     the usable auths as JSON (the new-note form's script)
"""
from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from decimal import Decimal

from flask import abort, flash, has_request_context, jsonify, redirect, request
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import (DateBetweenFilter, DateGreaterFilter,
                                              DateSmallerFilter, FilterEqual, FilterLike,
                                              IntEqualFilter)
from markupsafe import Markup
from sqlalchemy import select

from extensions import db
from models import (DRAFT, NOTE_STATUSES, RELEASED, Authorization, BillingCode, Client,
                    InsuranceCompany, Note, NoteClaim, Provider, name_key)
from rules import DomainError, InsufficientUnits
from rules.availability import default_choice, usable_authorizations, why_none_usable
from rules.clock import clinic_today
from rules.notes import (create_note, delete_note, notes_by_authorization, release_notes,
                         units_held, update_note, visible_notes, void_note)
from rules.permissions import (EXCEED_AUTHORIZED_UNITS, EXPORT, RELEASE_NOTES, VIEW_ALL_NOTES,
                               VIEW_AUTHORIZATIONS, VOID_NOTES, WRITE_NOTES)

from .base import SecureModelView, can, current_actor, expose, row_id, show_domain_error

#: Any of these opens the Notes screens; what each profile may do there is checked per route.
NOTE_PERMISSIONS = (WRITE_NOTES, VIEW_ALL_NOTES, RELEASE_NOTES, VOID_NOTES)
TEMPLATES = "admin_views/notes/"


def money(value: Decimal | None) -> str:
    return "" if value is None else f"${value:,.2f}"


def units_text(n: int) -> str:
    return f"{n} unit" if n == 1 else f"{n} units"


def _int(value) -> int | None:
    """An id posted or in the URL (see admin_views.base.row_id)."""
    return row_id(value)


def _date(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value).strip())
    except (TypeError, ValueError):
        return None


def notes_for_chart(auth_ids) -> dict[int, list[Note]]:
    """For the client chart's Authorizations tab: ``{auth id: [notes]}`` (draft and released,
    as far as the logged-in user may see them) in one query. Render each with the macro
    ``auth_notes(auth, notes)`` of templates/admin_views/notes/_auth_notes.html."""
    return notes_by_authorization(db.session, current_actor(), auth_ids)


def chart_context(client, auths) -> dict:
    """For admin_views.chart.CHART_CONTEXT: the notes of all the chart's auths (one query),
    for templates/admin_views/notes/_chart_auth_line.html; nothing for a user who cannot open
    the Notes screens."""
    if not any(can(p) for p in NOTE_PERMISSIONS):
        return {}
    return {"auth_notes": notes_for_chart([a.id for a in auths if a is not None]),
            "may_write_notes": can(WRITE_NOTES)}


#: What the client chart shows under each auth's line (admin_views.chart.AUTH_LINE_EXTRAS).
CHART_AUTH_LINE_TEMPLATE = TEMPLATES + "_chart_auth_line.html"


# --- filters whose choices are read at each request (pick lists take effect at once) ---------

class LookupFilter(IntEqualFilter):
    def __init__(self, column, name, lookup):
        super().__init__(column, name)
        self.lookup = lookup

    def get_options(self, view):
        return self.lookup() if has_request_context() else None


class DateFromFilter(DateGreaterFilter):
    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias) >= value)

    def operation(self):
        return "on or after"


class DateToFilter(DateSmallerFilter):
    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias) <= value)

    def operation(self):
        return "on or before"


def _providers():
    return [(p.id, str(p)) for p in db.session.scalars(
        select(Provider).order_by(Provider.last_name, Provider.first_name))]


def _billing_codes():
    return [(c.id, str(c)) for c in db.session.scalars(select(BillingCode)
                                                       .order_by(BillingCode.code))]


def _payers():
    return [(p.id, str(p)) for p in db.session.scalars(select(InsuranceCompany)
                                                       .order_by(InsuranceCompany.name))]


def _note_link(view, context, note, name):
    return Markup('<a href="{}">{}</a>').format(view.get_url(".details_view", id=note.id),
                                                note.label)


class NoteView(SecureModelView):
    list_template = TEMPLATES + "list.html"
    edit_permission = WRITE_NOTES
    export_permission = EXPORT
    action_permissions = {"release": RELEASE_NOTES}
    # Create, edit and delete are this module's own routes (they go through rules.notes).
    allow_create = allow_edit = allow_delete = False
    can_view_details = True
    named_filter_urls = True
    column_display_actions = False

    column_list = ("id", "service_date", "client", "provider", "billing_code", "authorization",
                   "units", "status", "payer", "charge", "inpatient")
    column_labels = {"id": "Note", "service_date": "Service Date", "billing_code": "Billing Code",
                     "authorization": "Auth #", "inpatient": "Inpatient"}
    column_sortable_list = ("id", "service_date", ("client", "client.name_key"),
                            ("provider", "provider.last_name"),
                            ("billing_code", "billing_code.code"), "units", "status", "charge")
    column_default_sort = [("service_date", True), ("id", True)]
    column_formatters = {
        "id": _note_link,
        "billing_code": lambda v, c, m, n: m.billing_code.code,
        "authorization": lambda v, c, m, n: m.authorization.auth_number,
        "status": lambda v, c, m, n: m.status.title(),
        "charge": lambda v, c, m, n: money(m.charge),
        "inpatient": lambda v, c, m, n: "Inpatient" if m.inpatient else "",
    }
    column_export_list = column_list + ("comment", "override_by", "override_reason",
                                        "released_by", "voided_by", "void_reason")
    column_formatters_export = {
        "billing_code": lambda v, c, m, n: m.billing_code.code,
        "authorization": lambda v, c, m, n: m.authorization.auth_number,
        "inpatient": lambda v, c, m, n: "yes" if m.inpatient else "no",
    }
    column_filters = (
        FilterLike(Client.name_key, "Client"),
        IntEqualFilter(Note.client_id, "Client id"),
        LookupFilter(Note.provider_id, "Provider", _providers),
        FilterEqual(Note.status, "Status", options=[(s, s.title()) for s in NOTE_STATUSES]),
        DateFromFilter(Note.service_date, "Service Date"),
        DateToFilter(Note.service_date, "Service Date"),
        DateBetweenFilter(Note.service_date, "Service Date"),
        LookupFilter(Note.billing_code_id, "Billing Code", _billing_codes),
        LookupFilter(Note.payer_id, "Payer", _payers),
        FilterLike(Authorization.auth_number, "Auth #"),
        IntEqualFilter(Note.authorization_id, "Authorization id"),
    )

    # --- who sees what: the query itself is restricted (list, count, export, actions, ids) ---

    def is_accessible(self) -> bool:
        return any(can(p) for p in NOTE_PERMISSIONS)

    def get_query(self):
        return super().get_query().filter(visible_notes(self.actor))

    def get_count_query(self):
        return super().get_count_query().filter(visible_notes(self.actor))

    def get_one(self, id):
        note_id = _int(id)
        if note_id is None:
            return None
        return self.get_query().filter(Note.id == note_id).one_or_none()

    def _note_or_404(self, id) -> Note:
        note = self.get_one(id)
        if note is None:
            abort(404)
        return note

    def _require(self, permission: str) -> None:
        if not can(permission):
            abort(403)

    def _get_filter_groups(self):
        """Flask-Admin computes filter choices once at start-up; read them per request."""
        if not self._filters:
            return None
        groups: OrderedDict = OrderedDict()
        for i, flt in enumerate(self._filters):
            options = flt.get_options(self)
            groups.setdefault(str(flt.name), []).append({
                "index": i, "arg": self.get_filter_arg(i, flt),
                "operation": str(flt.operation()),
                "options": [(k, str(v)) for k, v in options] if options else None,
                "type": flt.data_type})
        return groups

    @property
    def may_write(self) -> bool:
        return can(WRITE_NOTES)

    # --- bulk release ------------------------------------------------------------------------

    @action("release", "Release",
            "Release the selected notes? All of them are released, or none if one cannot be.")
    def action_release(self, ids):
        note_ids = [_int(i) for i in ids]
        if not note_ids or None in note_ids:
            flash("Choose the notes to release from the list.", "error")
            return None
        try:
            released = release_notes(db.session, self.actor, note_ids)
            summary = ", ".join(n.label for n in released)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(exc)
        else:
            flash(f"Released {len(released)} note{'s' if len(released) != 1 else ''}: "
                  f"{summary}.", "success")
        return None

    # --- one note ------------------------------------------------------------------------------

    @expose("/details/")
    def details_view(self):
        note = self._note_or_404(request.args.get("id"))
        claims = db.session.execute(
            select(NoteClaim.units, Authorization)
            .join(Authorization, Authorization.id == NoteClaim.authorization_id)
            .where(NoteClaim.note_id == note.id).order_by(Authorization.id)).all()
        return self.render(
            TEMPLATES + "details.html", note=note, claims=claims, money=money,
            units_text=units_text,
            may_edit=note.status == DRAFT and can(WRITE_NOTES),
            may_release=note.status == DRAFT and can(RELEASE_NOTES),
            may_void=note.status == RELEASED and can(VOID_NOTES))

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        self._require(WRITE_NOTES)
        return self._note_form(None)

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        self._require(WRITE_NOTES)
        note = self._note_or_404(request.values.get("id"))
        if note.status != DRAFT:
            flash(f"{note.label} is {note.status}: only draft notes can be changed.", "error")
            return redirect(self.get_url(".details_view", id=note.id))
        return self._note_form(note)

    @expose("/delete/", methods=("POST",))
    def delete_view(self):
        self._require(WRITE_NOTES)
        note = self._note_or_404(request.form.get("id"))
        label, units, auth = note.label, note.units, note.authorization.label
        try:
            delete_note(db.session, self.actor, note.id)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(exc)
            return redirect(self.get_url(".details_view", id=note.id))
        flash(f"{label} deleted: its {units_text(units)} pending on {auth} "
              "were given back.", "success")
        return redirect(self.get_url(".index_view"))

    @expose("/release/", methods=("POST",))
    def release_view(self):
        self._require(RELEASE_NOTES)
        note = self._note_or_404(request.form.get("id"))
        try:
            release_notes(db.session, self.actor, [note.id])
            message = (f"{note.label} released: {units_text(note.units)} used on "
                       f"{note.authorization.label}.")
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(exc)
        else:
            flash(message, "success")
        return redirect(self.get_url(".details_view", id=note.id))

    @expose("/void/", methods=("GET", "POST"))
    def void_view(self):
        self._require(VOID_NOTES)
        note = self._note_or_404(request.values.get("id"))
        errors, status = {}, 200
        if request.method == "GET" and note.status != RELEASED:
            flash(f"{note.label} is {note.status}: only released notes can be voided.", "error")
            return redirect(self.get_url(".details_view", id=note.id))
        if request.method == "POST":
            try:
                void_note(db.session, self.actor, note.id, request.form.get("reason", ""))
                message = (f"{note.label} voided: {units_text(note.units)} given back to "
                           f"{note.authorization.label}.")
                db.session.commit()
            except DomainError as exc:
                db.session.rollback()
                show_domain_error(exc)
                errors, status = exc.fields, exc.http_status
            else:
                flash(message, "success")
                return redirect(self.get_url(".details_view", id=note.id))
        return self.render(TEMPLATES + "void.html", note=note, errors=errors,
                           reason=request.form.get("reason", ""), money=money,
                           units_text=units_text), status

    # --- the notes of one authorization (the client chart links here) --------------------------

    @expose("/authorization/<id:auth_id>/")
    def authorization_notes(self, auth_id: int):
        auth = db.session.get(Authorization, auth_id)
        if auth is None:
            abort(404)
        notes = notes_by_authorization(db.session, self.actor, [auth.id])[auth.id]
        arg = next(self.get_filter_arg(i, f) for i, f in enumerate(self._filters)
                   if f.name == "Authorization id")
        return self.render(TEMPLATES + "authorization.html", auth=auth, notes=notes,
                           may_view_auth=can(VIEW_AUTHORIZATIONS),
                           list_url=self.get_url(".index_view", **{f"flt0_{arg}": auth.id}))

    # --- the note form (new and edit) ----------------------------------------------------------

    @expose("/choices.json")
    def choices_json(self):
        """The usable auths for a client, date and provider (the form's script calls it)."""
        self._require(WRITE_NOTES)
        client_id, provider_id = _int(request.args.get("client_id")), \
            _int(request.args.get("provider_id"))
        service_date = _date(request.args.get("service_date"))
        if client_id is None or provider_id is None or service_date is None \
                or db.session.get(Client, client_id) is None:
            return jsonify(error="Choose a client, a provider and a service date."), 400
        note = self.get_one(request.args.get("note_id")) if request.args.get("note_id") else None
        held = units_held(db.session, note.id) if note is not None else None
        usable = usable_authorizations(db.session, client_id, service_date, provider_id,
                                       held=held)
        default = default_choice(usable)
        return jsonify(
            choices=[{"authorization_id": u.authorization.id, "label": u.label,
                      "available": u.available, "is_default": u is default,
                      "default_units": u.authorization.billing_code.default_units}
                     for u in usable],
            reasons=[] if usable else why_none_usable(db.session, client_id, service_date,
                                                      provider_id, held=held))

    def _client_matches(self, text: str) -> list[Client]:
        key = name_key(*(text.replace(",", " ").split(None, 1) + [""])[:2])
        if not key:
            return []
        return list(db.session.scalars(select(Client).where(
            Client.name_key.startswith(key, autoescape=True), Client.active.is_(True))
            .order_by(Client.name_key).limit(25)))

    def _note_form(self, note: Note | None):
        actor = self.actor
        src = request.form if request.method == "POST" else request.args
        own_only = not actor.can(VIEW_ALL_NOTES)
        errors: dict[str, str] = {}
        status, offer_override = 200, False

        if request.method == "POST":
            fields = {k: src.get(k, "") for k in
                      ("provider_id", "service_date", "authorization_id", "units", "comment")}
            chosen = db.session.get(Authorization, _int(fields["authorization_id"]) or 0)
            override = src.get("confirm_override") == "1"
            reason = src.get("override_reason", "") if override else None
            try:
                if note is None:
                    fields["client_id"] = src.get("client_id", "")
                    saved = create_note(db.session, actor, fields, override_reason=reason)
                else:
                    if chosen is not None:
                        fields["billing_code_id"] = chosen.billing_code_id
                    saved = update_note(db.session, actor, note.id, fields,
                                        override_reason=reason)
                message = self._saved_message(saved, created=note is None)
                db.session.commit()
            except InsufficientUnits as exc:
                db.session.rollback()
                flash(exc.message, "error")
                offer_override = actor.can(EXCEED_AUTHORIZED_UNITS)
                status = exc.http_status
            except DomainError as exc:
                db.session.rollback()
                show_domain_error(exc)
                errors, status = exc.fields, exc.http_status
                offer_override = "override_reason" in errors
            else:
                flash(message, "success")
                return redirect(self.get_url(".details_view", id=saved.id))

        # Who, when: the client, the provider (a provider user writes as themselves) and date.
        client, client_q, client_matches = None, (src.get("client_q") or "").strip(), []
        if note is not None:
            client = note.client
        elif _int(src.get("client_id")) is not None:
            client = db.session.get(Client, _int(src.get("client_id")))
            if client is None:
                errors.setdefault("client_id", "does not exist")
        elif client_q:
            client_matches = self._client_matches(client_q)
            if len(client_matches) == 1:
                client = client_matches[0]
        if own_only:
            provider_id = actor.provider_id
        else:
            provider_id = _int(src.get("provider_id")) or (
                note.provider_id if note else actor.provider_id)
        provider = db.session.get(Provider, provider_id) if provider_id else None
        service_date = _date(src.get("service_date")) if src.get("service_date") else (
            note.service_date if note else clinic_today())
        if service_date is None:
            errors.setdefault("service_date", "must be a date (YYYY-MM-DD)")

        # The billing-code choices: exactly the usable auths (rules 6, 7), or why none is.
        usable, reasons, selected = [], [], None
        ready = client is not None and provider is not None and service_date is not None
        if ready:
            held = units_held(db.session, note.id) if note is not None else None
            usable = usable_authorizations(db.session, client.id, service_date, provider.id,
                                           held=held)
            if not usable:
                reasons = why_none_usable(db.session, client.id, service_date, provider.id,
                                          held=held)
            wanted = _int(src.get("authorization_id")) or (note.authorization_id if note else None)
            code_id = _int(src.get("billing_code_id"))
            by_id = {u.authorization.id: u for u in usable}
            selected = by_id.get(wanted) or next(
                (u for u in usable if code_id and u.authorization.billing_code_id == code_id),
                None) or default_choice(usable)
        units = src.get("units") if src.get("units") is not None else (
            note.units if note else (selected.authorization.billing_code.default_units
                                     if selected else ""))
        providers = [] if own_only else list(db.session.scalars(
            select(Provider).where((Provider.active.is_(True)) | (Provider.id == provider_id))
            .order_by(Provider.last_name, Provider.first_name)))
        return self.render(
            TEMPLATES + "form.html", note=note, client=client, client_q=client_q,
            client_matches=client_matches, own_only=own_only, provider=provider,
            providers=providers, service_date=service_date, ready=ready, usable=usable,
            reasons=reasons, selected=selected, units=units,
            comment=src.get("comment", note.comment if note else "") or "",
            errors=errors, offer_override=offer_override,
            override_reason=src.get("override_reason", ""),
            may_override=actor.can(EXCEED_AUTHORIZED_UNITS)), status

    def _saved_message(self, note: Note, *, created: bool) -> str:
        auth = db.session.get(Authorization, note.authorization_id)
        text = (f"{note.label} {'saved as a draft' if created else 'updated'}: "
                f"{units_text(note.units)} pending on {auth.label}")
        siblings = len(units_held(db.session, note.id)) - 1
        if siblings > 0:
            text += f" and {siblings} auth-group sibling{'s' if siblings > 1 else ''}"
        text += "."
        if note.override_by:
            text += f" Override recorded: {note.override_by} — {note.override_reason}"
        return text


def register(admin) -> None:
    admin.add_view(NoteView(Note, name="Notes", endpoint="notes", url="notes"))
