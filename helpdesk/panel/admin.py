from django.contrib import admin

from accounts.admin_services import SingletonAdmin

from .models import AgentPreferences, PanelSettings, SavedQueue, TotpDevice


@admin.register(PanelSettings)
class PanelSettingsAdmin(SingletonAdmin):
    """One row, a section of the admin's "Helpdesk settings" page."""


@admin.register(SavedQueue)
class SavedQueueAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "is_shared", "updated_at"]
    list_filter = ["is_shared"]


@admin.register(TotpDevice)
class TotpDeviceAdmin(admin.ModelAdmin):
    """Admins can only see whether an agent has a device and remove it (lost phone)."""

    list_display = ["agent", "confirmed_at", "created_at"]
    fields = ["agent", "confirmed_at", "created_at"]
    readonly_fields = ["agent", "confirmed_at", "created_at"]  # every one of them

    def has_add_permission(self, request):
        return False


@admin.register(AgentPreferences)
class AgentPreferencesAdmin(admin.ModelAdmin):
    list_display = ["agent", "language", "page_size"]
