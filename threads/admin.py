"""Threads are written by the services only; the admin shows them read-only."""

from django.contrib import admin

from .models import Attachment, Collaborator, Draft, Referral, StoredFile, ThreadEntry, ThreadEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ["filename", "content_type", "inline", "file"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ThreadEntry)
class ThreadEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "thread", "kind", "poster_name", "source", "created_at"]
    list_filter = ["kind", "source", "format", "is_system"]
    search_fields = ["body_text", "poster_name", "message_id", "title"]
    list_select_related = ["thread"]
    inlines = [AttachmentInline]
    date_hierarchy = "created_at"


@admin.register(ThreadEvent)
class ThreadEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "thread", "kind", "actor_label", "channel", "created_at"]
    list_filter = ["kind", "channel"]
    search_fields = ["actor_label"]


@admin.register(Collaborator)
class CollaboratorAdmin(ReadOnlyAdmin):
    list_display = ["thread", "user", "role", "is_active", "created_at"]
    list_filter = ["role", "is_active"]
    search_fields = ["user__email", "user__name"]
    list_select_related = ["user"]


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    list_display = ["thread", "agent", "team", "department", "created_at"]
    list_filter = ["department", "team"]
    search_fields = ["agent__email", "agent__name"]


@admin.register(StoredFile)
class StoredFileAdmin(ReadOnlyAdmin):
    list_display = ["sha256", "size", "content_type", "created_at"]
    list_filter = ["content_type"]
    search_fields = ["sha256", "attachments__filename"]


@admin.register(Draft)
class DraftAdmin(ReadOnlyAdmin):
    list_display = ["agent", "namespace", "updated_at"]
    search_fields = ["namespace", "agent__email"]

    def has_delete_permission(self, request, obj=None):
        return True
