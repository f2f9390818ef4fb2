"""Threads are written by the services only; the admin shows them read-only."""

from typing import TypeVar

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import (
    Attachment,
    Collaborator,
    Draft,
    DraftImage,
    EntryRevision,
    Lock,
    Referral,
    StoredFile,
    ThreadEntry,
    ThreadEvent,
)

_M = TypeVar("_M", bound=models.Model)


class ReadOnlyAdmin(admin.ModelAdmin[_M]):
    def has_add_permission(self, request: HttpRequest, obj: _M | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: _M | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: _M | None = None) -> bool:
        return False


class AttachmentInline(admin.TabularInline[Attachment, ThreadEntry]):
    model = Attachment
    extra = 0
    fields = readonly_fields = ("filename", "content_type", "inline", "file")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: ThreadEntry | None = None) -> bool:
        return False


class RevisionInline(admin.StackedInline[EntryRevision, ThreadEntry]):
    """The entry's earlier texts (edit history), read-only."""

    model = EntryRevision
    extra = 0
    fields = readonly_fields = (
        "written_by_name",
        "written_at",
        "replaced_by",
        "replaced_at",
        "title",
        "body",
    )
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: ThreadEntry | None = None) -> bool:
        return False


@admin.register(ThreadEntry)
class ThreadEntryAdmin(ReadOnlyAdmin[ThreadEntry]):
    list_display = ["id", "thread", "kind", "poster_name", "source", "created_at"]
    list_filter = ["kind", "source", "format", "is_system"]
    search_fields = ["body", "poster_name", "message_id", "title"]
    list_select_related = ["thread"]
    inlines = [AttachmentInline, RevisionInline]
    date_hierarchy = "created_at"


@admin.register(ThreadEvent)
class ThreadEventAdmin(ReadOnlyAdmin[ThreadEvent]):
    list_display = ["id", "thread", "kind", "actor_label", "channel", "created_at"]
    list_filter = ["kind", "channel"]
    search_fields = ["actor_label"]


@admin.register(Collaborator)
class CollaboratorAdmin(ReadOnlyAdmin[Collaborator]):
    list_display = ["thread", "user", "role", "is_active", "created_at"]
    list_filter = ["role", "is_active"]
    search_fields = ["user__email", "user__name"]
    list_select_related = ["user"]


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin[Referral]):
    list_display = ["thread", "agent", "team", "department", "created_at"]
    list_filter = ["department", "team"]
    search_fields = ["agent__email", "agent__name"]


@admin.register(StoredFile)
class StoredFileAdmin(ReadOnlyAdmin[StoredFile]):
    list_display = ["sha256", "size", "content_type", "created_at"]
    list_filter = ["content_type"]
    search_fields = ["sha256", "attachments__filename"]
    # the name in storage, never a link: files leave through the download views only
    # (object storage makes no URLs at all, config/s3storage.py)
    fields = readonly_fields = ("sha256", "size", "content_type", "stored_as", "created_at")

    @admin.display(description=_("stored as"))
    def stored_as(self, obj: StoredFile) -> str:
        return obj.file.name or ""


class DraftImageInline(admin.TabularInline[DraftImage, Draft]):
    """The images pasted into the draft, read-only."""

    model = DraftImage
    extra = 0
    fields = readonly_fields = ("name", "content_type", "file")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Draft | None = None) -> bool:
        return False


@admin.register(Draft)
class DraftAdmin(ReadOnlyAdmin[Draft]):
    list_display = ["agent", "namespace", "updated_at"]
    search_fields = ["namespace", "agent__email"]
    inlines = [DraftImageInline]

    def has_delete_permission(self, request: HttpRequest, obj: Draft | None = None) -> bool:
        return True


@admin.register(Lock)
class LockAdmin(ReadOnlyAdmin[Lock]):
    """Locks come and go through the panel; an admin may remove a stuck one."""

    list_display = ["thread", "ticket_or_task", "agent", "expires_at"]
    search_fields = ["thread__ticket__number", "thread__task__number", "agent__email"]
    list_select_related = ["agent", "thread__ticket", "thread__task"]

    @admin.display(description="ticket or task")
    def ticket_or_task(self, obj: Lock) -> str:
        # threads does not import tickets: the reverse one-to-ones by name
        for owner in ("ticket", "task"):
            target = getattr(obj.thread, owner, None)
            if target is not None:
                return str(target)
        return "-"

    def has_delete_permission(self, request: HttpRequest, obj: Lock | None = None) -> bool:
        return True
