import os
import sys

from celery import Celery
from celery.signals import beat_init, worker_init

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
