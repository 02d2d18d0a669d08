"""Settings for VoIPbin Agent Admin.

One file for every environment: everything that differs between a laptop and production is
read from the environment (see README, "Configuration"). With no environment at all the app
runs locally on an SQLite file.
"""

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import environ
from corsheaders.defaults import default_headers as corsheaders_default_headers
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# Development-only default; a deploy check (voipbin_admin.checks) refuses it when DEBUG is off.
DEV_SECRET_KEY = "django-insecure-local-development-key-not-for-production"

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Before daphne: its `runserver` command (Daphne's, with the stream's keep-alive) wins.
    "voipbin_admin.apps.VoipbinAdminConfig",
    # Before Django's apps, so that `runserver` is Daphne's: one development server for HTTP and
    # the event stream's WebSocket (README, "Event stream").
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "corsheaders",
    "phonenumber_field",
    "django_tasks_db",
    "channels",
    "agents",
    "tags",
]

MIDDLEWARE = [
    # Outermost: the events a request committed are published once its response is out.
    "agents.event_bus.PublishAfterResponseMiddleware",
    "voipbin_admin.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "voipbin_admin.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "agents.context_processors.console_rights",
            ],
        },
    },
]

WSGI_APPLICATION = "voipbin_admin.wsgi.application"
ASGI_APPLICATION = "voipbin_admin.asgi.application"

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    # Off by default: the check is one more round trip on every request (README, "Performance").
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=False)
    if env.bool("DB_PREPARED_STATEMENTS", default=True):
        # PostgreSQL then plans a statement once per connection, after its 5th run (psycopg's
        # threshold), instead of on every run: half of its CPU per status change (README,
        # "Performance"). Needs server-side binding. Off behind a pooler in transaction mode that
        # cannot keep prepared statements (PgBouncer before 1.21).
        DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
    if env.bool("DB_POOL", default=False):
        # Under ASGI a request's sync code may run on another thread than the last one's, and
        # Django closes the connection of a request at its end, so without a pool every request
        # opened a connection (and lost its prepared statements): `PUT .../status` ran at a
        # fifth of the sync workers' rate. The ASGI entry point (`voipbin_admin/asgi.py`) turns
        # it on; a pool replaces persistent connections.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 2,
            "max_size": env.int("DB_POOL_MAX_SIZE", default=8),
            "timeout": 10,
        }
    # Each test run (each pytest-xdist worker too) gets a database of its own, so two runs on
    # one server never collide; pytest-django drops it at the end.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = env.str(
        "TEST_DATABASE_NAME", default=f"test_voipbin_admin_{os.getpid()}"
    )
else:
    # Give concurrent writers a moment instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # The test database is a file, not SQLite's in-memory default, so that the background
    # worker the tests start (`manage.py db_worker`, another process) can open it too.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = env.str(
        "TEST_DATABASE_NAME",
        default=str(Path(tempfile.gettempdir()) / f"test_voipbin_admin_{os.getpid()}.sqlite3"),
    )

# Background tasks (Django's Tasks framework) are rows in the database, run by a separate worker
# process: `manage.py db_worker` (README, "Background worker"). CSV imports are applied there.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

CACHES = {
    "default": env.cache_url("CACHE_URL", default="locmemcache://"),
}

# --- Event stream (contract section 11; README, "Event stream") --------------------------------
# Events reach the WebSocket connections of every server process through a channel layer: Redis
# (its publish/subscribe layer: one message per process per event, however many connections
# watch) when CHANNEL_LAYER_URL, or else CACHE_URL, names a Redis server; otherwise the
# in-memory layer, which only reaches connections of the process that made the change (the
# embedded SQLite start, one process).
_channel_layer_url = env.str("CHANNEL_LAYER_URL", default="") or env.str("CACHE_URL", default="")
if _channel_layer_url.startswith(("redis://", "rediss://", "unix://")):
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [_channel_layer_url],
                "prefix": env.str("CHANNEL_LAYER_PREFIX", default="asgi"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
#: How often an open stream re-checks its credential and rights (revoked, expired, deleted,
#: demoted: closed with 1008 within this time).
EVENT_STREAM_RECHECK_SECONDS = env.float("EVENT_STREAM_RECHECK_SECONDS", default=5.0)
#: Resume (`since`): at most this many stored events, of at most this age, are replayed.
EVENT_STREAM_REPLAY_LIMIT = 1000
EVENT_STREAM_REPLAY_WINDOW = timedelta(hours=24)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "agents.Agent"
AUTHENTICATION_BACKENDS = ["agents.backends.AgentBackend"]
# Agent usernames are unique among *live* agents only (a partial, case-insensitive constraint),
# so Django's "USERNAME_FIELD must be unique" check does not apply; AgentBackend enforces it.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]

# The password policy. By default any non-empty password is accepted (the public tutorial
# creates an agent with password "test2"); set PASSWORD_MIN_LENGTH to require more.
PASSWORD_MIN_LENGTH = env.int("PASSWORD_MIN_LENGTH", default=0)
AUTH_PASSWORD_VALIDATORS = (
    [
        {
            "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
            "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
        }
    ]
    if PASSWORD_MIN_LENGTH
    else []
)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "console:login"

# --- Product settings -------------------------------------------------------------------

# Agents are reachable at sip:direct.<hash>@<SIP_DOMAIN>.
SIP_DOMAIN = env.str("SIP_DOMAIN", default="sip.voipbin.net")
LOGIN_TOKEN_LIFETIME = timedelta(seconds=env.int("LOGIN_TOKEN_LIFETIME_SECONDS", default=7 * 86400))
ACCESS_KEY_DEFAULT_LIFETIME = timedelta(
    seconds=env.int("ACCESS_KEY_DEFAULT_LIFETIME_SECONDS", default=365 * 86400)
)
ACCESS_KEY_MIN_LIFETIME = timedelta(seconds=86400)
# Failed logins allowed per username and per client address before 429.
LOGIN_THROTTLE_RATE = env.str("LOGIN_THROTTLE_RATE", default="10/min")

# --- Production hardening (all driven by the environment) ---------------------------------

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
# Every page (console, admin site, error pages) gets this Content-Security-Policy (Django's
# ContentSecurityPolicyMiddleware): scripts and styles only from this server's static files,
# no inline script or style (a template that needs one marks it with `{% csp_nonce_attr %}`,
# as the admin's templates do), nothing from elsewhere. The API docs page has its own policy
# (voipbin_admin.api.views.ApiDocsView).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# --- REST API ---------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["voipbin_admin.api.authentication.CredentialAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["voipbin_admin.api.authentication.HasCredential"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["voipbin_admin.api.parsers.StrictJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "voipbin_admin.api.parsers.AlwaysJSON",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "voipbin_admin.api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "VoIPbin Agent Admin API",
    "DESCRIPTION": "The VoIPbin agent API, v1.0.",
    "VERSION": "1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The document and its docs page are public.
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Descriptions come from extend_schema only, never from internal docstrings.
    "DISABLE_DOCSTRING_DESCRIPTIONS": True,
    "ENUM_NAME_OVERRIDES": {
        "AgentStatusEnum": "agents.models.AgentStatus",
        "RingMethodEnum": "agents.models.RingMethod",
        "AddressTypeEnum": "agents.models.AddressType",
        "ErrorStatusEnum": "voipbin_admin.api.schema.ERROR_STATUSES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "voipbin_admin.api.schema.add_overview_and_headers",
    ],
}

CORS_ALLOW_ALL_ORIGINS = True
CORS_URLS_REGEX = r"^/(v1\.0/|auth/).*$"
CORS_ALLOW_HEADERS = [*corsheaders_default_headers, "x-request-id"]
CORS_EXPOSE_HEADERS = ["X-Request-Id", "Retry-After"]

# Every handler redacts credentials (`?token=`, `?accesskey=`, Bearer values) from what it
# writes (voipbin_admin.log_redaction). Django's own handlers are replaced: its `django`
# handlers would print (DEBUG) or mail (ADMINS) records unredacted, and `django.server` prints
# runserver's request lines.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_credentials": {"()": "voipbin_admin.log_redaction.RedactCredentials"}},
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_credentials"]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact_credentials"],
        },
    },
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
