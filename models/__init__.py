"""The data model: one module per aggregate. Importing this package registers every table."""
from .base import Base, Money, Percent, db, utcnow
from .picklists import PICK_LISTS, AuthGroup, ClientGroup, Division, PickListItem, UserGroup
from .people import ApiToken, Profile, ProfilePermission, Provider, User
from .billing import BillingCode, BillingCodeGroup, InsuranceCompany, billing_code_group_members
from .clients import Client, ClientPayer, client_client_groups, name_key
from .authorizations import Authorization, Counter
from .notes import DRAFT, NOTE_STATUSES, RELEASED, VOIDED, Note, NoteClaim
from .audit import AuditBatch, AuditRecord
from .alerts import (ALERT_KIND_LABELS, ALERT_KINDS, EXHAUSTED, EXPIRED, EXPIRING, UNITS, Alert,
                     AlertAcknowledgement)

__all__ = [
    "Base", "Money", "Percent", "db", "utcnow",
    "PICK_LISTS", "AuthGroup", "ClientGroup", "Division", "PickListItem", "UserGroup",
    "ApiToken", "Profile", "ProfilePermission", "Provider", "User",
    "BillingCode", "BillingCodeGroup", "InsuranceCompany", "billing_code_group_members",
    "Client", "ClientPayer", "client_client_groups", "name_key",
    "Authorization", "Counter",
    "DRAFT", "NOTE_STATUSES", "RELEASED", "VOIDED", "Note", "NoteClaim",
    "AuditBatch", "AuditRecord",
    "ALERT_KIND_LABELS", "ALERT_KINDS", "EXHAUSTED", "EXPIRED", "EXPIRING", "UNITS", "Alert",
    "AlertAcknowledgement",
]
