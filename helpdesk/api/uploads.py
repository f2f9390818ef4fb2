"""Bodies with files: JSON (base64 `attachments`) or multipart/form-data (files under
`attachments`, other fields as form fields)."""

from threads.services import NewAttachment


def payload_and_files(request) -> tuple[dict, list[NewAttachment]]:
    """The fields to validate and the uploaded files (multipart) as NewAttachments."""
    data = request.data
    if not hasattr(data, "getlist"):  # JSON: attachments stay in the body, base64
        return data, []
    files = [
        NewAttachment(
            filename=f.name or "attachment",
            content=f.read(),
            content_type=(f.content_type or "")[:128],
        )
        for f in request.FILES.getlist("attachments")
    ]
    payload = data.copy()
    payload.pop("attachments", None)
    return payload, files
