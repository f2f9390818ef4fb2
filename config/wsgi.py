import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from accounts.checks import refuse_insecure_start  # noqa: E402 - needs the apps loaded

refuse_insecure_start()  # servers run no system checks: the built-in key stops them here

from helpdesk.ops.gc import tune_for_serving  # noqa: E402

tune_for_serving()  # the views loaded, start-up's objects frozen, fewer collections
