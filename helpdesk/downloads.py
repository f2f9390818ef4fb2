"""The one way a stored file leaves the helpdesk: through a view that checked who asks
(panel, portal, API, knowledge base), never from /media/.

`Content-Disposition: attachment` for everything except the safe raster images (PNG,
JPEG, GIF, WebP) whose bytes agree with their stored type, which may be shown inline;
`X-Content-Type-Options: nosniff` so a browser never guesses HTML or script from the
bytes; a sandboxing Content-Security-Policy; never kept by shared caches.

Behind nginx with files on the local disk (`DOWNLOADS_X_ACCEL_PREFIX`, deploy/nginx),
the view still decides and sets every header, and hands the sending of the bytes to
nginx with `X-Accel-Redirect` to an internal location: no web worker is held by a
large download.
"""

from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, HttpResponse
from django.utils.http import content_disposition_header

from threads.attachments import HEAD_BYTES, inline_type

OCTET_STREAM = "application/octet-stream"


def file_response(stored, filename: str, content_type: str, *, inline: bool = True):
    """A streamed download of `stored` (a FieldFile). `inline=False` forces a download
    even of an image (the panel shows images inline only when asked)."""
    handle = stored.open("rb")
    head = handle.read(HEAD_BYTES)
    handle.seek(0)
    shown_as = inline_type(content_type, head) if inline else None
    prefix = settings.DOWNLOADS_X_ACCEL_PREFIX
    response: HttpResponse
    if prefix and isinstance(stored.storage, FileSystemStorage):
        handle.close()
        response = HttpResponse(content_type=shown_as or OCTET_STREAM)
        response["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + quote(stored.name)
        response["Content-Disposition"] = content_disposition_header(shown_as is None, filename)
    else:
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
