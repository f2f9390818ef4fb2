"""Security headers for every HTML page we serve: the panel, the portal, the Django
admin and the API's HTML pages (the browsable API, /api/v1/docs/ and /api/v1/redoc/).

A Content-Security-Policy that allows scripts only from our own static files, so that
even a piece of HTML that slipped past the sanitiser cannot run script. Styles may be
inline (priority colours are style attributes; Swagger UI and Redoc set styles). The
API docs serve their start-up script as a file (drf-spectacular's split Swagger view,
and Redoc's `<redoc>` element) rather than inline. Redoc starts a web worker from a
blob: URL, hence `worker-src 'self' blob:`. JSON answers need no policy, but one does
no harm: the header goes on every response that does not set its own (attachments set
`sandbox`).
"""

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        return response
