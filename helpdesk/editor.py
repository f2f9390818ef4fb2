"""What the rich-text editor of the panel (static/vendor/quill) sends, made into what the
services take: an HTML body and its pasted or dropped images as inline attachments.

The editor embeds a pasted image as a `data:` URL. The page's script sends each one as
an uploaded file (`inline_images`, named `pasted-image-N.png`, checked like any attached
file by the form) and writes `src="cid:pasted-image-N.png"` in the body, so a large
screenshot is streamed like a file rather than held in a form field. A `data:` image
still in the body (a post without that script) is decoded here under the same size limit
and type policy. Either way the image becomes an inline attachment
(`NewAttachment(inline=True, content_id=...)`) and its `src` a `cid:` reference, which
the thread shows through the ticket's permission-checked attachment URL, as for an
email's inline images; the sanitiser (threads.html) drops any `data:` URL left. The
body itself is sanitised by the service, like every body.
"""

import base64
import binascii
import re
import uuid
from dataclasses import dataclass, field

from django.utils.translation import gettext

from threads.attachments import attachment_refusal, human_size
from threads.html import html_to_text, sanitize_html
from threads.services import NewAttachment

from . import limits

TEXT, HTML = "text", "html"

_DATA_IMG = re.compile(
    r"""(<img\b[^>]*?\bsrc=)(["'])data:(image/[a-z0-9.+-]+);base64,([^"']*)\2""",
    re.IGNORECASE,
)
_UPLOADED = re.compile(r"""(<img\b[^>]*?\bsrc=)(["'])cid:(pasted-image-\d{1,3}\.[a-z]{2,4})\2""")
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


@dataclass
class EditorBody:
    body: str
    fmt: str
    images: list[NewAttachment] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _inline(filename: str, content: bytes, content_type: str) -> NewAttachment:
    return NewAttachment(
        filename=filename,
        content=content,
        content_type=content_type,
        inline=True,
        content_id=f"{uuid.uuid4().hex}@editor",
    )


def editor_body(body: str, fmt: str, uploads=()) -> EditorBody:
    """The body as the services take it; `errors` name each image that is refused.
    `uploads`: the `inline_images` files (already checked by the form's field)."""
    if fmt != HTML:
        return EditorBody(body=body, fmt=TEXT)
    out = EditorBody(body=body, fmt=HTML)
    limit = limits.max_attachment_bytes()
    by_name = {f.name: f for f in uploads}

    def uploaded(match: re.Match[str]) -> str:
        upload = by_name.pop(match.group(3), None)
        content_type = (getattr(upload, "content_type", "") or "").lower()
        if upload is None or not content_type.startswith("image/"):
            return f"{match.group(1)}{match.group(2)}{match.group(2)}"
        image = _inline(upload.name, upload.read(), content_type[:128])
        out.images.append(image)
        return f"{match.group(1)}{match.group(2)}cid:{image.content_id}{match.group(2)}"

    body = _UPLOADED.sub(uploaded, body or "")

    def take(match: re.Match[str]) -> str:
        content_type = match.group(3).lower()
        number = len(out.images) + len(out.errors) + len(uploads) + 1
        name = f"pasted-image-{number}.{_EXTENSIONS.get(content_type, 'img')}"
        try:
            content = base64.b64decode(re.sub(r"\s+", "", match.group(4)), validate=True)
        except (binascii.Error, ValueError):
            out.errors.append(gettext("%(name)s: the image is damaged.") % {"name": name})
            return f"{match.group(1)}{match.group(2)}{match.group(2)}"
        why = attachment_refusal(filename=name, content=content, content_type=content_type)
        if len(content) > limit:
            why = gettext("over %(size)s") % {"size": human_size(limit)}
        if why:
            out.errors.append(f"{name}: {why}.")
            return f"{match.group(1)}{match.group(2)}{match.group(2)}"
        image = _inline(name, content, content_type)
        out.images.append(image)
        return f"{match.group(1)}{match.group(2)}cid:{image.content_id}{match.group(2)}"

    out.body = _DATA_IMG.sub(take, body)
    if not out.images and not html_to_text(sanitize_html(out.body)).strip():
        out.body = ""  # the editor's empty document ("<p><br></p>") is no body
    return out
