import os
import sys

from celery import Celery
from celery.signals import beat_init, worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
@beat_init.connect
def _refuse_insecure_start(**kwargs):
    """Workers sign our Message-IDs and reset links: the built-in key stops them. (Celery
    logs and swallows a receiver's exceptions; SystemExit is not one of them.)"""
    from django.core.exceptions import ImproperlyConfigured

    from accounts.checks import refuse_insecure_start

    try:
        refuse_insecure_start()
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"ImproperlyConfigured: {exc}\n")
        raise SystemExit(1) from exc


@beat_init.connect
def _one_beat_at_a_time(**kwargs):
    """Wait here, before the scheduler starts, until this beat is the only one
    (helpdesk.ops.beat: a PostgreSQL advisory lock; standbys take over when it goes)."""
    import django
    from django.apps import apps

    if not apps.ready:  # Celery's Django fixup has usually set it up (and its logging)
        django.setup()
    from helpdesk.ops.beat import become_leader

    become_leader()


@worker_process_init.connect
def _tune_gc(**kwargs):
    """Each pool process, once started: start-up's objects frozen, fewer collections
    (helpdesk.ops.gc), as gunicorn's workers."""
    import django
    from django.apps import apps

    if not apps.ready:  # the parent has set Django up before forking, as a rule
        django.setup()
    from helpdesk.ops.gc import tune_for_serving

    tune_for_serving()
