"""Profiles: named sets of permission rules (rules.permissions) that administrators edit, and
the narrowing of a profile's alerts to one division or one user group."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Division, Profile, User, UserGroup

from . import values as v
from .actor import Actor
from .errors import NotFound, ValidationError
from .permissions import MANAGE_USERS, PERMISSIONS


def save_profile(session: Session, actor: Actor, profile_id: int | None, fields: dict) -> Profile:
    """Create (``profile_id`` None) or change a profile. ``fields``: name, description,
    permissions (codes), alert_division_id, alert_user_group_id; absent keys stay as they are.
    An administrator cannot take "manage users" away from their own profile (they would lock
    themselves out of this screen)."""
    actor.require(MANAGE_USERS, "edit profiles")
    profile = None
    if profile_id is not None:
        profile = session.get(Profile, profile_id)
        if profile is None:
            raise NotFound(f"Profile #{profile_id} does not exist.")
    errors, clean = {}, {}
    try:
        if "name" in fields or profile is None:
            clean["name"] = v.text(fields.get("name"), max_length=80, required=True)
    except ValueError as exc:
        errors["name"] = str(exc)
    if "name" in clean:
        same = select(Profile.id).where(func.lower(Profile.name) == clean["name"].lower())
        if profile is not None:
            same = same.where(Profile.id != profile.id)
        if session.scalar(same) is not None:
            errors["name"] = f"“{clean['name']}” is already a profile"
    if "description" in fields:
        try:
            clean["description"] = v.text(fields["description"], max_length=255)
        except ValueError as exc:
            errors["description"] = str(exc)
    if "permissions" in fields:
        codes = set(fields["permissions"] or ())
        unknown = sorted(codes - set(PERMISSIONS))
        if unknown:
            errors["permissions"] = f"unknown permission rule(s): {', '.join(unknown)}"
        elif (profile is not None and MANAGE_USERS in profile.permissions
              and MANAGE_USERS not in codes and actor.user_id is not None):
            me = session.get(User, actor.user_id)
            if me is not None and me.profile_id == profile.id:
                errors["permissions"] = (f"your own profile must keep “{PERMISSIONS[MANAGE_USERS]}”"
                                         ", or you would lock yourself out")
        clean["permissions"] = codes
    for key, model, noun in (("alert_division_id", Division, "Division"),
                             ("alert_user_group_id", UserGroup, "User group")):
        if key not in fields:
            continue
        try:
            ref_id = v.optional_id(fields[key])
        except ValueError as exc:
            errors[key] = str(exc)
            continue
        row = session.get(model, ref_id) if ref_id is not None else None
        if ref_id is not None and row is None:
            errors[key] = f"{noun} #{ref_id} does not exist"
        elif row is not None and not row.active and ref_id != getattr(profile, key, None):
            errors[key] = f"{noun} “{row}” is inactive and cannot be chosen"
        else:
            clean[key] = ref_id
    if errors:
        raise ValidationError(errors)
    if profile is None:
        profile = Profile(name=clean["name"])
        session.add(profile)
    permissions = clean.pop("permissions", None)
    for key, value in clean.items():
        if getattr(profile, key) != value:
            setattr(profile, key, value)
    if permissions is not None and permissions != profile.permissions:
        profile.permissions = permissions
    session.flush()
    return profile
