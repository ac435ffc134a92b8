"""The domain rules of Authdesk: plain functions over a SQLAlchemy session and an explicit actor.
No Flask here: the console, the API, the CLI and the jobs all call these, so a rule lives once.

Modules: authorizations (fields, create/edit/delete, active status), units (claims, release,
void), notes, availability (rules 6–7), billing (payer, charge, inpatient), alerts, status (the
daily job), picklists, users, audit, locking. Errors: rules.errors."""
from .actor import Actor
from .clock import clinic_today
from .errors import (Conflict, DomainError, InsufficientUnits, NotFound, NotUsable,
                     PermissionDenied, ValidationError)

__all__ = ["Actor", "clinic_today", "Conflict", "DomainError", "InsufficientUnits", "NotFound",
           "NotUsable", "PermissionDenied", "ValidationError"]
