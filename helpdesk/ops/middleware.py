"""`GET /healthz` and `GET /readyz` for load balancers and orchestrators, answered
before any other middleware: no host check (probes use the server's address), no
HTTPS redirect, no session, no authentication, no sensitive detail. `GET /metrics` for
Prometheus scrapers is answered here too (a scraper asks by address as well), behind
its own gate (helpdesk.ops.metrics: allowed addresses or a bearer token, else off)."""

import time

from django.http import HttpResponseNotAllowed, JsonResponse

from . import checks, instruments

PATHS = ("/healthz", "/readyz", "/metrics")


class ProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info.rstrip("/")
        if path not in PATHS:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        if path == "/metrics":
            from .metrics import metrics_response

            return metrics_response(request)
        if path == "/healthz":
            response = JsonResponse({"status": "ok"})  # the process answers: no database
        else:
            results = checks.run()
            ok = all(results.values())
            response = JsonResponse(
                {
                    "status": "ok" if ok else "fail",
                    "checks": {
                        name: "ok" if passed else "fail" for name, passed in results.items()
                    },
                },
                status=200 if ok else 503,
            )
        response["Cache-Control"] = "no-store"
        return response


class RequestMetricsMiddleware:
    """Each request's time into helpdesk_http_request_duration_seconds (instruments),
    labelled by method, the view's URL name (never the path: ids would make a series
    per ticket) and the status class."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match is not None and match.view_name else "unmatched"
        instruments.REQUEST_SECONDS.labels(
            method=request.method if request.method in METHODS else "other",
            view=view,
            status=f"{response.status_code // 100}xx",
        ).observe(time.perf_counter() - started)
        return response


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
