from django.contrib import admin, messages
from django.db.models import Q

from accounts.errors import DomainError

from . import services
from .models import OutboxTask


@admin.register(OutboxTask)
class OutboxTaskAdmin(admin.ModelAdmin):
    """Read-only: what is waiting, running or given up; given-up rows can be retried."""

    list_display = ["task", "arguments", "state", "attempts", "next_attempt_at", "created_at"]
    list_filter = ["state", "task"]
    search_fields = ["task", "last_error"]
    # sealed arguments (sign-in links, password hashes) are never loaded nor shown here
    exclude = ["sealed"]
    readonly_fields = [f.name for f in OutboxTask._meta.fields if f.name != "sealed"]
    actions = ["retry"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("sealed").annotate(is_sealed=~Q(sealed=""))

    @admin.display(description="arguments")
    def arguments(self, obj):
        return "(sealed)" if obj.is_sealed else f"{obj.args} {obj.kwargs or ''}".strip()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Retry the given-up tasks")
    def retry(self, request, queryset):
        try:
            count = services.outbox_retry(
                actor=request.user, ids=list(queryset.values_list("pk", flat=True))
            )
        except DomainError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"{count} task(s) will run again.")
