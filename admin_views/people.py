"""Administration → Users, Profiles and Providers. Users are created with a password through
rules.users (at least 12 characters, stored hashed; never shown), get a profile, a user group and
optionally the provider they document as, and are disabled rather than deleted. Profiles are the
permission rules of rules.permissions as checkboxes, plus the narrowing of their alerts. Password
resets and "change my password" live with the security screens."""
from __future__ import annotations

from sqlalchemy import select
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from extensions import db
from models import Division, Profile, Provider, User, UserGroup
from rules.permissions import MANAGE_USERS, PERMISSIONS
from rules.picklists import choices
from rules.profiles import save_profile
from rules.users import create_user, set_active, update_user

from .forms import Checkboxes, ChoiceOf, ConsoleForm, ConsoleModelView, Unique, offered, run_rule


class UserEditForm(ConsoleForm):
    full_name = StringField("Full Name", [DataRequired(), Length(max=120)])
    email = StringField("Email", [Optional(), Length(max=255)])
    profile_id = ChoiceOf("Profile", blank=None)
    user_group_id = ChoiceOf("User Group")
    provider_id = ChoiceOf("Provider (documents notes as)", blank="— not a provider —")
    active = BooleanField("Active (may log in)")


class UserCreateForm(ConsoleForm):
    username = StringField("Username", [DataRequired(), Length(max=80),
                                        Unique(User.username, "user")])
    full_name = StringField("Full Name", [DataRequired(), Length(max=120)])
    email = StringField("Email", [Optional(), Length(max=255)])
    password = PasswordField("Password (at least 12 characters)", [DataRequired()])
    profile_id = ChoiceOf("Profile", blank=None)
    user_group_id = ChoiceOf("User Group")
    provider_id = ChoiceOf("Provider (documents notes as)", blank="— not a provider —")


class UserView(ConsoleModelView):
    permission = MANAGE_USERS
    allow_delete = False
    column_list = ("username", "full_name", "profile", "user_group", "provider", "active",
                   "last_login_at")
    column_labels = {"full_name": "Full Name", "user_group": "User Group",
                     "last_login_at": "Last Login"}
    column_searchable_list = ("username", "full_name")
    column_filters = ("active",)
    column_default_sort = "username"
    column_sortable_list = ("username", "full_name", "active", "last_login_at")

    def get_create_form(self):
        return UserCreateForm

    def get_edit_form(self):
        return UserEditForm

    def offer_choices(self, form, obj=None):
        form.profile_id.offer(db.session.scalars(select(Profile).order_by(Profile.name)))
        form.user_group_id.offer(choices(db.session, UserGroup, keep_id=getattr(
            obj, "user_group_id", None)))
        taken = select(User.provider_id).where(User.provider_id.is_not(None))
        if obj is not None:
            taken = taken.where(User.id != obj.id)
        form.provider_id.offer([p for p in offered(Provider, Provider.last_name,
                                                   Provider.first_name,
                                                   keep=[getattr(obj, "provider_id", None)])
                                if p.id not in set(db.session.scalars(taken))])

    def _links(self, form) -> dict:
        return {"user_group_id": form.user_group_id.data, "provider_id": form.provider_id.data}

    def create_model(self, form):
        def create():
            profile = db.session.get(Profile, form.profile_id.chosen_id)
            user = create_user(db.session, self.actor, username=form.username.data,
                               full_name=form.full_name.data, password=form.password.data,
                               profile_name=profile.name if profile else "",
                               email=form.email.data or None)
            return update_user(db.session, self.actor, user.id, self._links(form))
        return run_rule(create, form) or False

    def update_model(self, form, model):
        def update():
            update_user(db.session, self.actor, model.id, {
                "full_name": form.full_name.data, "email": form.email.data,
                "profile_id": form.profile_id.data, **self._links(form)})
            if form.active.data != model.active:
                set_active(db.session, self.actor, model.id, form.active.data)
        return bool(run_rule(update, form))


class ProfileForm(ConsoleForm):
    name = StringField("Name", [DataRequired(), Length(max=80)])
    description = StringField("Description", [Length(max=255)])
    permissions = Checkboxes("Permission rules", choices=list(PERMISSIONS.items()))
    alert_division_id = ChoiceOf("Alerts only for clients of division", blank="— every division —")
    alert_user_group_id = ChoiceOf("Alerts only for providers of user group",
                                   blank="— every user group —")


class ProfileView(ConsoleModelView):
    permission = MANAGE_USERS
    allow_delete = False
    form = ProfileForm
    column_list = ("name", "description", "rules", "alert_division", "alert_user_group")
    column_labels = {"rules": "Permission rules", "alert_division": "Alerts: Division",
                     "alert_user_group": "Alerts: User Group"}
    column_formatters = {"rules": lambda v, c, m, n: ", ".join(
        label for code, label in PERMISSIONS.items() if code in m.permissions)}
    column_default_sort = "name"
    column_sortable_list = ("name",)

    def offer_choices(self, form, obj=None):
        form.alert_division_id.offer(choices(db.session, Division,
                                             keep_id=getattr(obj, "alert_division_id", None)))
        form.alert_user_group_id.offer(choices(
            db.session, UserGroup, keep_id=getattr(obj, "alert_user_group_id", None)))

    def _save(self, form, profile_id):
        return run_rule(lambda: save_profile(db.session, self.actor, profile_id, {
            "name": form.name.data, "description": form.description.data,
            "permissions": form.permissions.data or [],
            "alert_division_id": form.alert_division_id.data,
            "alert_user_group_id": form.alert_user_group_id.data}), form)

    def create_model(self, form):
        return self._save(form, None) or False

    def update_model(self, form, model):
        return bool(self._save(form, model.id))


class ProviderForm(ConsoleForm):
    first_name = StringField("First Name", [DataRequired(), Length(max=80)])
    last_name = StringField("Last Name", [DataRequired(), Length(max=80)])
    credentials = StringField("Credentials (LCSW, MD, …)", [Length(max=40)])
    npi = StringField("NPI", [Optional(), Regexp(r"^\d{10}$", message="must be 10 digits")])
    user_group_id = ChoiceOf("User Group")
    active = BooleanField("Active", default=True)

    def populate_obj(self, provider):
        for name in ("first_name", "last_name", "credentials", "npi"):
            setattr(provider, name, (getattr(self, name).data or "").strip() or None)
        provider.user_group_id = self.user_group_id.chosen_id
        provider.active = self.active.data


class ProviderView(ConsoleModelView):
    permission = MANAGE_USERS
    allow_delete = False
    form = ProviderForm
    column_list = ("last_name", "first_name", "credentials", "npi", "user_group", "user",
                   "active")
    column_labels = {"npi": "NPI", "user_group": "User Group", "user": "Login"}
    column_searchable_list = ("last_name", "first_name")
    column_filters = ("active",)
    column_default_sort = "last_name"
    column_sortable_list = ("last_name", "first_name", "active")

    def offer_choices(self, form, obj=None):
        form.user_group_id.offer(choices(db.session, UserGroup,
                                         keep_id=getattr(obj, "user_group_id", None)))


def register(admin) -> None:
    admin.add_view(UserView(User, name="Users", category="Administration", endpoint="users",
                            url="/console/users"))
    admin.add_view(ProfileView(Profile, name="Profiles", category="Administration",
                               endpoint="profiles", url="/console/profiles"))
    admin.add_view(ProviderView(Provider, name="Providers", category="Administration",
                                endpoint="providers", url="/console/providers"))
