"""Bulk Add and Update Codes Listed (rules 15 and 16), and undoing either — the screens only.

Every change is made by rules.bulk (set-based, all or nothing, one audit batch); this module
turns the form into rule calls, shows a confirmation with a preview before anything is written,
commits, or rolls back and shows the refusal (the failing auths by name).

Where it acts (a *target*):
- ``/console/bulk/client/<id>/``           one client's chart: Add New Codes for the client;
  Update Codes Listed on every auth the chart's Authorizations tab lists (all the client's).
- ``/console/bulk/list/authorizations/``  Clients → Authorizations: Add New Codes for the
  ticked rows' clients or every client the filter matches; Update Codes Listed on every auth
  the filter matches, on all pages. The filter travels as the list's query string (hidden field
  ``list_args``) and is rebuilt on the server at each step (``filtered_ids``); ticked rows only
  narrow it, they are never trusted alone.
- ``/console/bulk/list/clients/``         Clients → Clients: Add New Codes for the ticked clients
  or every client the filter matches.
- ``/console/bulk/batch/<id>/``            the result of one operation; ``…/undo`` undoes it.

A confirmation carries what was confirmed: the count of auths (``expected_count``, checked by
rules.bulk.apply_update) or the clients (their number and a digest of their ids): if the set
changed meanwhile, nothing is written and the user reviews again.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import abort, flash, redirect, request, url_for
from flask_admin.actions import action
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from wtforms import SelectField, ValidationError as FormError
from wtforms.fields.choices import SelectChoice

from extensions import db
from models import (AuditBatch, AuditRecord, AuthGroup, Authorization, BillingCodeGroup, Client,
                    InsuranceCompany)
from rules import Conflict, DomainError, ValidationError
from rules.audit import jsonable
from rules.bulk import BulkPlan, apply_update, bulk_add, plan_add, plan_update, undo_batch
from rules.permissions import BULK_UPDATE, MODIFY_MANAGED_UNITS, VIEW_AUDIT
from rules.picklists import choices

from .audit import ChangeFormatter
from .base import AccessMixin, BaseView, can, expose
from .forms import ChoiceOf, ConsoleForm, DateText, NumberText, offered
from .links import _view
from .login import safe_next

TEMPLATES = "console/bulk/"
#: Rows shown in a preview (confirmation, result); the counts always cover every row.
PREVIEW_ROWS = 20
#: Bulk Add takes at most this many clients at once (a larger filter is refused: narrow it).
MAX_CLIENTS = 5000
#: Ticked rows a post may carry (a list page shows at most 100).
MAX_TICKED = 500
MAX_LIST_ARGS = 4000
UNDOABLE = ("update_codes_listed", "bulk_add")
SHOWN_KINDS = (*UNDOABLE, "undo")
KIND_LABELS = {"update_codes_listed": "Update Codes Listed", "bulk_add": "Bulk Add",
               "undo": "Undo"}


# ------------------------------------------------------------------------------------ the form

class YesNoNA(SelectField):
    """Unmanaged: yes / no / n.a. (n.a.: leave as is on update; managed on add)."""

    def __init__(self, label, **kw):
        super().__init__(label, choices=[SelectChoice("n.a.", "n.a."), SelectChoice("yes", "Yes"),
                                         SelectChoice("no", "No")], default="n.a.", **kw)

    def pre_validate(self, form):
        if self.data not in ("n.a.", "yes", "no"):
            raise FormError("choose yes, no or n.a.")


class BulkForm(ConsoleForm):
    billing_code_group_id = ChoiceOf("Billing Code Group", blank="— choose a group —",
                                     description="Add New Codes: one auth per code of the "
                                                 "group. Not used by Update Codes Listed.")
    allotted_units = NumberText("Allotted Units")
    remaining_units = NumberText("Remaining Units",
                                 description="Add: blank = the allotted units. Update: blank = "
                                             "moves with Allotted Units (used units stay used).")
    unit_alert_level = NumberText("Unit Alert Level")
    exp_alert_days = NumberText("Exp. Alert Days")
    start_date = DateText("Start Date")
    end_date = DateText("End Date")
    unmanaged = YesNoNA("Unmanaged")
    auth_group_id = ChoiceOf("Auth Group", blank="—")
    insurance_company_id = ChoiceOf("Insurance Company", blank="— the client's primary payer —")

    SECTIONS = (
        ("Codes", ("billing_code_group_id",)),
        ("Units", ("allotted_units", "remaining_units", "unit_alert_level", "exp_alert_days")),
        ("Dates", ("start_date", "end_date")),
        ("Options", ("unmanaged", "auth_group_id", "insurance_company_id")),
    )
    ADD_FIELDS = tuple(n for _, names in SECTIONS for n in names)
    UPDATE_FIELDS = tuple(n for n in ADD_FIELDS if n != "billing_code_group_id")
    #: Refused by Update Codes Listed on managed auths for profiles without
    #: "modify remaining units, end date and unmanaged" (rules.bulk says so).
    RESTRICTED = ("remaining_units", "end_date", "unmanaged")

    def raw(self, names) -> dict:
        return {n: (self[n].data or "").strip() for n in names}

    def carried(self) -> dict:
        """The values as typed, for the hidden fields of a confirmation."""
        return {n: self[n].data or "" for n in self.ADD_FIELDS}

    def filled_update(self) -> list[tuple[str, str]]:
        """(label, value as shown) of the fields Update Codes Listed would write."""
        out = []
        for name in self.UPDATE_FIELDS:
            value = (self[name].data or "").strip()
            if not value or (name == "unmanaged" and value == "n.a."):
                continue
            if isinstance(self[name], SelectField):
                value = next((label for choice, label, *_ in self[name].iter_choices()
                              if choice == value), value)
            out.append((self[name].label.text, value))
        return out


# --------------------------------------------------------------------------------- targets

def _whole(text: str | None) -> int | None:
    """A plain whole number a form carried (ASCII digits, fits an id), else None."""
    text = (text or "").strip()
    return int(text) if re.fullmatch(r"[0-9]{1,10}", text) and int(text) < 2**31 else None


def _ids(text: str | None, limit: int = MAX_TICKED) -> list[int]:
    """Ticked row ids from "1,2,3" (anything else is dropped)."""
    found = (_whole(part) for part in (text or "").split(",")[:limit])
    return sorted({i for i in found if i})


def _digest(ids) -> str:
    return hashlib.sha256(",".join(map(str, sorted(ids))).encode()).hexdigest()[:16]


def _count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.subquery()))


@dataclass
class Target:
    """What a bulk form acts on: the auths Update Codes Listed writes (``scope``) and the
    clients Add New Codes adds to."""

    title: str
    back_url: str
    back_label: str
    #: Hidden fields every step carries (besides the form's values).
    carried: dict = field(default_factory=dict)
    single_client: Client | None = None

    def scope(self):
        """SELECT of the auth ids Update Codes Listed writes, or None where it is not offered."""
        return None

    def listed(self) -> int:
        scope = self.scope()
        return 0 if scope is None else _count(scope)

    def client_modes(self) -> list[tuple[str, str, int]]:
        """(mode, label, number of clients) for "Add New Codes to …"."""
        return []

    def clients(self, mode: str):
        """SELECT of the client ids Add New Codes adds to in this mode."""
        raise NotImplementedError

    def where(self) -> str:
        return self.title


class ChartTarget(Target):
    def __init__(self, client: Client):
        super().__init__(title=str(client), single_client=client,
                         back_url=url_for("clients.chart", client_id=client.id,
                                          tab="authorizations"),
                         back_label="Back to the chart")
        self.client = client

    def scope(self):
        return select(Authorization.id).where(Authorization.client_id == self.client.id)

    def clients(self, mode: str):
        return select(Client.id).where(Client.id == self.client.id)

    def where(self) -> str:
        return f"the chart of {self.client}"


class ListTarget(Target):
    """Clients → Authorizations (auths) or Clients → Clients (clients), with their filter."""

    def __init__(self, source: str, view, args: MultiDict, ticked: list[int]):
        self.source, self.view, self.args, self.ticked = source, view, args, ticked
        noun = "Authorizations" if source == "authorizations" else "Clients"
        query = urlencode(list(args.items(multi=True)))
        back = url_for(f"{view.endpoint}.index_view") + (f"?{query}" if query else "")
        super().__init__(title=f"Clients → {noun}", back_url=back,
                         back_label=f"Back to Clients → {noun}",
                         carried={"list_args": query, "ticked": ",".join(map(str, ticked))})

    def scope(self):
        return self.view.filtered_ids(self.args) if self.source == "authorizations" else None

    def clients(self, mode: str):
        matching = self.view.filtered_ids(self.args)
        if self.source == "authorizations":
            a = Authorization
            stmt = select(a.client_id).where(a.id.in_(matching))
            if mode == "ticked":
                stmt = stmt.where(a.id.in_(self.ticked))
            return stmt.distinct()
        stmt = select(Client.id).where(Client.id.in_(matching))
        if mode == "ticked":
            stmt = stmt.where(Client.id.in_(self.ticked))
        return stmt

    def client_modes(self):
        modes = []
        if self.ticked:
            rows = "row" if len(self.ticked) == 1 else "rows"
            modes.append(("ticked", f"the clients of the {len(self.ticked)} ticked {rows}",
                          _count(self.clients("ticked"))))
        modes.append(("all", "every client matching this filter (all pages)",
                      _count(self.clients("all"))))
        return modes

    def filters(self) -> list[tuple[str, str]]:
        """The filter in words: (label, value) of each filter in force, and the search."""
        chosen = self.view.filter_values(self.args)
        names = self.view.filter_choices() if chosen else {}
        out = []
        for flt in self.view.list_filters:
            if flt.arg not in chosen:
                continue
            raw = self.args.get(flt.arg, "")
            if flt.kind == "check":
                out.append((flt.label, "yes"))
            else:
                options = names.get(flt.arg) or (flt.options() if flt.options else [])
                out.append((flt.label, dict(options).get(raw.strip(), raw)))
        if (self.args.get("search") or "").strip():
            out.append(("Search", self.args["search"].strip()))
        return out

    def where(self) -> str:
        words = "; ".join(f"{k}: {v}" for k, v in self.filters()) or "no filter"
        return f"{self.title} ({words})"


def list_args_from(text: str, view) -> MultiDict:
    """The list's filter arguments (and search) out of a query string; nothing else."""
    if len(text) > MAX_LIST_ARGS:
        abort(400, description="The list's filter is too long.")
    wanted = {f.arg for f in view.list_filters} | {"search"}
    try:
        parsed = parse_qsl(text.lstrip("?"), max_num_fields=200)
    except ValueError:
        abort(400, description="The list's filter is not readable.")
    return MultiDict([(k, v[:200]) for k, v in parsed if k in wanted and v])


# ------------------------------------------------------------------------------- the view

@dataclass
class Problem:
    """A refusal shown at the top of a page: the message and the rows it names."""

    message: str
    details: list = field(default_factory=list)
    level: str = "danger"


class BulkView(AccessMixin, BaseView):
    """Every route needs "Bulk add and update authorizations" (403 otherwise)."""

    permission = BULK_UPDATE

    def is_visible(self) -> bool:
        return False  # reached from the chart, the lists and the audit trail

    # -- entry points ------------------------------------------------------------------------
    @expose("/")
    def index(self):
        return redirect(url_for(".from_list", source="authorizations"))

    @expose("/client/<id:client_id>/", methods=("GET", "POST"))
    def client(self, client_id: int):
        client = db.session.get(Client, client_id) if client_id < 2**31 else None
        if client is None:
            abort(404)
        return self._run(ChartTarget(client))

    @expose("/list/<source>/", methods=("GET", "POST"))
    def from_list(self, source: str):
        view = _view(self.admin, source) if source in ("authorizations", "clients") else None
        if view is None:
            abort(404)
        if request.method == "POST":
            args = list_args_from(request.form.get("list_args", ""), view)
            ticked = _ids(request.form.get("ticked"))
        else:
            args = list_args_from(request.query_string.decode("utf-8", "replace"), view)
            ticked = _ids(request.args.get("ticked"))
        return self._run(ListTarget(source, view, args, ticked))

    # -- one flow for every target -------------------------------------------------------------
    def _run(self, target: Target):
        posted = request.method == "POST"
        form = BulkForm(request.form if posted else None)
        self._offer(form, target)
        op = request.form.get("op", "") if posted else ""
        if not posted:
            return self._form_page(form, target)
        if op == "edit":  # "Change the values" on a confirmation
            return self._form_page(form, target, Problem(
                "Nothing was changed: adjust the values, then choose “Add New Codes” or "
                "“Update Codes Listed” again.", level="warning"))
        handlers = {"add": self._add, "apply_add": self._apply_add, "update": self._update,
                    "apply_update": self._apply_update}
        if op not in handlers:
            return self._form_page(form, target, Problem(
                "Choose “Add New Codes” or “Update Codes Listed”."), 400)
        if op in ("update", "apply_update") and target.scope() is None:
            return self._form_page(form, target, Problem(
                "Update Codes Listed works on a list of authorizations: open it from a client's "
                "chart or from Clients → Authorizations."), 400)
        if not form.validate():
            return self._form_page(form, target, Problem(
                "Nothing was changed: correct the fields marked below."), 422)
        try:
            return handlers[op](form, target)
        except DomainError as exc:
            db.session.rollback()
            for name, message in exc.fields.items():
                if name in form:
                    form[name].errors = [*form[name].errors, message]
            return self._form_page(form, target, Problem(exc.message, exc.details),
                                   exc.http_status)

    def _offer(self, form: BulkForm, target: Target) -> None:
        """Choices per request (pick lists change at any time): active items only."""
        form.billing_code_group_id.offer(offered(BillingCodeGroup, BillingCodeGroup.name))
        form.auth_group_id.offer(choices(db.session, AuthGroup))
        if target.single_client is not None:  # the client's payers on file
            payers = sorted((p.insurance_company for p in target.single_client.payers
                             if p.insurance_company.active), key=lambda p: p.name)
        else:
            payers = offered(InsuranceCompany, InsuranceCompany.name)
        form.insurance_company_id.offer(payers)

    def _form_page(self, form, target, problem: Problem | None = None, status: int = 200):
        restricted = () if can(MODIFY_MANAGED_UNITS) else BulkForm.RESTRICTED
        modes = target.client_modes()
        return self.render(
            TEMPLATES + "form.html", form=form, target=target, problem=problem,
            listed=target.listed() if target.scope() is not None else None,
            client_modes=modes, mode=self._mode(target, modes), restricted=restricted,
            filters=target.filters() if isinstance(target, ListTarget) else []), status

    @staticmethod
    def _mode(target, modes) -> str:
        wanted = request.form.get("clients") or ""
        known = [m for m, _, _ in modes]
        return wanted if wanted in known else (known[0] if known else "")

    # -- Add New Codes ---------------------------------------------------------------------------
    def _client_ids(self, target: Target) -> list[int]:
        mode = self._mode(target, target.client_modes()) if target.single_client is None else ""
        stmt = target.clients(mode)
        n = _count(stmt)
        if n == 0:
            raise ValidationError("No client is chosen: tick rows in the list, or choose every "
                                  "client matching the filter.")
        if n > MAX_CLIENTS:
            raise ValidationError(f"{n:,} clients match: Bulk Add takes at most "
                                  f"{MAX_CLIENTS:,} clients at a time. Narrow the filter.")
        return sorted(db.session.scalars(stmt))

    def _add(self, form, target):
        ids = self._client_ids(target)
        raw = form.raw(BulkForm.ADD_FIELDS)
        if target.single_client is not None:  # one client: add at once (undo is one click)
            result = bulk_add(db.session, self.actor, ids, raw,
                              description=self._add_description(form, target, len(ids)))
            db.session.commit()
            return self._done(result.batch_id, target,
                              f"Added {result.count} authorizations to {target.title}.")
        # Several clients: a dry run validates every client (the refusal names them), then
        # the user confirms the number.
        plan = plan_add(db.session, self.actor, ids, raw)
        db.session.rollback()  # a plan only reads; end the read transaction
        group = db.session.get(BillingCodeGroup, int(form.billing_code_group_id.data))
        names = list(db.session.scalars(select(Client).where(Client.id.in_(ids))
                                        .order_by(Client.name_key, Client.id)
                                        .limit(PREVIEW_ROWS)))
        return self.render(TEMPLATES + "confirm_add.html", form=form, target=target,
                           group=group, clients=len(ids), auths=plan.count, names=names,
                           digest=_digest(ids), mode=self._mode(target, target.client_modes()))

    def _apply_add(self, form, target):
        ids = self._client_ids(target)
        expected = request.form.get("expected_clients", "")
        if expected != str(len(ids)) or request.form.get("clients_digest") != _digest(ids):
            raise Conflict(
                f"Nothing was added: the clients chosen changed since you confirmed "
                f"({len(ids)} now). Review the confirmation again.")
        result = bulk_add(db.session, self.actor, ids, form.raw(BulkForm.ADD_FIELDS),
                          description=self._add_description(form, target, len(ids)))
        db.session.commit()
        return self._done(result.batch_id, target, f"Added {result.count} authorizations to "
                                                   f"{len(ids)} clients.")

    def _add_description(self, form, target, n_clients: int) -> str:
        group = db.session.get(BillingCodeGroup, int(form.billing_code_group_id.data or 0) or 0)
        name = group.name if group else "?"
        return (f"Bulk Add of “{name}” to {n_clients} client{'s' if n_clients != 1 else ''} "
                f"from {target.where()}")

    # -- Update Codes Listed ---------------------------------------------------------------------
    def _update(self, form, target):
        plan = plan_update(db.session, self.actor, target.scope(), form.raw(BulkForm.UPDATE_FIELDS))
        db.session.rollback()  # a plan only reads; end the read transaction
        if plan.errors:
            raise ValidationError(
                f"Nothing can be changed: {plan.error_count} of the {plan.matched} listed "
                "authorizations would be invalid. Correct the values (or the filter) and "
                "try again.", details=plan.errors)
        if not plan.matched:
            return self._form_page(form, target, Problem(
                "No authorization is listed: there is nothing to update.", level="warning"))
        if not plan.changes:
            return self._form_page(form, target, Problem(
                f"Nothing to change: the {plan.matched} listed authorizations already have "
                "these values.", level="warning"))
        return self.render(TEMPLATES + "confirm_update.html", form=form, target=target,
                           plan=plan, preview=self._preview(plan),
                           filled=form.filled_update(),
                           group_ignored=bool(form.billing_code_group_id.data))

    def _apply_update(self, form, target):
        expected = _whole(request.form.get("expected_count"))
        if expected is None:
            return self._form_page(form, target, Problem(
                "The confirmation did not say how many authorizations you confirmed: review it "
                "again."), 400)
        filled = ", ".join(f"{label} = {value}" for label, value in form.filled_update())
        result = apply_update(db.session, self.actor, target.scope(),
                              form.raw(BulkForm.UPDATE_FIELDS),
                              expected_count=expected,
                              description=f"Update Codes Listed on {target.where()}: {filled}")
        db.session.commit()
        return self._done(result.batch_id, target,
                          f"Updated {result.count} authorizations: {filled}.")

    @staticmethod
    def _preview(plan: BulkPlan) -> list:
        """The first rows' before → after, as the audit trail shows changes (names of auth
        groups and payers, yes/no) — never every row."""
        rows = [SimpleNamespace(object_type="authorization", label=c.label, changes={
            f: [jsonable(c.before[f]), jsonable(c.after[f])] for f in c.after})
            for c in plan.changes[:PREVIEW_ROWS]]
        formatter = ChangeFormatter(rows)
        return [(row.label, formatter.html(row)) for row in rows]

    def _done(self, batch_id: str, target: Target, message: str):
        flash(message, "success")
        return redirect(url_for(".batch", batch_id=batch_id, back=target.back_url))

    # -- the result of an operation, and undo ---------------------------------------------------
    def _batch(self, batch_id: str) -> AuditBatch:
        batch = db.session.get(AuditBatch, batch_id[:36])
        if batch is None or batch.kind not in SHOWN_KINDS:
            abort(404)
        return batch

    def _back(self) -> str | None:
        target = safe_next(request.values.get("back"))
        return target if target and urlsplit(target).path.startswith("/console/") else None

    @expose("/batch/<batch_id>/")
    def batch(self, batch_id: str):
        batch = self._batch(batch_id)
        records = list(db.session.scalars(
            select(AuditRecord).where(AuditRecord.batch_id == batch.id)
            .order_by(AuditRecord.object_id).limit(PREVIEW_ROWS)))
        total = db.session.scalar(select(func.count()).select_from(AuditRecord)
                                  .where(AuditRecord.batch_id == batch.id))
        related = db.session.get(AuditBatch, batch.undoes_batch_id or batch.undone_by_batch_id
                                 or "") if (batch.undoes_batch_id or batch.undone_by_batch_id) \
            else None
        return self.render(TEMPLATES + "result.html", batch=batch, records=records, total=total,
                           formatter=ChangeFormatter(records), kind_labels=KIND_LABELS,
                           related=related, undoable=batch.kind in UNDOABLE
                           and not batch.undone_by_batch_id, back=self._back(),
                           may_view_audit=can(VIEW_AUDIT))

    @expose("/batch/<batch_id>/undo", methods=("GET", "POST"))
    def undo(self, batch_id: str):
        batch = self._batch(batch_id)
        back = self._back()
        if request.method == "GET" or batch.kind not in UNDOABLE:
            status = 200 if batch.kind in UNDOABLE else 409
            return self._undo_page(batch, back, None if status == 200 else Problem(
                "An undo cannot itself be undone from here."), status=status)
        skip_changed = request.form.get("skip_changed") == "1"
        try:
            result = undo_batch(db.session, self.actor, batch.id, skip_changed=skip_changed)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            # Rows changed since: offer to undo the others (their list is shown).
            offer_others = isinstance(exc, Conflict) and bool(exc.details) and not skip_changed
            return self._undo_page(self._batch(batch_id), back, Problem(exc.message, exc.details),
                                   offer_others=offer_others, status=exc.http_status)
        verb = "removed" if batch.kind == "bulk_add" else "restored"
        flash(f"Undone: {result.count} authorization{'s' if result.count != 1 else ''} "
              f"{verb}.", "success")
        if result.refused:
            flash(f"{len(result.refused)} left as they are (changed since): "
                  + "; ".join(result.refused[:PREVIEW_ROWS])
                  + (" …" if len(result.refused) > PREVIEW_ROWS else ""), "warning")
        return redirect(url_for(".batch", batch_id=result.batch_id, back=back))

    def _undo_page(self, batch, back, problem=None, *, offer_others=False, status=200):
        return self.render(TEMPLATES + "undo.html", batch=batch, back=back, problem=problem,
                           offer_others=offer_others, kind_labels=KIND_LABELS), status


# ------------------------------------------------------------------- the lists' "With selected"

def _from_ticked(source: str):
    def run(view, ids):
        """The ticked rows and the list's filter (from the form's return URL) go to the bulk
        form, which rebuilds the filter on the server."""
        back = urlsplit(request.form.get("url") or "")
        return redirect(url_for("bulk.from_list", source=source) + "?" + urlencode(
            [("ticked", ",".join(str(i) for i in _ids(",".join(ids))))]
            + parse_qsl(back.query)[:200]))
    return run


def add_list_action(view_class, source: str, text: str) -> None:
    """Offer "With selected → ``text``" on a FilteredListView (row checkboxes appear for the
    profiles allowed to run it: "Bulk add and update authorizations")."""
    view_class.action_bulk = action("bulk", text)(_from_ticked(source))
    view_class.action_permissions = {**view_class.action_permissions, "bulk": BULK_UPDATE}


def register(admin) -> None:
    admin.add_view(BulkView(name="Bulk Add or Update", endpoint="bulk", url="/console/bulk"))


