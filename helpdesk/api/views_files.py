"""Attachment downloads: streamed, and only for callers who may see the entry."""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import views

from accounts.errors import NotVisible
from threads.models import Attachment, ThreadEntry

from .base import ApiMixin
from .permissions import IsCaller
from .selectors import includes_notes, tickets_for

SAFE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"})


def attachment_for(caller, pk: int) -> Attachment:
    """An attachment of an entry the caller may see, or NotVisible (404)."""
    attachment = Attachment.objects.select_related("entry", "file").filter(pk=pk).first()
    if attachment is None:
        raise NotVisible("Attachment not found.", code="attachment_not_found")
    entry = attachment.entry
    hidden = entry.kind == ThreadEntry.Kind.NOTE and not includes_notes(caller)
    if hidden or not tickets_for(caller).filter(thread_id=entry.thread_id).exists():
        raise NotVisible("Attachment not found.", code="attachment_not_found")
    return attachment


class AttachmentDownloadView(ApiMixin, views.APIView):
    permission_classes = [IsCaller]

    @extend_schema(
        summary="Download an attachment",
        description="Streamed. Anything but a safe raster image is sent with "
        "`Content-Disposition: attachment`.",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file."
            )
        },
    )
    def get(self, request, pk):
        attachment = attachment_for(request.user, int(pk))
        content_type = (attachment.content_type or "").lower()
        inline = content_type in SAFE_IMAGES
        response = FileResponse(
            attachment.file.file.open("rb"),
            as_attachment=not inline,
            filename=attachment.filename,
            content_type=content_type if inline else "application/octet-stream",
        )
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response
