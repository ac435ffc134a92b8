"""The SQLAlchemy handle, the declarative base and the column types every model shares."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Integer, MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Named constraints so that Alembic can create, compare and drop them on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def utcnow() -> dt.datetime:
    """Naive UTC timestamp (both databases store it as given)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class _ScaledDecimal(TypeDecorator):
    """A decimal with two places stored as an integer number of hundredths.

    SQLite has no exact decimal type; money and percentages must not drift through floats, so
    both databases store whole hundredths and Python sees ``Decimal``.
    """

    impl = Integer
    cache_ok = True
    python_type = Decimal
    SCALE = Decimal("0.01")

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(str(value)).quantize(self.SCALE, rounding=ROUND_HALF_UP)
        return int(value * 100)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(self.SCALE)


class Money(_ScaledDecimal):
    """Dollars and cents, stored as cents."""

    cache_ok = True


class Percent(_ScaledDecimal):
    """A percentage with two decimals (37.50), stored as hundredths of a percent."""

    cache_ok = True
