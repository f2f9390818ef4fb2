"""What an import brought over: one row per source object, written in the same
transaction as the object, so a run killed at any moment loses and duplicates nothing."""

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportedObject(models.Model):
    """osTicket's `kind` + id -> our object, with a fingerprint of the source row: a later
    run skips a row whose fingerprint is unchanged and updates one whose changed."""

    source = models.CharField(max_length=16, default="osticket")
    kind = models.CharField(max_length=32, help_text=_("The source's kind, e.g. ticket, entry."))
    source_id = models.CharField(max_length=64)
    source_number = models.BigIntegerField(
        null=True, blank=True, help_text=_("source_id when it is a number (range lookups).")
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.BigIntegerField()
    fingerprint = models.CharField(max_length=40, blank=True)
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "kind", "source_id"], name="importers_one_row_per_source"
            )
        ]
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="importers_target"),
            models.Index(fields=["source", "kind", "source_number"], name="importers_by_number"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.kind} {self.source_id} -> {self.object_id}"
