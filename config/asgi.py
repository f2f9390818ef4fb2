import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()

from accounts.checks import refuse_insecure_start  # noqa: E402 - needs the apps loaded

refuse_insecure_start()  # servers run no system checks: the built-in key stops them here
