"""Turning raw values (from forms, JSON, CSV) into the types the rules work with, with messages a
clerk can act on. Each parser returns the clean value or raises ValueError with the message."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

#: More units than this on one authorization or note is a typing error, not an authorization.
MAX_UNITS = 100_000
MAX_ALERT_DAYS = 3650
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2199, 12, 31)


def whole_number(value, *, minimum: int = 0, maximum: int = MAX_UNITS) -> int:
    if isinstance(value, bool):
        raise ValueError("must be a whole number")
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?\d{1,12}", text):
            raise ValueError("must be a whole number")
        value = int(text)
    elif isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number")
        value = int(value)
    elif isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise ValueError("must be a whole number")
        value = int(value)
    elif not isinstance(value, int):
        raise ValueError("must be a whole number")
    if value < minimum:
        raise ValueError(f"must be {minimum} or more")
    if value > maximum:
        raise ValueError(f"must be {maximum:,} or less")
    return value


def optional_whole_number(value, **kw) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return whole_number(value, **kw)


def date_value(value) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.date()
    elif isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("must be a date (YYYY-MM-DD)") from None
    elif not isinstance(value, dt.date):
        raise ValueError("must be a date (YYYY-MM-DD)")
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"must be between {EARLIEST.year} and {LATEST.year}")
    return value


def percent(value) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("must be a number from 0 to 100")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("must be a number from 0 to 100") from None
    if not number.is_finite() or number < 0 or number > 100:
        raise ValueError("must be a number from 0 to 100")
    if number != number.quantize(Decimal("0.01")):
        raise ValueError("may have at most two decimals")
    return number.quantize(Decimal("0.01"))


def money(value) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("must be an amount such as 120.00")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("must be an amount such as 120.00") from None
    if not number.is_finite() or number < 0 or number > Decimal("1000000"):
        raise ValueError("must be an amount from 0 to 1,000,000")
    if number != number.quantize(Decimal("0.01")):
        raise ValueError("may have at most two decimals")
    return number.quantize(Decimal("0.01"))


def flag(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"y", "yes", "true", "1", "on", "x"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"", "n", "no", "false", "0", "off"}:
        return False
    raise ValueError("must be yes or no")


def text(value, *, max_length: int, required: bool = False) -> str | None:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValueError("must be text")
    value = value.strip()
    if "\x00" in value:
        raise ValueError("contains a character that is not allowed")
    if not value:
        if required:
            raise ValueError("is required")
        return None
    if len(value) > max_length:
        raise ValueError(f"must be at most {max_length} characters")
    return value


def optional_id(value) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return whole_number(value, minimum=1, maximum=2**31 - 1)
