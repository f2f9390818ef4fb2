from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from . import audit, services
from . import permissions as perms
from .admin_services import ThroughServices, admin_actor, form_changes, refused
from .errors import DomainError
from .forms import AdminPasswordChangeForm
from .models import (
    Agent,
    AuditEntry,
    Client,
    DepartmentAccess,
    Organization,
    OrganizationDomain,
    Role,
    User,
    UserEmail,
)


def _choices(agent_wide: bool) -> list[tuple[str, str]]:
    return [
        (p.key, f"{p.key} — {p.label}") for p in perms.PERMISSIONS if p.agent_wide == agent_wide
    ]


class RoleForm(forms.ModelForm[Role]):
    permissions = forms.MultipleChoiceField(
        choices=_choices(False), widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = Role
        fields = ["name", "permissions", "notes"]


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin[Role]):
    form = RoleForm
    list_display = ["name", "permission_count", "updated_at"]
    search_fields = ["name", "notes"]

    @admin.display(description=_("permissions"))
    def permission_count(self, obj: Role) -> int:
        return len(obj.permissions or [])


class OrganizationDomainInline(admin.TabularInline[OrganizationDomain, Organization]):
    model = OrganizationDomain
    extra = 1


@admin.register(Organization)
class OrganizationAdmin(ThroughServices[Organization], admin.ModelAdmin[Organization]):
    """Through accounts.services, as the API: organization_create / organization_update,
    and the domains inline as one organization_set_domains."""

    list_display = ["name", "sharing", "created_at"]
    list_filter = ["sharing"]
    search_fields = ["name", "domains__domain"]
    inlines = [OrganizationDomainInline]

    def save_model(self, request: HttpRequest, obj: Organization, form: Any, change: Any) -> None:
        actor = admin_actor(request)
        try:
            if change:
                services.organization_update(
                    actor=actor, organization=obj, data=form_changes(form)[0]
                )
                return
            created = services.organization_create(
                actor=actor,
                name=obj.name,
                sharing=obj.sharing,
                notes=obj.notes,
                settings={f: getattr(obj, f) for f in services.ORGANIZATION_SETTINGS},
            )
        except DomainError as exc:
            refused(request, self, exc)
            return
        obj.pk, obj.name, obj.created_at = created.pk, created.name, created.created_at
        obj._state.adding = False

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: Any) -> None:
        if formset.model is not OrganizationDomain:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)  # writes nothing: lists the changes for the admin's log
        kept = [
            f.cleaned_data["domain"]
            for f in formset.forms
            if f.cleaned_data.get("domain") and not f.cleaned_data.get("DELETE")
        ]
        try:
            services.organization_set_domains(
                actor=admin_actor(request), organization=form.instance, domains=kept
            )
        except DomainError as exc:
            refused(request, self, exc)
        return None


class UserEmailInline(admin.TabularInline[UserEmail, User]):
    model = UserEmail
    extra = 0


class DepartmentAccessInline(admin.TabularInline[DepartmentAccess, User]):
    model = DepartmentAccess
    fk_name = "agent"
    extra = 0
    autocomplete_fields = ["department"]


class HelpdeskUserChangeForm(UserChangeForm[User]):
    permissions = forms.MultipleChoiceField(
        choices=_choices(True), widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


class HelpdeskUserCreationForm(UserCreationForm[User]):
    class Meta:
        model = User
        fields = ["email", "username", "name"]


@admin.register(User)
class UserAdmin(ThroughServices[User], BaseUserAdmin[User]):
    form: type[UserChangeForm[User]] = HelpdeskUserChangeForm
    add_form = HelpdeskUserCreationForm
    ordering = ["email"]
    list_display = [
        "email",
        "username",
        "name",
        "is_agent",
        "department",
        "organization",
        "is_active",
    ]
    list_filter = [
        "is_agent",
        "is_helpdesk_admin",
        "is_active",
        "on_vacation",
        "department",
        "organization",
    ]
    search_fields = ["email", "username", "name", "extra_emails__email"]
    autocomplete_fields = ["organization", "department"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["email", "username", "name", "password", "is_active", "timezone"]}),
        (
            _("Agent"),
            {
                "fields": [
                    "is_agent",
                    "is_helpdesk_admin",
                    "department",
                    "role",
                    "permissions",
                    "assigned_only",
                    "on_vacation",
                    "signature",
                ]
            },
        ),
        (_("Client"), {"fields": ["organization", "phone", "notes"]}),
        (
            _("Django"),
            {"classes": ["collapse"], "fields": ["is_superuser", "last_login", "date_joined"]},
        ),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "username", "name", "password1", "password2"],
            },
        )
    ]
    filter_horizontal: ClassVar[list[str]] = []
    change_password_form = AdminPasswordChangeForm  # audited, by the admin as actor

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> Any:
        with audit.acting_for(admin_actor(request)):
            return super().user_change_password(request, id, form_url)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: Any) -> None:
        """Through accounts.services, as the API: user_create for a new person (made an
        agent afterwards), user_update for changes (the agent fields: admins only)."""
        actor = admin_actor(request)
        try:
            if change:
                services.user_update(actor=actor, user=obj, data=form_changes(form)[0])
                return
            created = services.user_create(
                actor=actor,
                email=obj.email,
                name=obj.name,
                username=obj.username,
                password=form.cleaned_data.get("password1") or None,
            )
        except DomainError as exc:
            refused(request, self, exc)
            return
        obj.pk, obj.password, obj.email = created.pk, created.password, created.email
        obj._state.adding = False

    def get_model_perms(self, request: HttpRequest) -> dict[str, bool]:
        """Everyone at once: not listed on the index (Agents and Clients are), but the
        page stays for searches across both and for the links that point at it."""
        if self.model is User:
            return {}
        return super().get_model_perms(request)

    def get_inlines(
        self, request: HttpRequest, obj: User | None
    ) -> list[type[InlineModelAdmin[Any, Any]]]:
        if obj is not None and obj.is_agent:
            return [DepartmentAccessInline, UserEmailInline]
        return [UserEmailInline]


class AgentCreationForm(HelpdeskUserCreationForm):
    class Meta:
        model = User
        fields = ["email", "username", "name", "department", "role"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].required = True
        self.fields["role"].required = True


class ClientChangeForm(UserChangeForm[User]):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


@admin.register(Agent)
class AgentAdmin(UserAdmin):
    """Agents on their own form: sign-in, department, role, permissions, signature."""

    add_form = AgentCreationForm
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "email",
                    "username",
                    "name",
                    "department",
                    "role",
                    "password1",
                    "password2",
                ],
            },
        )
    ]

    list_display = ["email", "username", "name", "department", "role", "is_helpdesk_admin"]
    list_filter = ["is_helpdesk_admin", "is_active", "on_vacation", "department", "role"]
    fieldsets = [
        (None, {"fields": ["email", "username", "name", "password", "is_active", "timezone"]}),
        (
            _("Agent"),
            {
                "fields": [
                    "is_helpdesk_admin",
                    "department",
                    "role",
                    "permissions",
                    "assigned_only",
                    "on_vacation",
                    "signature",
                ]
            },
        ),
        (
            _("Django"),
            {"classes": ["collapse"], "fields": ["is_superuser", "last_login", "date_joined"]},
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).filter(is_agent=True)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: Any) -> None:
        """A new agent: created as a person (user_create), then made an agent of its
        department and role (user_update), both or neither."""
        if change:
            return super().save_model(request, obj, form, change)
        actor, data = admin_actor(request), form.cleaned_data
        try:
            with transaction.atomic():
                created = services.user_create(
                    actor=actor,
                    email=obj.email,
                    name=obj.name,
                    username=obj.username,
                    password=data.get("password1") or None,
                )
                services.user_update(
                    actor=actor,
                    user=created,
                    data={"is_agent": True, "department": data["department"], "role": data["role"]},
                )
        except DomainError as exc:
            refused(request, self, exc)
            return
        obj.pk, obj.password, obj.email = created.pk, created.password, created.email
        obj._state.adding = False
        return None

    def get_inlines(self, request: HttpRequest, obj: User | None) -> list[Any]:
        return [DepartmentAccessInline, UserEmailInline] if obj is not None else []


@admin.register(Client)
class ClientAdmin(UserAdmin):
    """Clients on their own form: contact details and organization, no agent fields
    (and no username: clients sign in with their address)."""

    form = ClientChangeForm
    list_display = ["email", "name", "organization", "phone", "is_active"]
    list_filter = ["is_active", "organization"]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "name", "password1", "password2"]})
    ]
    fieldsets = [
        (None, {"fields": ["email", "name", "password", "is_active", "timezone"]}),
        (_("Client"), {"fields": ["organization", "phone", "notes"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).filter(is_agent=False)

    def get_inlines(self, request: HttpRequest, obj: User | None) -> list[Any]:
        return [UserEmailInline] if obj is not None else []


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    """The audit log, read only for everyone (superusers too): no add, change or delete,
    here or anywhere (the model refuses them). Browsed and exported in the panel
    (/scp/audit/)."""

    list_display = ["at", "action", "actor_label", "ip", "target_type", "target_repr"]
    # (no filter or date hierarchy listing the distinct values of a table this large,
    # and no full count: the panel's page filters and exports it)
    list_filter = ["actor_kind"]
    search_fields = ["action", "actor_label", "target_repr", "target_id"]
    show_full_result_count = False
    list_select_related = ["target_type"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return bool(
            user.is_active and (user.is_superuser or getattr(user, "is_helpdesk_admin", False))
        )
