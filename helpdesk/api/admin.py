"""Admin pages of API keys and agent tokens (they live in accounts; registered here,
beside the API that uses them). New keys are made with `manage.py create_api_key`
(the key is shown once); here admins change, scope and deactivate them."""

from django import forms
from django.contrib import admin, messages

from accounts.admin_services import ThroughServices, admin_actor, form_changes, refused
from accounts.apikeys import api_key_update, parse_networks, token_revoke
from accounts.errors import DomainError, NotVisible, ValidationFailed
from accounts.models import AgentToken, ApiKey


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = [
            "name",
            "is_active",
            "allowed_ips",
            "can_create_tickets",
            "can_exec_cron",
            "is_mail_relay",
            "all_departments",
            "read_departments",
            "write_departments",
            "notes",
        ]

    def clean_allowed_ips(self):
        try:  # the service's rule, shown on the field
            return parse_networks(self.cleaned_data["allowed_ips"])
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.message) from None


@admin.register(ApiKey)
class ApiKeyAdmin(ThroughServices, admin.ModelAdmin):
    """Changes go through accounts.apikeys.api_key_update (as any other channel would)."""

    form = ApiKeyForm
    list_display = [
        "name",
        "key_prefix",
        "is_active",
        "can_create_tickets",
        "can_exec_cron",
        "is_mail_relay",
        "all_departments",
        "last_used_at",
    ]
    list_filter = [
        "is_active",
        "can_create_tickets",
        "can_exec_cron",
        "is_mail_relay",
        "all_departments",
    ]
    search_fields = ["name", "key_prefix", "notes"]
    readonly_fields = ["key_prefix", "created_at", "last_used_at"]
    filter_horizontal = ["read_departments", "write_departments"]

    def has_add_permission(self, request):
        return False  # create_api_key shows the key once; the admin never could

    def save_model(self, request, obj, form, change):
        data, scopes = form_changes(form)
        try:
            api_key_update(actor=admin_actor(request), key=obj, data=data, scopes=scopes)
        except DomainError as exc:
            refused(request, self, exc)


@admin.register(AgentToken)
class AgentTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "token_prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "token_prefix", "user__email", "user__username"]
    readonly_fields = [
        "user",
        "name",
        "token_prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        """Each through accounts.apikeys.token_revoke, as the API's DELETE."""
        actor, count = admin_actor(request), 0
        for token in queryset.filter(revoked_at__isnull=True):
            try:
                token_revoke(actor=actor, token=token)
            except NotVisible as exc:
                self.message_user(request, f"{token}: {exc.message}", messages.ERROR)
                continue
            count += 1
        self.message_user(request, f"{count} token(s) revoked.")
