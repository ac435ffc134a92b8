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
from sqlalchemy import and_, func, select

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


def date_arg(raw: str) -> dt.date:
    return values.date_value(raw)


def days_arg(raw: str) -> int:
    return values.whole_number(raw, maximum=values.MAX_ALERT_DAYS)


def flag_arg(raw: str) -> bool:
    if not values.flag(raw):
        raise ValueError("off")
    return True


def prefix(column, text: str):
    """``column`` starts with ``text``, as a range the column's B-tree index answers (byte order:
    SQLite, and PostgreSQL with a C / C.UTF-8 collation), with LIKE as the exact check."""
    if not text:
        return None
    upper = text[:-1] + chr(ord(text[-1]) + 1)
    return and_(column >= text, column < upper, column.startswith(text, autoescape=True))


def options_of(rows, label=str) -> list[tuple[str, str]]:
    return [(str(r.id), label(r)) for r in rows]


class FilteredListView(SecureModelView):
    """A model list whose rows come from :meth:`filtered_query`; subclasses declare
    ``list_filters``, ``sort_columns`` (list column → SQL expression), ``default_sort`` and
    :meth:`search_condition`, :meth:`page_query` (joins and eager loads for the columns shown)."""

    list_filters: tuple[ListFilter, ...] = ()
    sort_columns: dict[str, Any] = {}
    default_sort: tuple = ()
    search_hint = "Search"
    filter_template = "console/filter_bar.html"

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

    def filtered_query(self, args: Mapping | None = None):
        """``SELECT model WHERE <the list's filters and search>`` over every page, rebuilt from
        ``args`` (default: this request's query string)."""
        return select(self.model).where(*self.conditions(args))

    def filtered_ids(self, args: Mapping | None = None):
        """The ids of :meth:`filtered_query`'s rows, as a subquery-ready SELECT."""
        return select(self.model.id).where(*self.conditions(args))

    def page_query(self, stmt):
        """Joins and eager loads for what the columns show."""
        return stmt

    def order_by(self, sort_column: str | None, desc: bool) -> list:
        if sort_column in self.sort_columns:
            column = self.sort_columns[sort_column]
            order = [column.desc() if desc else column.asc()]
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
        conds = self.conditions()
        count = db.session.scalar(select(func.count()).select_from(self.model).where(*conds))
        stmt = self.page_query(select(self.model).where(*conds))
        stmt = stmt.order_by(*self.order_by(sort_column, bool(sort_desc)))
        page_size = page_size if page_size is not None else self.page_size
        if page_size:
            stmt = stmt.limit(page_size).offset((page or 0) * page_size)
        return count, db.session.scalars(stmt).unique().all()

    def column_index(self, name: str) -> int | None:
        """The position of a list column (Flask-Admin's sort argument)."""
        return next((i for i, (n, _) in enumerate(self._list_columns) if n == name), None)

    def filter_bar(self) -> list[dict]:
        """What the filter bar shows: each filter with its options and the current value."""
        chosen = self.filter_values()
        return [{"arg": f.arg, "label": f.label, "kind": f.kind, "hint": f.hint,
                 "options": f.options() if f.options else None,
                 "value": request.args.get(f.arg, ""), "active": f.arg in chosen}
                for f in self.list_filters]
