"""Settings for the test suite: a throw-away workspace, static files from the apps, tasks run
in the request (ImmediateBackend). Selected by pyproject's DJANGO_SETTINGS_MODULE."""

import os
import tempfile

os.environ.setdefault("PINGJI_HOME", tempfile.mkdtemp(prefix="pingji-test-home-"))
os.environ.setdefault("PINGJI_STATIC_FINDERS", "1")

from pingji.web.settings import *  # noqa: F403

TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test logins
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405  (WhiteNoise warns without it)
