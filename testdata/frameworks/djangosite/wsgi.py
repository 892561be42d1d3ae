"""WSGI entry point: djangosite.wsgi:application. Creates the tables at import (no migrations
in this project; run_syncdb makes them from the models)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djangosite.settings")

from django.core.management import call_command  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
call_command("migrate", run_syncdb=True, verbosity=0)
