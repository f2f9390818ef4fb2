"""The email channel's own rows: mailboxes, messages in and out, templates, alert settings.

Domain rows (tickets, entries, departments) are never changed here; where the mail
channel needs more about one, it keeps it in its own model pointing at it.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.crypto import EncryptedTextField
from accounts.singleton import SingletonSettings


class Mailbox(models.Model):
    """A department address fetched over IMAP or POP3 (osTicket's email account)."""

    class Protocol(models.TextChoices):
        IMAP = "imap", "IMAP"
        POP3 = "pop3", "POP3"

    class Security(models.TextChoices):
        SSL = "ssl", _("TLS from the start (IMAPS, POP3S)")
        STARTTLS = "starttls", _("STARTTLS")
        NONE = "none", _("None (test servers only)")

    class AfterImport(models.TextChoices):
        MOVE = "move", _("Move to the archive folder (IMAP)")
        DELETE = "delete", _("Delete from the server")
        MARK_SEEN = "seen", _("Leave it, marked as seen (IMAP); leave it (POP3)")

    name = models.CharField(max_length=128, unique=True)
    address = models.EmailField(unique=True, help_text=_("The address people write to."))
    department = models.ForeignKey(
        "routing.Department",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("New tickets from this mailbox go here (filters and topics may change it)."),
    )
    topic = models.ForeignKey(
        "routing.HelpTopic", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    priority = models.ForeignKey(
        "tickets.Priority", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    protocol = models.CharField(max_length=8, choices=Protocol, default=Protocol.IMAP)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(null=True, blank=True, help_text=_("Empty: the default."))
    security = models.CharField(max_length=10, choices=Security, default=Security.SSL)
    username = models.CharField(max_length=255)
    password = EncryptedTextField(max_length=255, blank=True)  # encrypted at rest
    folder = models.CharField(max_length=255, default="INBOX", help_text=_("IMAP only."))
    archive_folder = models.CharField(max_length=255, blank=True, default="Archive")
    after_import = models.CharField(
        max_length=8, choices=AfterImport, default=AfterImport.MARK_SEEN
    )
    max_per_fetch = models.PositiveIntegerField(default=30)
    fetch_interval_minutes = models.PositiveIntegerField(default=5)
    no_autoresponse = models.BooleanField(
        default=False, help_text=_("Never autorespond to mail arriving here.")
    )
    is_active = models.BooleanField(_("enabled"), default=True)

    # fetch bookkeeping (not edited by hand)
    last_fetch_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    lock_token = models.CharField(max_length=32, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "mailboxes"

    def __str__(self):
        return f"{self.name} <{self.address}>"

    def clean(self):
        self.address = (self.address or "").strip().lower()
        if self.protocol == self.Protocol.POP3 and self.after_import == self.AfterImport.MOVE:
            raise ValidationError({"after_import": _("POP3 has no folders: delete or leave.")})
        if self.after_import == self.AfterImport.MOVE and not self.archive_folder.strip():
            raise ValidationError({"archive_folder": _("Name the folder to move messages to.")})

    @property
    def password_hint(self) -> str:
        """What admin pages show instead of the password."""
        if not self.password:
            return "(not set)"
        return "•" * 8 + f" ({len(self.password)} characters)"


class InboundMessage(models.Model):
    """One message as it arrived (raw bytes kept), and what became of it."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received, not processed yet")
        CREATED = "created", _("Opened a ticket")
        APPENDED = "appended", _("Added to a ticket")
        DUPLICATE = "duplicate", _("Duplicate")
        REJECTED = "rejected", _("Rejected (ban list or filter)")
        DROPPED = "dropped", _("Dropped on purpose")
        PARKED = "parked", _("Parked: could not be processed")

    FINAL = (
        Status.CREATED,
        Status.APPENDED,
        Status.DUPLICATE,
        Status.REJECTED,
        Status.DROPPED,
        Status.PARKED,
    )

    class Source(models.TextChoices):
        MAILBOX = "mailbox", _("Fetched from a mailbox")
        PIPE = "pipe", _("Piped by the MTA")
        API = "api", _("Posted to the API")

    source = models.CharField(max_length=8, choices=Source)
    mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    source_key = models.CharField(
        max_length=32, help_text=_("mailbox:<id>, pipe or api: duplicates are judged per source.")
    )
    server_uid = models.CharField(verbose_name=_("server UID"), max_length=128, blank=True)
    api_key = models.ForeignKey(
        "accounts.ApiKey",
        verbose_name=_("API key"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_(
            "The key that posted it (API only): processed again, the message keeps to the "
            "key's departments and mail-relay mark as they are then; a deleted key leaves "
            "it no department and no trust."
        ),
    )
    message_id = models.CharField(verbose_name=_("Message-ID"), max_length=255, blank=True)
    sha256 = models.CharField(verbose_name=_("SHA-256"), max_length=64, unique=True)
    content_hash = models.CharField(
        max_length=64,
        blank=True,
        help_text=_(
            "SHA-256 of the content (body and author headers, not the trace headers): "
            "the same Message-ID (or none) with the same content is a duplicate. For a "
            "message with neither a Message-ID nor a Date: the SHA-256 of its bytes."
        ),
    )
    raw = models.BinaryField()
    size = models.PositiveIntegerField()
    sender = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.RECEIVED)
    reason = models.TextField(blank=True)
    is_auto = models.BooleanField(default=False, help_text=_("Sent by a robot: no autoresponse."))
    sender_verified = models.BooleanField(
        null=True,
        blank=True,
        help_text=_("The From domain passed DMARC, or aligned SPF or DKIM (empty: not parsed)."),
    )
    sender_check = models.CharField(
        max_length=255, blank=True, help_text=_("Why the sender is (not) verified.")
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    entry = models.ForeignKey(
        "threads.ThreadEntry",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_messages",
    )
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            # the same content is imported once (a message without a Message-ID: its
            # content when it has a Date, else its bytes; fingerprint.dedupe_hash)
            models.UniqueConstraint(
                fields=["message_id", "content_hash"],
                condition=~models.Q(status="duplicate"),
                name="mail_inbound_once_per_content",
            )
        ]
        indexes = [
            models.Index(fields=["mailbox", "server_uid"], name="mail_inbound_uid"),
            models.Index(fields=["status", "-received_at"], name="mail_inbound_status"),
        ]

    def __str__(self):
        return f"{self.message_id or self.sha256[:12]} ({self.status})"


class UndeliverableAddress(models.Model):
    """An address that bounced for good: nothing is mailed to it until an agent clears
    it or verified mail from it arrives (helpdesk.mail.services)."""

    address = models.EmailField(unique=True)
    reason = models.CharField(max_length=500, blank=True)
    marked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["address"]
        verbose_name_plural = "undeliverable addresses"

    def __str__(self):
        return self.address


class OutboundMessage(models.Model):
    """One mail we send (one per recipient), with the Message-ID replies will cite."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        BOUNCED = "bounced", _("Bounced")

    message_id = models.CharField(verbose_name=_("Message-ID"), max_length=255, unique=True)
    template = models.CharField(max_length=32)
    dedupe_key = models.CharField(
        max_length=128, unique=True, help_text=_("The event and recipient: sent once.")
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    task = models.ForeignKey(
        "tickets.Task",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Mail about a task (to agents only): its replies are posted to the task."),
    )
    entry = models.ForeignKey(
        "threads.ThreadEntry", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient = models.EmailField(db_index=True)
    recipient_is_agent = models.BooleanField(default=False)
    from_email = models.CharField(max_length=320)
    subject = models.CharField(max_length=255)
    body_text = models.TextField()
    body_html = models.TextField(verbose_name=_("HTML body"), blank=True)
    headers = models.JSONField(default=dict, blank=True)
    is_auto = models.BooleanField(default=False, help_text=_("An autoresponse or alert."))
    status = models.CharField(max_length=8, choices=Status, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    claimed_until = models.DateTimeField(
        null=True, blank=True, help_text=_("Lease of the sender sending it now.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "template", "created_at"], name="mail_out_rate"),
        ]

    def __str__(self):
        return f"{self.template} to {self.recipient} ({self.status})"


class EmailTemplateSet(models.Model):
    """A named set of email templates (osTicket's template groups). Each department
    picks one (DepartmentMailSettings.template_set); a template a set does not define,
    and every template of a department that picks none, comes from the default set
    (then from the defaults in code)."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    is_default = models.BooleanField(
        _("default set"),
        default=False,
        help_text=_("Used by departments that pick no set, and for any template a set lacks."),
    )
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["-is_default", "name"]
        verbose_name = _("email template set")
        verbose_name_plural = _("email template sets")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="mail_one_default_template_set",
            )
        ]

    def __str__(self):
        return self.name


class EmailTemplate(models.Model):
    """osTicket's email templates, editable by admins (Django template language). The
    admin writes the subject and the HTML part; the plain-text part is derived from the
    HTML on every save (`templates.derive_text`), so the two cannot drift apart."""

    class Code(models.TextChoices):
        TICKET_AUTORESP = "ticket.autoresp", _("New ticket autoresponse (to the client)")
        MESSAGE_AUTORESP = "message.autoresp", _("New message autoresponse (to the client)")
        TICKET_NOTICE = "ticket.notice", _("New ticket notice (opened by an agent)")
        TICKET_OVERLIMIT = "ticket.overlimit", _("Over-limit notice (to the client)")
        TICKET_REPLY = "ticket.reply", _("Response to the client")
        ACTIVITY_NOTICE = "ticket.activity.notice", _("New activity notice (to collaborators)")
        TICKET_ALERT = "ticket.alert", _("New ticket alert (to agents)")
        MESSAGE_ALERT = "message.alert", _("New message alert (to agents)")
        NOTE_ALERT = "note.alert", _("Internal note alert (to agents)")
        ASSIGNED_ALERT = "assigned.alert", _("Assignment alert (to agents)")
        TRANSFER_ALERT = "transfer.alert", _("Transfer alert (to agents)")
        OVERDUE_ALERT = "ticket.overdue", _("Overdue ticket alert (to agents)")
        TASK_ALERT = "task.alert", _("New task alert (to agents)")
        TASK_ACTIVITY_ALERT = "task.activity.alert", _("New task activity alert (to agents)")
        TASK_ACTIVITY_NOTICE = (
            "task.activity.notice",
            _("New task activity notice (to the task's collaborators, agents only)"),
        )
        TASK_ASSIGNMENT_ALERT = "task.assignment.alert", _("Task assignment alert (to agents)")
        TASK_TRANSFER_ALERT = "task.transfer.alert", _("Task transfer alert (to agents)")
        TASK_OVERDUE_ALERT = "task.overdue.alert", _("Overdue task alert (to agents)")

    template_set = models.ForeignKey(
        EmailTemplateSet,
        on_delete=models.CASCADE,
        related_name="templates",
        verbose_name=_("template set"),
    )
    code = models.CharField(_("template"), max_length=32, choices=Code)
    language = models.CharField(
        _("language"),
        max_length=16,
        blank=True,
        default="",
        help_text=_(
            "Mail to a recipient in this language uses this template; empty: any language "
            "the set has no template of its own for."
        ),
    )
    subject = models.CharField(_("subject"), max_length=255)
    body_html = models.TextField(
        _("HTML body"), help_text=_("The message. The plain-text part is made from it.")
    )
    body_text = models.TextField(
        _("plain-text body"),
        editable=False,
        help_text=_("Derived from the HTML body on save."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["template_set", "code", "language"]
        verbose_name = _("email template")
        verbose_name_plural = _("email templates")
        constraints = [
            models.UniqueConstraint(
                fields=["template_set", "code", "language"],
                name="mail_template_once_per_set_language",
            )
        ]

    def __str__(self):
        label = str(self.get_code_display())
        return f"{label} ({self.language})" if self.language else label

    def save(self, *args, **kwargs):
        from .templates import derive_text

        self.body_text = derive_text(self.body_html)
        super().save(*args, **kwargs)

    def clean(self):
        from accounts.languages import codes

        from .templates import template_errors

        if self.language and self.language not in codes():
            raise ValidationError({"language": _("Choose one of the helpdesk's languages.")})
        errors = template_errors(self.subject, None, self.body_html, code=self.code, sample=True)
        if errors:
            raise ValidationError(errors)


class DepartmentMailSettings(models.Model):
    """Per department: autoresponses and who gets each alert (osTicket's alert settings)."""

    department = models.OneToOneField(
        "routing.Department", on_delete=models.CASCADE, related_name="mail_settings"
    )
    template_set = models.ForeignKey(
        EmailTemplateSet,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("email template set"),
        help_text=_("Empty: the default set."),
    )
    autoresp_new_ticket = models.BooleanField(_("new ticket autoresponse"), default=True)
    autoresp_new_message = models.BooleanField(_("new message autoresponse"), default=True)

    new_ticket_alert = models.BooleanField(default=True)
    new_ticket_admins = models.BooleanField(default=True)
    new_ticket_manager = models.BooleanField(default=True)
    new_ticket_members = models.BooleanField(default=True)

    new_message_alert = models.BooleanField(default=True)
    new_message_last_respondent = models.BooleanField(default=True)
    new_message_assigned = models.BooleanField(default=True)
    new_message_manager = models.BooleanField(default=False)

    note_alert = models.BooleanField(default=True)
    note_last_respondent = models.BooleanField(default=True)
    note_assigned = models.BooleanField(default=True)
    note_manager = models.BooleanField(default=False)

    assigned_alert = models.BooleanField(default=True)
    assigned_agent = models.BooleanField(default=True)
    assigned_team_lead = models.BooleanField(default=True)
    assigned_team_members = models.BooleanField(default=False)

    transfer_alert = models.BooleanField(default=True)
    transfer_assigned = models.BooleanField(default=True)
    transfer_manager = models.BooleanField(default=True)
    transfer_members = models.BooleanField(default=False)

    overdue_alert = models.BooleanField(default=True)
    overdue_assigned = models.BooleanField(default=True)
    overdue_manager = models.BooleanField(default=True)
    overdue_members = models.BooleanField(default=False)

    # Tasks (osTicket's parallel set). osTicket ships no value for these (unset: off until
    # an admin saves its task settings); the defaults are those osTicket ships for the
    # ticket alert each one mirrors (include/i18n/en_US/config.yaml).
    task_alert = models.BooleanField(_("new task alert"), default=True)
    task_alert_admins = models.BooleanField(_("admins"), default=True)
    task_alert_manager = models.BooleanField(_("department manager"), default=True)
    task_alert_members = models.BooleanField(_("department members"), default=False)

    task_activity_alert = models.BooleanField(_("new task activity alert"), default=True)
    task_activity_last_respondent = models.BooleanField(_("last respondent"), default=True)
    task_activity_assigned = models.BooleanField(_("assigned agent and team"), default=True)
    task_activity_manager = models.BooleanField(_("department manager"), default=False)

    task_assignment_alert = models.BooleanField(_("task assignment alert"), default=True)
    task_assignment_agent = models.BooleanField(_("assigned agent"), default=True)
    task_assignment_team_lead = models.BooleanField(_("team lead"), default=False)
    task_assignment_team_members = models.BooleanField(_("team members"), default=False)

    task_transfer_alert = models.BooleanField(_("task transfer alert"), default=False)
    task_transfer_assigned = models.BooleanField(_("assigned agent and team"), default=False)
    task_transfer_manager = models.BooleanField(_("department manager"), default=True)
    task_transfer_members = models.BooleanField(_("department members"), default=False)

    task_overdue_alert = models.BooleanField(_("overdue task alert"), default=True)
    task_overdue_assigned = models.BooleanField(_("assigned agent and team"), default=True)
    task_overdue_manager = models.BooleanField(_("department manager"), default=True)
    task_overdue_members = models.BooleanField(_("department members"), default=False)

    class Meta:
        verbose_name = "department mail settings"
        verbose_name_plural = "department mail settings"

    def __str__(self):
        return f"Mail settings of {self.department}"


class MailSettings(SingletonSettings):
    """System-wide switches of the email channel (one row), edited by admins."""

    ticket_autoresponder = models.BooleanField(
        default=True, help_text=_("Answer new tickets with the new ticket autoresponse.")
    )
    message_autoresponder = models.BooleanField(
        default=False, help_text=_("Answer new messages with the new message autoresponse.")
    )
    ticket_notice = models.BooleanField(
        default=True, help_text=_("Tell clients about tickets agents open for them.")
    )
    overlimit_notice = models.BooleanField(
        default=True, help_text=_("Tell clients over the open-ticket limit.")
    )
    activity_notice = models.BooleanField(
        default=True, help_text=_("Tell the other participants about a new message.")
    )
    add_cc_collaborators = models.BooleanField(
        verbose_name=_("add Cc'd addresses as collaborators"),
        default=True,
        help_text=_("Addresses in Cc become collaborators."),
    )
    strip_quoted_reply = models.BooleanField(default=True)
    reply_separator = models.CharField(max_length=64, default="-- reply above this line --")
    agent_note_marker = models.CharField(
        max_length=32,
        default="#note",
        help_text=_("An agent's emailed reply starting with this line becomes an internal note."),
    )
    agent_close_marker = models.CharField(
        max_length=32,
        default="#close",
        blank=True,
        help_text=_(
            "An agent's emailed reply starting with this line is posted and closes the ticket "
            "in one step; refused (open tasks, another close guard) it is parked and nothing "
            "is posted. Empty: off."
        ),
    )
    autoresponses_per_hour = models.PositiveIntegerField(
        default=5, help_text=_("At most this many autoresponses to one address per hour.")
    )

    class Meta:
        verbose_name = "mail settings"
        verbose_name_plural = "mail settings"

    def __str__(self):
        return "Mail settings"
