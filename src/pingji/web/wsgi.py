"""The WSGI application served by `pingji serve` (gunicorn's workers, or waitress)."""

import os
import tempfile

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pingji.web.settings")
application = get_wsgi_application()

from pingji.web.lib import workspace  # noqa: E402  (needs the settings loaded above)

# Files the data layer checks are linked into temporary folders: keep them in the workspace
# (emptied when `pingji serve` starts), also under another WSGI server.
tempfile.tempdir = str(workspace.make_tmp_dir())
