"""Security headers for the pages we render (panel and portal).

A Content-Security-Policy that allows scripts only from our own static files, so that
even a piece of HTML that slipped past the sanitiser cannot run script. Styles may be
inline (priority colours are style attributes). The Django admin and the API's
interactive docs keep their own behaviour.
"""

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
EXEMPT = ("/admin/", "/api/")


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith(EXEMPT):
            response.headers.setdefault("Content-Security-Policy", CSP)
        return response
