"""The one family of domain errors. Messages are written for a clinic's staff: they name the
authorization, the field and what to do."""
from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal by the rules. ``code`` is stable (the API returns it)."""

    code = "domain_error"
    http_status = 409

    def __init__(self, message: str, *, fields: dict[str, str] | None = None,
                 details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})
        self.details = list(details or [])

    def __str__(self) -> str:
        return self.message


class ValidationError(DomainError):
    """Bad input: ``fields`` maps each field name to what is wrong with it."""

    code = "validation_error"
    http_status = 422

    def __init__(self, fields_or_message: dict[str, str] | str, *, fields=None, details=None):
        if isinstance(fields_or_message, dict):
            fields = fields_or_message
            message = "; ".join(f"{_label(k)}: {v}" for k, v in fields.items())
        else:
            message = fields_or_message
        super().__init__(message, fields=fields, details=details)


class InsufficientUnits(DomainError):
    """A note needs more units than an authorization (or one of its group) has available."""

    code = "insufficient_units"

    def __init__(self, message: str, *, authorization_id: int, available: int, needed: int):
        super().__init__(message)
        self.authorization_id = authorization_id
        self.available = available
        self.needed = needed


class PermissionDenied(DomainError):
    code = "forbidden"
    http_status = 403


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class Conflict(DomainError):
    """The object is not in a state that allows this (a released note edited, a stale undo…)."""

    code = "conflict"


class NotUsable(DomainError):
    """No authorization lets this note be written (rule 6); ``reasons`` say why for each auth."""

    code = "no_usable_authorization"

    def __init__(self, message: str, *, reasons: list[str] | None = None):
        super().__init__(message, details=reasons)
        self.reasons = list(reasons or [])


FIELD_LABELS = {
    "billing_code_id": "Billing Code",
    "client_id": "Client",
    "start_date": "Start Date",
    "end_date": "End Date",
    "allotted_units": "Allotted Units",
    "remaining_units": "Remaining Units",
    "pending_units": "Pending Units",
    "unit_alert_level": "Unit Alert Level",
    "exp_alert_days": "Exp. Alert Days",
    "auth_number": "Auth #",
    "specific_provider_id": "Specific Provider",
    "insurance_company_id": "Insurance Company",
    "exclude_from_notes": "Exclude from Notes",
    "auth_group_id": "Auth Group",
    "unmanaged": "Unmanaged",
    "is_default": "Default",
    "suspend_alerts": "Suspend Alerts",
    "sliding_scale_pct": "Sliding Scale %",
    "inpatient": "Inpatient",
    "units": "Units",
    "service_date": "Service Date",
    "provider_id": "Provider",
    "authorization_id": "Authorization",
    "reason": "Reason",
}


def _label(field: str) -> str:
    return FIELD_LABELS.get(field, field.replace("_", " ").capitalize())
