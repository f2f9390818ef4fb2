from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.utils.translation import gettext_lazy as _

from . import permissions as perms
from .models import DepartmentAccess, Organization, OrganizationDomain, Role, User, UserEmail


def _choices(agent_wide: bool):
    return [
        (p.key, f"{p.key} — {p.label}") for p in perms.PERMISSIONS if p.agent_wide == agent_wide
    ]


class RoleForm(forms.ModelForm):
    permissions = forms.MultipleChoiceField(
        choices=_choices(False), widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = Role
        fields = ["name", "permissions", "notes"]


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    form = RoleForm
    list_display = ["name", "permission_count", "updated_at"]
    search_fields = ["name", "notes"]

    @admin.display(description=_("permissions"))
    def permission_count(self, obj):
        return len(obj.permissions or [])


class OrganizationDomainInline(admin.TabularInline):
    model = OrganizationDomain
    extra = 1


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "sharing", "created_at"]
    list_filter = ["sharing"]
    search_fields = ["name", "domains__domain"]
    inlines = [OrganizationDomainInline]


class UserEmailInline(admin.TabularInline):
    model = UserEmail
    extra = 0


class DepartmentAccessInline(admin.TabularInline):
    model = DepartmentAccess
    fk_name = "agent"
    extra = 0
    autocomplete_fields = ["department"]


class HelpdeskUserChangeForm(UserChangeForm):
    permissions = forms.MultipleChoiceField(
        choices=_choices(True), widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


class HelpdeskUserCreationForm(UserCreationForm):
    class Meta:
        model = User
        fields = ["email", "username", "name"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = HelpdeskUserChangeForm
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
    filter_horizontal: list[str] = []

    def get_inlines(self, request, obj):
        if obj is not None and obj.is_agent:
            return [DepartmentAccessInline, UserEmailInline]
        return [UserEmailInline]
