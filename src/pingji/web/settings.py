"""Django settings for pingji. Everything that differs between machines comes from the
environment (see env.py); nothing here needs editing to run the app.

PINGJI_HOME      the workspace folder: app database, imported data, results (./pingji-data)
DATABASE_URL     the app database (default: SQLite in PINGJI_HOME), e.g. postgresql://…
PINGJI_SECRET_KEY  secret for sessions (default: one made once and kept in PINGJI_HOME)
PINGJI_DEBUG     Django's DEBUG (default off)
PINGJI_ALLOWED_HOSTS  comma-separated host names (default 127.0.0.1,localhost)
PINGJI_TASKS     "db" (background worker, default) or "immediate" (run tasks in the request)
PINGJI_JOB_LEASE  seconds without a heartbeat after which a background job is dead (60)
PINGJI_HTTPS     served over HTTPS: session, CSRF and language cookies get Secure (default off)
PINGJI_BEHIND_PROXY  trust the proxy's X-Forwarded-Proto / X-Forwarded-For (default off)
PINGJI_LOGIN_FAILURES, PINGJI_LOCKOUT_MINUTES  login throttling (default 5 wrong, 15 minutes)
PINGJI_EMAIL_HOST, _PORT, _USER, _PASSWORD, _TLS, _FROM  SMTP for rating reminders (no host:
                 no e-mail)
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from pingji.web.env import env_bool, env_int, env_list, env_path, env_str

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
    "pingji.web.jobs",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # after LocaleMiddleware: engine and data messages in the request's language
    "pingji.web.lib.language.MessageLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "pingji.web.lib.access.LoginRequiredMiddleware",
    "pingji.web.lib.audit.AuditUserMiddleware",
    "csp.middleware.CSPMiddleware",
    # last: turns a locked-out login into the lockout page (docs/security.md)
    "axes.middleware.AxesMiddleware",
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

# Applied wherever a password is set: the users page, the password form, `create_user`.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "pingji.web.accounts.passwords.NotBlankValidator"},
]
AUTHENTICATION_BACKENDS = [
    "pingji.web.accounts.throttle.LoginThrottleBackend",  # django-axes: refuses locked logins
    "django.contrib.auth.backends.ModelBackend",
]

# Login throttling (django-axes): after PINGJI_LOGIN_FAILURES wrong passwords for one account,
# or from one address, further logins to it / from it are refused for PINGJI_LOCKOUT_MINUTES
# (each new try during the lockout starts the wait again). A right password resets the count.
AXES_FAILURE_LIMIT = env_int("PINGJI_LOGIN_FAILURES", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("PINGJI_LOCKOUT_MINUTES", 15))
if AXES_FAILURE_LIMIT < 1 or AXES_COOLOFF_TIME.total_seconds() < 60:
    raise ImproperlyConfigured(
        "PINGJI_LOGIN_FAILURES and PINGJI_LOCKOUT_MINUTES: expected whole numbers of at least 1"
    )
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # the account, and separately the address
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "pingji.web.accounts.throttle.locked_out"
AXES_VERBOSE = False  # a locked-out attempt is logged once as a warning, not per request
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
# Compiled evaluation plans (engine/frozen.py) of the app's runs are kept in the workspace,
# shared by the server and the worker, unless PINGJI_CACHE_DIR says otherwise.
os.environ.setdefault("PINGJI_CACHE_DIR", str(PINGJI_HOME / "cache"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# plotly.min.js comes from the installed plotly package (no CDN, works offline); only that
# file, not the rest of the package's data.
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "pingji.web.lib.staticfinders.PlotlyFinder",
]
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
# Large uploads are received into the workspace, not /tmp (emptied when `pingji serve` starts).
FILE_UPLOAD_TEMP_DIR = PINGJI_HOME / "tmp"

TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks.backends.immediate.ImmediateBackend"
            if env_str("PINGJI_TASKS", "db") == "immediate"
            else "django_tasks_db.DatabaseBackend"
        ),
    }
}

# Background jobs: a job (or worker) whose heartbeat is older than this many seconds is dead
# and is marked failed, to be retried (docs/web.md → recovery).
PINGJI_JOB_LEASE = env_int("PINGJI_JOB_LEASE", 60)
if PINGJI_JOB_LEASE < 1:
    raise ImproperlyConfigured(f"PINGJI_JOB_LEASE={PINGJI_JOB_LEASE}: expected at least 1 (s)")


def _email_sender(user: str) -> str:
    # Most SMTP servers refuse a From the login may not send as: default to the login
    # when it is an address, and otherwise ask for one rather than invent one.
    sender = env_str("PINGJI_EMAIL_FROM") or (user if "@" in user else "")
    if "@" not in sender:
        raise ImproperlyConfigured(
            "PINGJI_EMAIL_FROM: expected the sender's address, e.g. pingji@example.com "
            "(needed when PINGJI_EMAIL_HOST is set and PINGJI_EMAIL_USER is not an address)"
        )
    return sender


# E-mail (rating reminders, `send_rating_reminders`): only when PINGJI_EMAIL_HOST names an SMTP
# server. Without it nothing is ever e-mailed (no guess at a local mail server) and reminders
# stay in the app. PINGJI_EMAIL_TLS: STARTTLS on PINGJI_EMAIL_PORT (default 587 with TLS, 25
# without); PINGJI_EMAIL_USER / PINGJI_EMAIL_PASSWORD: the SMTP login, if the server wants one.
EMAIL_HOST = env_str("PINGJI_EMAIL_HOST").strip()
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_USE_TLS = env_bool("PINGJI_EMAIL_TLS", False)
    EMAIL_PORT = env_int("PINGJI_EMAIL_PORT", 587 if EMAIL_USE_TLS else 25)
    if not 0 < EMAIL_PORT < 65536:
        raise ImproperlyConfigured(f"PINGJI_EMAIL_PORT={EMAIL_PORT}: expected 1 to 65535")
    EMAIL_HOST_USER = env_str("PINGJI_EMAIL_USER")
    EMAIL_HOST_PASSWORD = env_str("PINGJI_EMAIL_PASSWORD")
    DEFAULT_FROM_EMAIL = SERVER_EMAIL = _email_sender(EMAIL_HOST_USER)
    EMAIL_TIMEOUT = 30  # seconds: a server that does not answer fails the e-mail, not the cron
else:
    # Anything that would send mail without a configured server sends nothing.
    EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 12 * 3600
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Served over HTTPS (directly or by a proxy that terminates TLS): cookies only go over HTTPS.
HTTPS = env_bool("PINGJI_HTTPS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = HTTPS
# Behind a reverse proxy, it says which scheme the browser used and who the visitor is (the
# last X-Forwarded-For entry, accounts.throttle.client_address). Only set this when the proxy
# sets X-Forwarded-Proto and X-Forwarded-For: otherwise a client could forge them.
BEHIND_PROXY = env_bool("PINGJI_BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
AXES_CLIENT_IP_CALLABLE = "pingji.web.accounts.throttle.client_address"

# Content-Security-Policy (django-csp): scripts only from our static files (no inline script,
# no eval), nothing fetched from another site. Inline styles stay allowed: grade colours are
# style attributes (checked to be colours when a scheme is read) and Plotly styles its charts.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("PINGJI_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # wrong passwords and lockouts, not every login
    },
}
