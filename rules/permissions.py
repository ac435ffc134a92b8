"""The catalogue of permission rules a profile can hold. Which profile holds which rule is data
(models.Profile); only the list of possible rules lives here."""
from __future__ import annotations

MANAGE_USERS = "manage_users"
MANAGE_PICK_LISTS = "manage_pick_lists"
MANAGE_BILLING_CODES = "manage_billing_codes"
VIEW_CLIENTS = "view_clients"
EDIT_CLIENTS = "edit_clients"
VIEW_AUTHORIZATIONS = "view_authorizations"
EDIT_AUTHORIZATIONS = "edit_authorizations"
MODIFY_MANAGED_UNITS = "modify_managed_units"
BULK_UPDATE = "bulk_update"
EXPORT = "export"
WRITE_NOTES = "write_notes"
VIEW_ALL_NOTES = "view_all_notes"
RELEASE_NOTES = "release_notes"
VOID_NOTES = "void_notes"
EXCEED_AUTHORIZED_UNITS = "exceed_authorized_units"
RECEIVE_ALERTS = "receive_alerts"
VIEW_AUDIT = "view_audit"

#: code → the label shown on the profile form, in the order shown.
PERMISSIONS: dict[str, str] = {
    MANAGE_USERS: "Manage users and profiles",
    MANAGE_PICK_LISTS: "Manage pick lists",
    MANAGE_BILLING_CODES: "Manage billing codes, code groups and payers",
    VIEW_CLIENTS: "View clients",
    EDIT_CLIENTS: "Add and edit clients",
    VIEW_AUTHORIZATIONS: "View authorizations",
    EDIT_AUTHORIZATIONS: "Add and edit authorizations",
    MODIFY_MANAGED_UNITS: "Modify remaining units, end date and unmanaged on managed auths",
    BULK_UPDATE: "Bulk add and update authorizations",
    EXPORT: "Export lists",
    WRITE_NOTES: "Write notes",
    VIEW_ALL_NOTES: "See every provider's notes",
    RELEASE_NOTES: "Release notes",
    VOID_NOTES: "Void released notes",
    EXCEED_AUTHORIZED_UNITS: "Exceed authorized units (override, recorded)",
    RECEIVE_ALERTS: "Receive authorization alerts",
    VIEW_AUDIT: "View the audit trail",
}

ALL = frozenset(PERMISSIONS)

#: The profiles seeded out of the box; administrators may change them afterwards.
DEFAULT_PROFILES: dict[str, tuple[str, frozenset[str]]] = {
    "Administrator": ("Users, profiles, pick lists, billing codes, everything.", ALL),
    "Support Staff": (
        "Enter and maintain authorizations, bulk add and update, watch alerts.",
        frozenset({VIEW_CLIENTS, EDIT_CLIENTS, VIEW_AUTHORIZATIONS, EDIT_AUTHORIZATIONS,
                   MODIFY_MANAGED_UNITS, BULK_UPDATE, EXPORT, VIEW_ALL_NOTES, RECEIVE_ALERTS}),
    ),
    "Billing": (
        "Read authorizations and notes, export, release and void notes, receive alerts.",
        frozenset({VIEW_CLIENTS, VIEW_AUTHORIZATIONS, EXPORT, VIEW_ALL_NOTES, RELEASE_NOTES,
                   VOID_NOTES, RECEIVE_ALERTS}),
    ),
    "Provider": (
        "Document services (notes) against authorizations; read-only on auths.",
        frozenset({VIEW_CLIENTS, VIEW_AUTHORIZATIONS, WRITE_NOTES}),
    ),
}
