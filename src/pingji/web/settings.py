"""Django settings for pingji. Everything that differs between machines comes from the
environment (see env.py); nothing here needs editing to run the app.

PINGJI_HOME      the workspace folder: app database, imported data, results (./pingji-data)
DATABASE_URL     the app database (default: SQLite in PINGJI_HOME), e.g. postgresql://…
PINGJI_SECRET_KEY  secret for sessions (default: one made once and kept in PINGJI_HOME)
PINGJI_DEBUG     Django's DEBUG (default off)
PINGJI_ALLOWED_HOSTS  comma-separated host names (default 127.0.0.1,localhost)
PINGJI_TASKS     "db" (background worker, default) or "immediate" (run tasks in the request)
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
import plotly

from pingji.web.env import env_bool, env_list, env_path, env_str

BASE_DIR = Path(__file__).resolve().parent
PINGJI_HOME = env_path("PINGJI_HOME", "pingji-data")


def _secret_key() -> str:
    if key := env_str("PINGJI_SECRET_KEY"):
        return key
    path = PINGJI_HOME / "secret.key"
    if not path.exists():
        PINGJI_HOME.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("PINGJI_DEBUG", False)
ALLOWED_HOSTS = env_list("PINGJI_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("PINGJI_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "pingji.web.accounts",
    "pingji.web.audit",
    "pingji.web.imports",
    "pingji.web.entities",
    "pingji.web.schemes",
    "pingji.web.runs",
    "pingji.web.ratings",
    "pingji.web.api",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "pingji.web.lib.access.LoginRequiredMiddleware",
    "pingji.web.lib.audit.AuditUserMiddleware",
]

ROOT_URLCONF = "pingji.web.urls"
WSGI_APPLICATION = "pingji.web.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pingji.web.lib.access.roles",
            ],
            "builtins": ["pingji.web.lib.templatetags"],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{PINGJI_HOME / 'pingji.sqlite3'}",
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web requests and the worker write to one file: wait instead of "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Chinese first; English switchable (set_language view, cookie).
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["pingji.web.formats"]  # 1,234,567 in Chinese too
TIME_ZONE = env_str("PINGJI_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = PINGJI_HOME / "static"
# plotly.min.js comes from the installed plotly package: no CDN, works offline.
STATICFILES_DIRS = [BASE_DIR / "static", Path(plotly.__file__).parent / "package_data"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if DEBUG or env_bool("PINGJI_STATIC_FINDERS", False):
    # Tests and development serve static files straight from the apps (no collectstatic).
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = DEBUG

MEDIA_ROOT = PINGJI_HOME / "uploads"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = None

TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks.backends.immediate.ImmediateBackend"
            if env_str("PINGJI_TASKS", "db") == "immediate"
            else "django_tasks_db.DatabaseBackend"
        ),
    }
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 12 * 3600
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("PINGJI_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
