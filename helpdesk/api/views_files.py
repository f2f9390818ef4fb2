"""Attachment downloads: streamed, and only for callers who may see the entry."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import views

from accounts.errors import NotVisible
from helpdesk.downloads import file_response
from threads.models import Attachment, ThreadEntry

from .base import ApiMixin
from .permissions import IsCaller
from .selectors import includes_notes, tickets_for


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
        description="Streamed. Anything but a safe raster image (PNG, JPEG, GIF, WebP "
        "whose bytes agree with its type) is sent with `Content-Disposition: attachment`; "
        "always `X-Content-Type-Options: nosniff`.",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file."
            )
        },
    )
    def get(self, request, pk):
        attachment = attachment_for(request.user, int(pk))
        return file_response(attachment.file.file, attachment.filename, attachment.content_type)
