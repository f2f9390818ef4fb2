"""The attachments input of the panel's and the portal's forms: the same limits as the
API (helpdesk.limits: files per message, size) and the same policy (threads.attachments:
types), so a refused file is a field error naming it, before any work."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from threads.attachments import HEAD_BYTES, attachment_refusal, human_size
from threads.services import NewAttachment

from . import limits


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Several files in one input: at most `max_files` (default: the hard maximum),
    each within the size limit and the type policy."""

    def __init__(self, *args, max_files: int | None = None, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"multiple": True}))
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Attachments"))
        self._max_files = max_files
        super().__init__(*args, **kwargs)

    @property
    def max_files(self) -> int:
        hard = limits.max_attachments_hard()
        return hard if self._max_files is None else min(self._max_files, hard)

    def set_limit(self, max_files: int) -> None:
        self._max_files = max_files
        self.help_text = gettext("Up to %(n)d files, %(size)s each.") % {
            "n": self.max_files,
            "size": human_size(limits.max_attachment_bytes()),
        }

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if len(files) > self.max_files:
            raise forms.ValidationError(
                gettext("Attach at most %(n)d files.") % {"n": self.max_files}, code="too_many"
            )
        files = [super(AttachmentsField, self).clean(f, initial) for f in files]
        limit = limits.max_attachment_bytes()
        too_big = [f.name for f in files if f.size > limit]
        if too_big:
            raise forms.ValidationError(
                gettext("Files over %(size)s are refused: %(names)s.")
                % {"size": human_size(limit), "names": ", ".join(too_big)},
                code="too_large",
            )
        refused = [message for f in files if (message := _refusal(f))]
        if refused:
            raise forms.ValidationError(refused, code="refused")
        return files


def _refusal(upload) -> str | None:
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    why = attachment_refusal(
        filename=upload.name, content=head, content_type=getattr(upload, "content_type", "")
    )
    return f"{upload.name}: {why}." if why else None


def to_attachments(files) -> list[NewAttachment]:
    return [
        NewAttachment(
            filename=f.name,
            content=f.read(),
            content_type=(getattr(f, "content_type", "") or "")[:128],
        )
        for f in files or ()
    ]
