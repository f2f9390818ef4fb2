"""The one way a stored file leaves the helpdesk: through a view that checked who asks
(panel, portal, API, knowledge base), never from /media/.

`Content-Disposition: attachment` for everything except the safe raster images (PNG,
JPEG, GIF, WebP) whose bytes agree with their stored type, which may be shown inline;
`X-Content-Type-Options: nosniff` so a browser never guesses HTML or script from the
bytes; a sandboxing Content-Security-Policy; never kept by shared caches.

Behind nginx with files on the local disk (`DOWNLOADS_X_ACCEL_PREFIX`, deploy/nginx),
the view still decides and sets every header, and hands the sending of the bytes to
nginx with `X-Accel-Redirect` to an internal location: no web worker is held by a
large download. On object storage (config.s3storage.S3Storage) the view streams the
object from the bucket as it arrives (one GET, in chunks): the bucket stays private and
no URL to it ever reaches the client.
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
    handle = _open(stored)
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
        if isinstance(handle, _Stream):
            response["Content-Length"] = str(handle.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


def _open(stored):
    """A readable handle on the stored bytes: the storage's stream when it has one
    (object storage), else the storage's file."""
    return (
        open_stored(stored.storage, stored.name) if _streams(stored.storage) else stored.open("rb")
    )


def _streams(storage) -> bool:
    return callable(getattr(storage, "stream", None))


def open_stored(storage, name: str):
    """`name` of `storage` opened for a download (e.g. an export file): on object
    storage a stream read as the bytes arrive (FileResponse reads it in chunks), never
    the whole object in memory; elsewhere the storage's own file."""
    if _streams(storage):
        body, size = storage.stream(name)
        return _Stream(body, size)
    return storage.open(name, "rb")


class _Stream:
    """A read-once body (an object storage's GET) whose first bytes may be read twice:
    `seek(0)` after the first reads puts them back, once."""

    def __init__(self, body, size: int):
        self.body = body
        self.size = size
        self.kept = b""
        self.replay = b""

    def read(self, size: int = -1) -> bytes:
        if self.replay:
            if size is None or size < 0:
                data, self.replay = self.replay + self.body.read(), b""
            else:
                data, self.replay = self.replay[:size], self.replay[size:]
            return data
        data = self.body.read() if size is None or size < 0 else self.body.read(size)
        if self.kept is not None:
            self.kept += data
        return data

    def seekable(self) -> bool:
        return False  # FileResponse must not read it through to count its length

    def seek(self, offset: int) -> None:
        if offset != 0 or self.kept is None:
            raise OSError("a stream goes back to its start once")
        self.replay, self.kept = self.kept, None

    def close(self) -> None:
        self.body.close()
