"""helpdesk.ops.gc: a server process (gunicorn's worker through config/wsgi.py, a Celery
pool process) starts with its views loaded, start-up's objects frozen and the young
generation's threshold raised; cycles are still collected."""

import gc
import json

import pytest

from helpdesk.ops.gc import GEN0_THRESHOLD, tune_for_serving
from tests.helpdesk.test_deploy import python

KEY = "a-long-random-production-key-" * 3
PROBE = (
    "import gc, json, sys;"
    "print(json.dumps({'before': gc.get_threshold()[0], 'frozen_before': gc.get_freeze_count()}));"
    "{start};"
    "print(json.dumps({{'threshold': gc.get_threshold(), 'frozen': gc.get_freeze_count(),"
    " 'views': 'helpdesk.panel.views.queues' in sys.modules}}))"
)


@pytest.mark.parametrize(
    "start",
    [
        "import config.wsgi",
        "from config.celery import app; from celery.signals import worker_process_init;"
        " worker_process_init.send(sender=None)",
    ],
    ids=["wsgi", "celery-pool-process"],
)
def test_a_server_process_starts_tuned(tmp_path, start):
    code = PROBE.replace("{start}", start).replace("{{", "{").replace("}}", "}")
    run = python(tmp_path, "-c", code, DEBUG="0", SECRET_KEY=KEY)
    assert run.returncode == 0, run.stderr[-2000:]
    before, after = (json.loads(line) for line in run.stdout.strip().splitlines()[-2:])
    assert before == {"before": 700, "frozen_before": 0}  # CPython's defaults
    assert after["threshold"][0] == GEN0_THRESHOLD
    assert after["frozen"] > 50_000  # Django, the apps and every view module
    assert after["views"] is True  # the URLconf was loaded at start, not on a request


def test_cycles_are_still_collected():
    """A threshold, not gc.disable(): garbage cycles made after tuning are freed by the
    collector's own runs."""
    threshold = gc.get_threshold()
    collected: list[int] = []

    def count(phase, info):
        if phase == "stop":
            collected.append(info["collected"])

    class Node:
        pass

    try:
        tune_for_serving()
        gc.callbacks.append(count)
        for _ in range(GEN0_THRESHOLD):  # two container objects each: a collection or two
            a, b = Node(), Node()
            a.other, b.other = b, a  # a cycle only the collector frees
        del a, b
        assert collected and sum(collected) > 0
    finally:
        gc.callbacks.remove(count)
        gc.unfreeze()
        gc.set_threshold(*threshold)
