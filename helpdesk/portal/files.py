"""Serving stored files to browsers (ticket and FAQ attachments)."""

import mimetypes

from django.http import FileResponse

INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


def file_response(stored, filename: str, content_type: str) -> FileResponse:
    """Images inline, everything else as a download (an HTML or SVG file could run
    script in our origin); never stored by shared caches."""
    content_type = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    inline = content_type in INLINE_TYPES
    response = FileResponse(
        stored.open("rb"),
        as_attachment=not inline,
        filename=filename,
        content_type=content_type if inline else "application/octet-stream",
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
