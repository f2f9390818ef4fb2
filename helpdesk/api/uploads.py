"""Bodies with files: JSON (base64 `attachments`) or multipart/form-data (files under
`attachments`, other fields as form fields). Both meet the same limits as the forms
(helpdesk.limits: files per message, size; threads.attachments: types), counted before
any file is read or any row is looked up."""

from django.core.files.uploadedfile import UploadedFile

from accounts.actors import is_client
from helpdesk import limits
from threads.attachments import attachments_validate
from threads.services import NewAttachment

from . import bounds
from .problems import Problem


def _split(request):
    """The form fields (without files) and the uploaded files of a multipart body; a
    JSON body as it is. Never copies an upload (a large one is an open temporary file)."""
    data = request.data
    if not hasattr(data, "getlist"):
        return data, []
    uploads = request.FILES.getlist("attachments")
    payload = type(data)(mutable=True)
    for key, values in data.lists():
        if key == "attachments":
            continue
        kept = [v for v in values if not isinstance(v, UploadedFile)]
        if kept:
            payload.setlist(key, kept)
    return payload, uploads


def _too_many(limit: int, given: int) -> Problem:
    message = f"At most {limit} files per message ({given} given)."
    return Problem(400, f"attachments: {message}", "too_many_items", {"attachments": [message]})


def incoming(request, serializer_class, **context) -> tuple[dict, list[NewAttachment]]:
    """The validated fields and the files of a body that may carry attachments."""
    payload, uploads = _split(request)
    hard = limits.max_attachments_hard()
    if len(uploads) > hard:
        raise _too_many(hard, len(uploads))
    serializer = serializer_class(data=payload, context={"request": request, **context})
    data = bounds.validate(serializer, limits={"attachments": hard - len(uploads)})
    given = len(uploads) + len(data.get("attachments") or ())
    if given and is_client(request.user):
        allowed = limits.max_attachments_for_clients()
        if given > allowed:
            raise _too_many(allowed, given)
    files = [
        NewAttachment(
            filename=f.name or "attachment",
            content=f.read(),
            content_type=(f.content_type or "")[:128],
        )
        for f in uploads
    ]
    files += [
        NewAttachment(filename=a["filename"], content=a["content"], content_type=a["content_type"])
        for a in data.get("attachments") or ()
    ]
    attachments_validate(files)
    return data, files
