from django.contrib import admin

from accounts.admin_services import SingletonAdmin

from .models import JobRun, RetentionSettings


@admin.register(RetentionSettings)
class RetentionSettingsAdmin(SingletonAdmin):
    """Edited on the one "Helpdesk settings" page (helpdesk.adminsite), with the others."""


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    """Runs as the runner recorded them: read only (the health page sums them up)."""

    list_display = ("job", "via", "started_at", "duration_ms", "result", "count")
    list_filter = ("result", "job", "via")
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in JobRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
