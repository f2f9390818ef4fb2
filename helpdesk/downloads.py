"""The one way a stored file leaves the helpdesk: through a view that checked who asks
(panel, portal, API, knowledge base), never from /media/.

`Content-Disposition: attachment` for everything except the safe raster images (PNG,
JPEG, GIF, WebP) whose bytes agree with their stored type, which may be shown inline;
`X-Content-Type-Options: nosniff` so a browser never guesses HTML or script from the
bytes; a sandboxing Content-Security-Policy; never kept by shared caches.
"""

from django.http import FileResponse

from threads.attachments import HEAD_BYTES, inline_type

OCTET_STREAM = "application/octet-stream"


def file_response(stored, filename: str, content_type: str, *, inline: bool = True):
    """A streamed download of `stored` (a FieldFile). `inline=False` forces a download
    even of an image (the panel shows images inline only when asked)."""
    handle = stored.open("rb")
    head = handle.read(HEAD_BYTES)
    handle.seek(0)
    shown_as = inline_type(content_type, head) if inline else None
    response = FileResponse(
        handle,
        as_attachment=shown_as is None,
        filename=filename,
        content_type=shown_as or OCTET_STREAM,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
