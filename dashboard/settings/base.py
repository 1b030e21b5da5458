"""Settings shared by every environment, read from the environment (12-factor).

Development defaults let `make run` work with nothing set; `production.py` refuses to
start without a real SECRET_KEY. Debug is off unless DEBUG says otherwise.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

from dashboard.sealed_layer import layer_settings

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Templates and static files live in the package, so a wheel install carries them.
PACKAGE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Without SECRET_KEY a process gets a random key of its own (never a public default):
# `make run` (manage.py serve) gives its processes one kept in .data/secret-key, and
# production.py demands it from the environment.
SECRET_KEY = os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50)
# Off unless asked for: the debug page shows settings and code to anyone who can make a
# request fail (a bad Host header is enough).
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "dashboard.catalog.apps.CatalogConfig",
    "queues.contrib.django",
    "dashboard.apps.DashboardConfig",
    "alerts.apps.AlertsConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Error reports (debug page, error mails) hide URLs, channel-layer hosts and tokens as well.
DEFAULT_EXCEPTION_REPORTER_FILTER = "dashboard.error_reports.SecretsHidingFilter"

ROOT_URLCONF = "dashboard.urls"
ASGI_APPLICATION = "dashboard.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],  # templates/, through the link dashboard/templates
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / '.data' / 'streamwarden.sqlite3'}"),
        conn_max_age=0,
    )
}
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Daphne, the monitor, the notifier and the demo all write: WAL lets readers proceed
    # during a write, IMMEDIATE transactions avoid lock-upgrade deadlocks, and the timeout
    # makes a writer wait for the lock instead of failing at once.
    DATABASES["default"]["OPTIONS"] = SQLITE_OPTIONS
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Failed logins are counted per username and per address; see dashboard.login_throttle.
AUTHENTICATION_BACKENDS = ["dashboard.login_throttle.ThrottledModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# static/ (top level, as the project layout has it) is reached through the link
# dashboard/static, so it is the dashboard app's static directory (AppDirectoriesFinder)
# in a checkout and in the installed wheel alike.
STATIC_ROOT = BASE_DIR / ".data" / "staticfiles"
# Daphne does not serve static files; in development the ASGI app does it itself.
# In production a reverse proxy serves STATIC_ROOT (after collectstatic).
STREAMWARDEN_SERVE_STATIC = env_bool("STREAMWARDEN_SERVE_STATIC", True)

# The Redis the dashboard watches by default, and that carries the channel layer.
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
# Sealed messages: producers share this Redis and must not reach browsers (sealed_layer.py).
CHANNEL_LAYERS = layer_settings(REDIS_URL, SECRET_KEY)

# StreamWarden's own knobs (read through dashboard.conf / alerts.conf, never at import time
# elsewhere). Every STREAMWARDEN_* environment variable becomes the setting of the same name
# (as a string; the conf functions convert and supply the defaults listed in the README).
STREAMWARDEN_POLL_INTERVAL = float(os.environ.get("STREAMWARDEN_POLL_INTERVAL", "2"))
globals().update(
    {
        name: value
        for name, value in os.environ.items()
        if name.startswith("STREAMWARDEN_")
        and name not in {"STREAMWARDEN_POLL_INTERVAL", "STREAMWARDEN_SERVE_STATIC"}
    }
)

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "streamwarden@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # APScheduler logs every run at INFO: a line per poll would drown everything else.
    "loggers": {"apscheduler": {"level": "WARNING"}},
}
