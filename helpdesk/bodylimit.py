"""The largest request body the site reads, for every page (the staff panel, the portal,
the admin): the API's limit (helpdesk.limits.max_body_bytes, which follows the attachment
limits). Django caps form fields at DATA_UPLOAD_MAX_MEMORY_SIZE but streams uploaded
files to disk whatever their size; this refuses a larger body from its Content-Length,
before a byte of it is read. The API checks the same limit itself, after authentication,
and answers with its own problem document (helpdesk.api.parsers)."""

from django.http import HttpResponse
from django.utils.translation import gettext as _

from . import limits

API_PREFIX = "/api/"


class RequestBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIX) and self._too_large(request):
            message = _("The request is too large: files may be %(size)s MB at most.") % {
                "size": limits.megabytes(limits.max_attachment_bytes())
            }
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _too_large(request) -> bool:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False  # Django answers a malformed length itself
        return length > limits.max_body_bytes()
