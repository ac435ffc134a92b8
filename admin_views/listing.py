"""Lists with a filter bar. Filters are plain query-string arguments (``division=3``,
``expiring=30``, ``search=hanson``) that the list, its count, its export and any bulk operation
rebuild the same way on the server: :meth:`FilteredListView.filtered_query`. A page costs one
count query, one page query and a fixed number of eager loads — never a query per row."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import request
from sqlalchemy import and_, case, func, literal, literal_column, select, union_all

from extensions import db
from rules import values

from .base import SecureModelView


@dataclass(frozen=True)
class ListFilter:
    """One control of the filter bar: ``arg`` in the query string, parsed by ``parse`` (a
    ValueError ignores the value), turned into a SQL condition by ``condition``."""

    arg: str
    label: str
    condition: Callable[[Any], Any]
    kind: str = "choice"  # choice | date | number | check
    options: Callable[[], list[tuple[str, str]]] | None = None
    parse: Callable[[str], Any] = field(default=lambda raw: values.optional_id(raw))
    hint: str = ""
    #: Choices read from the database: ``choices(arg)`` → SELECT arg, id, label, o1, o2 (see
    #: :func:`choices_of`); the filter bar reads every filter's choices in one UNION.
    choices: Callable[[str], Any] | None = None


def choices_of(model, label=None, *, ordered: bool = False):
    """The choices of a filter on ``model``: every row (inactive ones marked: old records use
    them), by sort order (pick lists) then label."""
    label = label if label is not None else model.name
    shown = case((model.active, label), else_=label + " (inactive)")
    first = model.sort_order if ordered else literal(0)
    return lambda arg: select(literal(arg).label("arg"), model.id.label("id"),
                              shown.label("label"), first.label("o1"), label.label("o2"))


def date_arg(raw: str) -> dt.date:
    return values.date_value(raw)


def days_arg(raw: str) -> int:
    return values.whole_number(raw, maximum=values.MAX_ALERT_DAYS)


def flag_arg(raw: str) -> bool:
    if not values.flag(raw):
        raise ValueError("off")
    return True


class FilteredListView(SecureModelView):
    """A model list whose rows come from :meth:`filtered_query`; subclasses declare
    ``list_filters``, ``sort_columns`` (list column → SQL expression or tuple of them),
    ``default_sort``, :meth:`search_condition` and :meth:`page_query` (joins and eager loads for
    the columns shown).

    The count stops at ``count_cap``: past it the list says "10,000+" and pages with
    previous/next (an exact count of a huge set costs as much as reading it).
    :meth:`count_filtered` gives the exact number when an operation needs it."""

    list_filters: tuple[ListFilter, ...] = ()
    sort_columns: dict[str, Any] = {}
    default_sort: tuple = ()
    search_hint = "Search"
    filter_template = "console/filter_bar.html"
    count_cap = 10_000
    #: Related tables a condition may name, and how to join each: {table: relationship}.
    condition_joins: dict = {}

    # -- the query, rebuilt from arguments -------------------------------------------------
    def filter_values(self, args: Mapping | None = None) -> dict[str, Any]:
        """Each filter's parsed value; blank or unreadable values are left out."""
        args = request.args if args is None else args
        out = {}
        for flt in self.list_filters:
            raw = (args.get(flt.arg) or "").strip()
            if not raw:
                continue
            try:
                value = flt.parse(raw)
            except ValueError:
                continue
            if value is not None:
                out[flt.arg] = value
        return out

    def search_condition(self, term: str):
        return None

    def standing_conditions(self, chosen: dict) -> list:
        """Conditions that hold unless a filter lifts them (e.g. expired auths hidden)."""
        return []

    def conditions(self, args: Mapping | None = None) -> list:
        args = request.args if args is None else args
        chosen = self.filter_values(args)
        found = [flt.condition(chosen[flt.arg]) for flt in self.list_filters
                 if flt.arg in chosen]
        found += self.standing_conditions(chosen)
        term = (args.get("search") or "").strip()
        if term:
            found.append(self.search_condition(term))
        return [c for c in found if c is not None]

    def joined(self, stmt, conds):
        """``stmt`` joined to the related tables the conditions name."""
        named = set()
        for cond in conds:  # the tables a FROM clause would need (not those inside subqueries)
            named.update(getattr(cond, "_from_objects", ()))
        for table, relationship in self.condition_joins.items():
            if table in named:
                stmt = stmt.join(relationship)
        return stmt

    def filtered_query(self, args: Mapping | None = None):
        """``SELECT model WHERE <the list's filters and search>`` over every page, rebuilt from
        ``args`` (default: this request's query string)."""
        conds = self.conditions(args)
        return self.joined(select(self.model), conds).where(*conds)

    def filtered_ids(self, args: Mapping | None = None):
        """The ids of :meth:`filtered_query`'s rows, as a subquery-ready SELECT."""
        conds = self.conditions(args)
        return self.joined(select(self.model.id), conds).where(*conds)

    def count_filtered(self, args: Mapping | None = None, *, cap: int | None = None) -> int:
        """How many rows the filters select (all pages); stops at ``cap`` + 1 when given."""
        ids = self.filtered_ids(args)
        if cap is not None:
            ids = ids.with_only_columns(literal_column("1"), maintain_column_froms=True
                                        ).limit(cap + 1)
        return db.session.scalar(select(func.count()).select_from(ids.subquery()))

    def page_query(self, stmt):
        """Joins and eager loads for what the columns show."""
        return stmt

    def order_by(self, sort_column: str | None, desc: bool) -> list:
        if sort_column in self.sort_columns:
            columns = self.sort_columns[sort_column]
            columns = columns if isinstance(columns, tuple) else (columns,)
            order = [c.desc() if desc else c.asc() for c in columns]
        else:
            order = list(self.default_sort)
        return order + [self.model.id.desc() if desc else self.model.id.asc()]

    # -- Flask-Admin hooks -------------------------------------------------------------------
    def init_search(self) -> bool:
        return True

    def search_placeholder(self) -> str:
        return self.search_hint

    def get_sortable_columns(self):
        return {name: name for name in self.sort_columns}

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        """One count (capped), the page's ids (a lean query: the planner sees only the filters
        and the order), then those rows with what the columns show."""
        count = self.count_filtered(cap=self.count_cap)
        conds = self.conditions()
        order = self.order_by(sort_column, bool(sort_desc))
        ids_query = self.joined(select(self.model.id), [*conds, *order]).where(*conds)
        ids_query = ids_query.order_by(*order)
        page_size = page_size if page_size is not None else self.page_size
        if page_size:
            ids_query = ids_query.limit(page_size).offset((page or 0) * page_size)
        ids = list(db.session.scalars(ids_query))
        if not ids:
            return count, []
        rows = db.session.scalars(self.page_query(select(self.model).where(
            self.model.id.in_(ids)))).unique().all()
        position = {row_id: n for n, row_id in enumerate(ids)}
        return count, sorted(rows, key=lambda row: position[row.id])

    def column_index(self, name: str) -> int | None:
        """The position of a list column (Flask-Admin's sort argument)."""
        return next((i for i, (n, _) in enumerate(self._list_columns) if n == name), None)

    def filter_choices(self) -> dict[str, list[tuple[str, str]]]:
        """Every filter's choices, read in one query (they change at any time: rule 14)."""
        parts = [f.choices(f.arg) for f in self.list_filters if f.choices]
        found: dict[str, list] = {}
        if parts:
            for arg, row_id, label, o1, o2 in db.session.execute(union_all(*parts)):
                found.setdefault(arg, []).append((o1, o2, str(row_id), label))
        return {arg: [(i, label) for _, _, i, label in sorted(rows)]
                for arg, rows in found.items()}

    def filter_bar(self) -> list[dict]:
        """What the filter bar shows: each filter with its options and the current value."""
        chosen, read = self.filter_values(), self.filter_choices()
        return [{"arg": f.arg, "label": f.label, "kind": f.kind, "hint": f.hint,
                 "options": read.get(f.arg, []) if f.choices else (
                     f.options() if f.options else None),
                 "value": request.args.get(f.arg, ""), "active": f.arg in chosen}
                for f in self.list_filters]
