"""Conversation and audit trail. A thread does not know what owns it."""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.rows import InsertWrittenOnce
from threads.html import derived_body, stored_body


class Channel(models.TextChoices):
    """The surface a change came through (recorded on events)."""

    PANEL = "panel", _("Staff panel")
    PORTAL = "portal", _("Client portal")
    API = "api", _("API")
    EMAIL = "email", _("Email")
    ADMIN = "admin", _("Admin")
    SYSTEM = "system", _("System")


class OneBody:
    """One stored `body` in the row's `format` (threads.html.stored_body decides which);
    `body_html` and `body_text` read it or derive the other format from it, once per
    instance and body. Assigning either (or both, in any order, as before the bodies
    were one column) sets `body`; save() settles it again with the final `format` and
    writes `body` wherever update_fields names either."""

    body: str
    format: str

    def _bodies(self) -> dict[str, str]:
        key = (self.format, self.body)
        cache = self.__dict__.get("_body_cache")
        if cache is None or cache[0] != key:
            cache = self.__dict__["_body_cache"] = (key, {})
        return cache[1]

    def _derived(self, want: str) -> str:
        if want == self.format:
            return self.body
        bodies = self._bodies()
        if want not in bodies:
            bodies[want] = derived_body(self.format, self.body, want)
        return bodies[want]

    def _given(self, side: str, value: str) -> None:
        given = self.__dict__.setdefault("_body_given", {})
        given[side] = value
        self.body = stored_body(self.format, given.get("html"), given.get("text"))
        self._bodies().update(given)

    @property
    def body_html(self) -> str:
        return self._derived("html")

    @body_html.setter
    def body_html(self, value: str) -> None:
        self._given("html", value)

    @property
    def body_text(self) -> str:
        return self._derived("text")

    @body_text.setter
    def body_text(self, value: str) -> None:
        self._given("text", value)

    def save(self, *args: Any, **kwargs: Any) -> None:
        given = self.__dict__.pop("_body_given", None)
        if given:  # the format may have been assigned after the bodies
            self.body = stored_body(self.format, given.get("html"), given.get("text"))
            self._bodies().update(given)
        fields = kwargs.get("update_fields")
        if fields is not None and {"body_html", "body_text"} & set(fields):
            kept = [f for f in fields if f not in ("body_html", "body_text")]
            kwargs["update_fields"] = [*kept, *(["body"] if "body" not in kept else [])]
        super().save(*args, **kwargs)  # type: ignore[misc]


class Thread(models.Model):
    """The container of a ticket's or task's entries and events; its time is its first
    entry's (no column of its own: nothing read one, and it was 8 of the row's 40 bytes)."""

    def __str__(self) -> str:
        return f"Thread {self.pk}"


class ThreadEntry(OneBody, InsertWrittenOnce, models.Model):
    class Kind(models.TextChoices):
        MESSAGE = "message", _("Message")  # from the client or a collaborator
        RESPONSE = "response", _("Response")  # from an agent, sent to the client
        NOTE = "note", _("Internal note")  # agents only

    class Format(models.TextChoices):
        TEXT = "text", _("Plain text")
        HTML = "html", _("HTML")

    class Source(models.TextChoices):
        WEB = "web", _("Web")
        EMAIL = "email", _("Email")
        API = "api", _("API")
        PHONE = "phone", _("Phone")
        OTHER = "other", _("Other")
        SYSTEM = "system", _("System")

    # indexed by threads_entry_thread_time (thread, created_at)
    thread = models.ForeignKey(
        Thread, on_delete=models.CASCADE, related_name="entries", db_index=False
    )
    kind = models.CharField(max_length=16, choices=Kind)
    poster = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    poster_name = models.CharField(max_length=128, blank=True)
    title = models.CharField(max_length=255, blank=True)
    format = models.CharField(max_length=8, choices=Format, default=Format.TEXT)
    # Sanitised HTML or plain text, per `format`; body_html and body_text (OneBody)
    # derive the other
    body = models.TextField()
    source = models.CharField(max_length=16, choices=Source, default=Source.WEB)
    is_system = models.BooleanField(default=False, help_text=_("Written by the system itself."))
    recipients = models.JSONField(default=dict, blank=True)
    # indexed by threads_entry_message_id (a plain index: looked up whole, never LIKE)
    message_id = models.CharField(verbose_name=_("Message-ID"), max_length=255, blank=True)
    email_headers = models.TextField(blank=True)
    ip_address = models.GenericIPAddressField(verbose_name=_("IP address"), null=True, blank=True)
    original_thread = models.ForeignKey(
        Thread,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # partial index in Meta
        help_text=_("Set when the entry came from a ticket merged into this one."),
    )
    # no index of its own: entries are read by thread, in time (threads_entry_thread_time)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    editor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # partial index in Meta
    )
    # The entry's attachments as a list, on entries read by threads.selectors.entries_for
    # (a prefetch's to_attr) or entry_list; not a column
    attachment_list: list["Attachment"]

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "thread entries"
        indexes = [
            models.Index(fields=["thread", "created_at"], name="threads_entry_thread_time"),
            # only entries that came by mail have a Message-ID; lookups are of one
            models.Index(
                fields=["message_id"],
                name="threads_entry_message_id",
                condition=~models.Q(message_id=""),
            ),
            # few entries were edited or came from a merged ticket: only those are
            # indexed (for SET NULL when the editor or the old thread goes)
            models.Index(
                fields=["editor"],
                name="threads_entry_editor",
                condition=models.Q(editor__isnull=False),
            ),
            models.Index(
                fields=["original_thread"],
                name="threads_entry_original_thread",
                condition=models.Q(original_thread__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.poster_name or '-'}"

    @property
    def is_public(self) -> bool:
        return self.kind != self.Kind.NOTE


class EntryRevision(OneBody, models.Model):
    """An earlier text of an edited entry (osTicket's edit history, the `pid` chain): each
    edit keeps the text it replaced, written in the edit's transaction
    (threads.services.entry_edit)."""

    entry = models.ForeignKey(ThreadEntry, on_delete=models.CASCADE, related_name="revisions")
    title = models.CharField(max_length=255, blank=True)
    format = models.CharField(max_length=8, choices=ThreadEntry.Format)
    body = models.TextField()  # as ThreadEntry.body
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Who wrote this text (the poster, or the editor of an earlier edit)."),
    )
    written_by_name = models.CharField(max_length=128, blank=True)
    written_at = models.DateTimeField(help_text=_("When this text was written."))
    replaced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    replaced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["entry", "replaced_at", "id"]

    def __str__(self) -> str:
        return f"Revision of entry {self.entry_id} ({self.written_at:%Y-%m-%d %H:%M})"


class ThreadEvent(InsertWrittenOnce, models.Model):
    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        MESSAGE = "message", _("Client message posted")
        RESPONSE = "response", _("Response posted")
        NOTE = "note", _("Internal note posted")
        ASSIGNED = "assigned", _("Assigned")
        RELEASED = "released", _("Released")
        TRANSFERRED = "transferred", _("Transferred")
        REFERRED = "referred", _("Referred")
        STATUS_CHANGED = "status_changed", _("Status changed")
        PRIORITY_CHANGED = "priority_changed", _("Priority changed")
        DUE_DATE_CHANGED = "due_date_changed", _("Due date changed")
        ANSWERED_CHANGED = "answered_changed", _("Marked answered or unanswered")
        OVERDUE = "overdue", _("Marked overdue")
        EDITED = "edited", _("Edited")
        RESENT = "resent", _("Response resent")
        MERGED = "merged", _("Merged")
        UNMERGED = "unmerged", _("Unmerged")
        SPLIT = "split", _("Ticket created from an entry")
        LINKED = "linked", _("Linked")
        UNLINKED = "unlinked", _("Unlinked")
        COLLABORATOR_ADDED = "collaborator_added", _("Collaborator added")
        COLLABORATOR_REMOVED = "collaborator_removed", _("Collaborator removed")
        FILTER_MATCHED = "filter_matched", _("Ticket filters matched")
        # on a task's own thread
        CLOSED = "closed", _("Closed")
        REOPENED = "reopened", _("Reopened")
        DELETED = "deleted", _("Deleted")
        # on a ticket's thread, about one of its tasks
        TASK_CREATED = "task_created", _("Task created")
        TASK_CLOSED = "task_closed", _("Task closed")
        TASK_REOPENED = "task_reopened", _("Task reopened")
        TASK_DELETED = "task_deleted", _("Task deleted")

    # indexed by threads_event_thread_time (thread, created_at)
    thread = models.ForeignKey(
        Thread, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    kind = models.CharField(max_length=32, choices=Kind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=128, blank=True)
    channel = models.CharField(max_length=16, choices=Channel, default=Channel.SYSTEM)
    data = models.JSONField(default=dict, blank=True, help_text=_("Before and after values."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["thread", "created_at"], name="threads_event_thread_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.actor_label or '-'}"


class Collaborator(models.Model):
    class Role(models.TextChoices):
        CC = "cc", _("Cc")
        BCC = "bcc", _("Bcc")

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="collaborators")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collaborations"
    )
    is_active = models.BooleanField(default=True)
    role = models.CharField(max_length=4, choices=Role, default=Role.CC)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["thread", "user"], name="threads_one_collaboration")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class Referral(models.Model):
    """Visibility given to an agent, team or department without a transfer."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="referrals")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey(
        "routing.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    department = models.ForeignKey(
        "routing.Department", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(agent__isnull=False, team__isnull=True, department__isnull=True)
                    | models.Q(agent__isnull=True, team__isnull=False, department__isnull=True)
                    | models.Q(agent__isnull=True, team__isnull=True, department__isnull=False)
                ),
                name="threads_referral_one_target",
            ),
            models.UniqueConstraint(
                fields=["thread", "agent"],
                condition=models.Q(agent__isnull=False),
                name="threads_referral_agent_once",
            ),
            models.UniqueConstraint(
                fields=["thread", "team"],
                condition=models.Q(team__isnull=False),
                name="threads_referral_team_once",
            ),
            models.UniqueConstraint(
                fields=["thread", "department"],
                condition=models.Q(department__isnull=False),
                name="threads_referral_dept_once",
            ),
        ]

    def __str__(self) -> str:
        return f"Referral to {self.agent or self.team or self.department}"

    @property
    def target(self) -> models.Model | None:
        """The agent, team or department (threads does not import routing)."""
        return self.agent or self.team or self.department


class Lock(models.Model):
    """Collision avoidance: the agent composing on a thread (a ticket's, a task's) holds
    it for a while. The owner's services decide who may take and break it."""

    thread = models.OneToOneField(Thread, on_delete=models.CASCADE, related_name="lock")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Thread {self.thread_id} locked by {self.agent} until {self.expires_at:%H:%M:%S}"

    @property
    def is_active(self) -> bool:
        return self.expires_at > timezone.now()


def stored_file_path(instance: "StoredFile", filename: str) -> str:
    sha = instance.sha256
    return f"files/{sha[:2]}/{sha[2:4]}/{sha}"


class StoredFile(models.Model):
    """File content, stored once per SHA-256 through Django's storage API."""

    sha256 = models.CharField(verbose_name=_("SHA-256"), max_length=64, unique=True)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=128, default="application/octet-stream")
    file = models.FileField(upload_to=stored_file_path, max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.sha256[:12]} ({self.size} bytes)"


class Attachment(models.Model):
    entry = models.ForeignKey(ThreadEntry, on_delete=models.CASCADE, related_name="attachments")
    file = models.ForeignKey(StoredFile, on_delete=models.PROTECT, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=128, default="application/octet-stream")
    inline = models.BooleanField(default=False)
    content_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename

    @property
    def size(self) -> int:
        return self.file.size


class Draft(models.Model):
    """An agent's unsent reply or note, one per agent per namespace (e.g. ticket.42.reply)."""

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="drafts"
    )
    namespace = models.CharField(max_length=64)
    body = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "namespace"], name="threads_one_draft_per_namespace"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent} / {self.namespace}"


class DraftImage(models.Model):
    """An image pasted into a draft: the editor names it in the body
    (`src="cid:pasted-image-N.png"`) and sends it with the autosave, so the draft shows
    it again after a reload (threads.selectors.draft_for). Gone with its draft; its file
    then goes with the orphaned-file cleanup."""

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="images")
    name = models.CharField(max_length=32)
    file = models.ForeignKey(StoredFile, on_delete=models.PROTECT, related_name="+")
    content_type = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["draft", "name"], name="threads_one_draft_image_name")
        ]

    def __str__(self) -> str:
        return f"{self.draft_id} / {self.name}"
