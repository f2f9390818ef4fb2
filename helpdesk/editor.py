"""What the rich-text editor of the panel (static/vendor/quill) sends, made into what the
services take: an HTML body and its pasted or dropped images as inline attachments.

The editor embeds a pasted image as a `data:` URL. The sanitiser drops `data:` URLs
(threads.html), so before the body goes to a service each such image becomes an inline
attachment (`NewAttachment(inline=True, content_id=...)`) under the same size limit and
type policy as any attached file, and its `src` a `cid:` reference, which the thread
shows through the ticket's permission-checked attachment URL, as for an email's inline
images. The body itself is sanitised by the service, like every body.
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
    r"""(<img\b[^>]*?\bsrc=)(["'])data:(image/[a-z0-9.+-]+);base64,([a-z0-9+/=\s]*)\2""",
    re.IGNORECASE,
)
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


@dataclass
class EditorBody:
    body: str
    fmt: str
    images: list[NewAttachment] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def editor_body(body: str, fmt: str) -> EditorBody:
    """The body as the services take it; `errors` name each image that is refused."""
    if fmt != HTML:
        return EditorBody(body=body, fmt=TEXT)
    out = EditorBody(body=body, fmt=HTML)
    limit = limits.max_attachment_bytes()

    def take(match: re.Match[str]) -> str:
        content_type = match.group(3).lower()
        number = len(out.images) + len(out.errors) + 1
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
        cid = f"{uuid.uuid4().hex}@editor"
        out.images.append(
            NewAttachment(
                filename=name,
                content=content,
                content_type=content_type,
                inline=True,
                content_id=cid,
            )
        )
        return f"{match.group(1)}{match.group(2)}cid:{cid}{match.group(2)}"

    out.body = _DATA_IMG.sub(take, body or "")
    if not out.images and not html_to_text(sanitize_html(out.body)).strip():
        out.body = ""  # the editor's empty document ("<p><br></p>") is no body
    return out
