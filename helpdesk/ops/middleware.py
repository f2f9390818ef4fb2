"""`GET /healthz` and `GET /readyz` for load balancers and orchestrators, answered
before any other middleware: no host check (probes use the server's address), no
HTTPS redirect, no session, no authentication, no sensitive detail. `GET /metrics` for
Prometheus scrapers is answered here too (a scraper asks by address as well), behind
its own gate (helpdesk.ops.metrics: allowed addresses or a bearer token, else off)."""

from django.http import HttpResponseNotAllowed, JsonResponse

from . import checks

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
