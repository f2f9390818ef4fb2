"""Admin pages of API keys and agent tokens (they live in accounts; registered here,
beside the API that uses them). New keys are made with `manage.py create_api_key`
(the key is shown once); here admins change, scope and deactivate them."""

from django.contrib import admin
from django.utils import timezone

from accounts.apikeys import parse_networks
from accounts.errors import ValidationFailed
from accounts.models import AgentToken, ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "key_prefix",
        "is_active",
        "can_create_tickets",
        "can_exec_cron",
        "is_mail_relay",
        "last_used_at",
    ]
    list_filter = ["is_active", "can_create_tickets", "can_exec_cron", "is_mail_relay"]
    search_fields = ["name", "key_prefix", "notes"]
    readonly_fields = ["key_prefix", "created_at", "last_used_at"]
    filter_horizontal = ["read_departments", "write_departments"]

    def has_add_permission(self, request):
        return False  # create_api_key shows the key once; the admin never could

    def save_model(self, request, obj, form, change):
        try:
            obj.allowed_ips = parse_networks(obj.allowed_ips)
        except ValidationFailed as exc:
            self.message_user(request, str(exc), level="error")
            return
        super().save_model(request, obj, form, change)


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
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} token(s) revoked.")
