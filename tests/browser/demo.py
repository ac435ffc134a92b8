"""What the browser tests know of the demo practice (seeds/demo.py), read from the server's
database: each flow works on its own client, so the tests pass in any order."""
from __future__ import annotations

NOTE_GROUP_CLIENT = ("Hanson", "Mark")       # the 20-session group, Auth Group 1 (read by layout)
NEW_AUTH_CLIENT = ("Scott", "Ethan")
ALERT_CLIENT = ("White", "Henry")            # 90834, 8 units, unit alert level 2
SHORT_CLIENT = ("Martinez", "Evelyn")        # 90837 with 3 units left, Dana Reyes's client
KEYBOARD_CLIENT = ("Robinson", "Abigail")    # 90834, edited from the keyboard
GRID_CLIENT = ("Robinson", "Jackson")        # one auth with a generated number (A-…)


def client_id(server, name) -> int:
    rows = server.query("SELECT id FROM clients WHERE last_name = :l AND first_name = :f",
                        l=name[0], f=name[1])
    assert len(rows) == 1, f"the demo practice has no client {name[0]}, {name[1]}"
    return rows[0].id


def auths_of(server, name, code=None) -> list:
    """The client's auths (id, auth_number, code, units, unit_alert_level), by code."""
    return server.query(
        "SELECT a.id, a.auth_number, b.code, a.allotted_units, a.remaining_units, "
        "a.pending_units, a.unit_alert_level FROM authorizations a "
        "JOIN billing_codes b ON b.id = a.billing_code_id WHERE a.client_id = :c"
        + (" AND b.code = :code" if code else "") + " ORDER BY b.code, a.id",
        c=client_id(server, name), code=code)
BULK_ADD_CLIENTS = (("Thomas", "Mateo"), ("Thomas", "Noah"))   # get "Family therapy" in bulk
