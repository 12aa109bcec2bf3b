"""The WSGI application served by `pingji serve` (waitress)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pingji.web.settings")
application = get_wsgi_application()
