"""The cyclic garbage collector, tuned for a long-running server process.

A request allocates tens of thousands of container objects (querysets, model rows,
template nodes and contexts) that reference counting frees when the response is sent.
With CPython's default thresholds (700, 10, 10) the collector runs about every 700
allocations: some 85 young-generation collections for one queue page and 230 for the
200-entry ticket view, each promoting the request's live objects a generation up, and
now and then a full collection walking every object the process has imported (about
150,000 after start-up). bench/panel.py measured 4 to 7 ms of collection per page
(10% of its CPU) and bench/api_profile.py 0.4 ms per ticket create.

`tune_for_serving()` is called once a server process has loaded everything (gunicorn's
worker through config/wsgi.py, a Celery worker when its process starts):

- it loads the URLconf (every view module), which Django would otherwise do on the
  first request, so that first request is not slower and what it imports is frozen;
- `gc.freeze()` moves every object alive then into a permanent generation that
  collections skip (what was imported at start-up lives as long as the process);
- the young generation's threshold goes from 700 to `GEN0_THRESHOLD`: a request's
  short-lived objects are mostly freed by reference counting before a collection sees
  them, so far fewer are promoted and the older generations are collected rarely.

Cycles are still collected (threshold, not `gc.disable()`); memory stays bounded by the
threshold (some tens of thousands of objects between collections).
"""

import gc

GEN0_THRESHOLD = 20_000


def tune_for_serving() -> None:
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every view module now
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
