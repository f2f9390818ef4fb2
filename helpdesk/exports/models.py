"""An export asked for by an agent: streamed at once (small) or written to a file by a
Celery job (large), which the agent downloads from the panel until it expires."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExportJob(models.Model):
    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    class Status(models.TextChoices):
        STREAMED = "streamed", _("Streamed")  # small: sent in the response itself
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="export_jobs"
    )
    kind = models.CharField(max_length=64, help_text=_("The registered source exported."))
    params = models.JSONField(default=dict, blank=True)
    format = models.CharField(max_length=4, choices=Format)
    status = models.CharField(max_length=8, choices=Status, default=Status.QUEUED)
    language = models.CharField(
        max_length=16, blank=True, help_text=_("The agent's language: a job writes in it.")
    )
    row_count = models.PositiveIntegerField(null=True, blank=True)
    download_name = models.CharField(max_length=255, help_text=_("The file name offered."))
    file_name = models.CharField(
        max_length=255, blank=True, help_text=_("The written file in storage (never served).")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.kind} {self.format} #{self.pk}"
