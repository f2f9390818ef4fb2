"""Knowledge: canned responses for agents (and, with the portal, FAQs for clients)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CannedResponse(models.Model):
    """A premade reply, global (no department) or for one department. The body is
    sanitised HTML that may hold variables like %{ticket.number} (see kb.services)."""

    title = models.CharField(max_length=255)
    body_html = models.TextField()
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
