"""Knowledge: canned responses for agents (and, with the portal, FAQs for clients)."""

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class CannedResponse(models.Model):
    """A premade reply, global (no department) or for one department. The body is
    sanitised HTML that may hold variables like %{ticket.number} (see kb.services)."""

    title = models.CharField(max_length=255)
    body_html = models.TextField(verbose_name=_("HTML body"))
    department = models.ForeignKey(
        "routing.Department",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="canned_responses",
        help_text=_("Empty: offered in every department."),
    )
    is_active = models.BooleanField(default=True)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    translations = models.JSONField(
        _("translations"),
        default=dict,
        blank=True,
        help_text=_(
            "The title and body in other languages, edited in the admin; what is left out "
            "shows the original."
        ),
    )

    class Meta:
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(
                fields=["department", "title"], name="kb_canned_title_per_dept"
            ),
        ]

    def __str__(self):
        return self.title


class CannedAttachment(models.Model):
    canned = models.ForeignKey(CannedResponse, on_delete=models.CASCADE, related_name="attachments")
    file = models.ForeignKey("threads.StoredFile", on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=128, default="application/octet-stream")

    def __str__(self):
        return self.filename


# --- Knowledge base (FAQs for clients; internal articles for agents) -------------------


class FaqCategory(models.Model):
    """A category of FAQs, nested (osTicket's `category_pid`). Clients see a category
    only when it and every category above it are public."""

    name = models.CharField(max_length=128)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    description = models.TextField(blank=True, help_text=_("Shown to readers; sanitised HTML."))
    is_public = models.BooleanField(
        default=True, help_text=_("Public: shown in the portal. Otherwise internal (agents only).")
    )
    notes = models.TextField(blank=True, help_text=_("Internal notes, never shown to clients."))
    sort = models.PositiveIntegerField(default=0)
    translations = models.JSONField(
        _("translations"),
        default=dict,
        blank=True,
        help_text=_(
            "The name and description in other languages, edited in the admin; what is left out "
            "shows the original."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort", "name"]
        verbose_name = "FAQ category"
        verbose_name_plural = "FAQ categories"
        constraints = [
            models.UniqueConstraint("parent", Lower("name"), name="kb_category_name_per_parent"),
            models.UniqueConstraint(
                Lower("name"),
                condition=models.Q(parent__isnull=True),
                name="kb_category_top_name",
            ),
        ]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.parent.full_name} / {self.name}" if self.parent_id else self.name


class Faq(models.Model):
    """A question and its answer (sanitised HTML). Clients see it when it is published
    and its category is public; agents with faq.manage see and edit everything.

    `search_vector` is kept up to date by the services (PostgreSQL full-text search,
    with a GIN index created by migration 0002 on PostgreSQL only); it stays empty on
    SQLite, where search falls back to matching words (see kb.faq_selectors)."""

    category = models.ForeignKey(FaqCategory, on_delete=models.PROTECT, related_name="faqs")
    question = models.CharField(max_length=255)
    answer_html = models.TextField(
        verbose_name=_("answer (HTML)"), help_text=_("Sanitised HTML, safe to show.")
    )
    answer_text = models.TextField(blank=True, editable=False, help_text=_("For search."))
    keywords = models.CharField(max_length=255, blank=True)
    notes = models.TextField(blank=True, help_text=_("Internal notes, never shown to clients."))
    is_published = models.BooleanField(
        default=False, help_text=_("Published FAQs of public categories are shown in the portal.")
    )
    is_featured = models.BooleanField(default=False, help_text=_("Shown on the portal's home."))
    translations = models.JSONField(
        _("translations"),
        default=dict,
        blank=True,
        help_text=_(
            "The question and answer in other languages, edited in the admin; what is left out "
            "shows the original."
        ),
    )
    topics = models.ManyToManyField(
        "routing.HelpTopic",
        blank=True,
        related_name="faqs",
        help_text=_("Help topics this answers; suggested first when a client picks one."),
    )
    search_vector = SearchVectorField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["question"]
        verbose_name = "FAQ"
        verbose_name_plural = "FAQs"
        constraints = [
            models.UniqueConstraint(Lower("question"), name="kb_faq_question_unique"),
        ]
        indexes = [
            models.Index(fields=["category", "is_published"], name="kb_faq_category_published"),
        ]

    def __str__(self):
        return self.question


class FaqAttachment(models.Model):
    faq = models.ForeignKey(Faq, on_delete=models.CASCADE, related_name="attachments")
    file = models.ForeignKey("threads.StoredFile", on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=128, default="application/octet-stream")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.filename

    @property
    def size(self) -> int:
        return self.file.size
