"""Settings shared by every shape of the inbox.

The environment is read here and only here. With nothing set the inbox runs embedded:
SQLite, the in-memory channel layer, Celery tasks run eagerly, a local cache. With
DATABASE_URL and REDIS_URL set it is the production shape: PostgreSQL, channels-redis,
Celery on Redis and a Redis cache.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from kombu import Queue

from config.settings.local_secrets import local_secret

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)

# Secrets: the production settings require them from the environment; the embedded
# default generates them once into .local/ (never a constant in the code).
# Production settings set DJANGO_REQUIRE_SECRETS so nothing is generated there.
if env.bool("DJANGO_REQUIRE_SECRETS", default=False):
    SECRET_KEY = env.str("SECRET_KEY")
    JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY")
    FIELD_ENCRYPTION_KEYS = [key for key in env.list("FIELD_ENCRYPTION_KEYS") if key]
else:
    SECRET_KEY = env.str("SECRET_KEY", default="") or local_secret("SECRET_KEY")
    JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default="") or local_secret("JWT_SIGNING_KEY")
    FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[]) or [
        local_secret("FIELD_ENCRYPTION_KEY", kind="fernet")
    ]

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Where providers reach this installation; used to build each channel's webhook URL. Not set:
# the address each request came to, and http://127.0.0.1:8000 outside requests (config.public_url).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="").rstrip("/")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_htmx",
    "channels",
    "tenants",
    "accounts",
    "channels_app",
    "contacts",
    "conversations",
    "integrations",
    "webhooks",
    "axes",
    # Two-factor login (accounts.two_factor): TOTP devices and single-use recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
]

MIDDLEWARE = [
    # Outermost: every line logged while answering carries the request's id (config.logs), and
    # every answer is counted with its time (config.metrics_views).
    "config.logs.RequestIdMiddleware",
    "config.metrics_views.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before anything that answers by itself: its CORS headers go on every /api/ answer, errors too.
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.security.ContentSecurityPolicyMiddleware",
    "config.api.middleware.ApiBodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.language.ChosenLanguageMiddleware",
    "config.api.middleware.ApiLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.public_url.RequestBaseUrlMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.ratelimit.FormRateLimitMiddleware",
    # A session opened by a password alone (Django admin's login) of an account with two-factor
    # login is sent through the inbox's login, which asks for the code.
    "accounts.middleware.TwoFactorSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.audit.AuditOriginMiddleware",  # the client's address and agent, for the audit log
    # Innermost and sync-only on purpose: every view is sync, so Django then runs the whole
    # stack in one thread hop under ASGI instead of switching modes between middlewares.
    "tenants.middleware.TenantContextMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Data stores -------------------------------------------------------------------

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool("DB_POOL", default=True):
    # A connection pool per process (psycopg_pool): the ASGI server runs each request in a
    # thread of its own, so without it every request opened a new PostgreSQL connection.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # With the pool, a health check is a round trip on every checkout (each request, task and
    # webhook batch). The pool drops a connection it finds broken when it is returned, and
    # renews idle ones (max_idle, max_lifetime); DB_POOL_CHECK=true restores the round trip
    # where connections die unseen (a proxy that cuts idle ones, say).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_POOL_CHECK", default=False)
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = env.bool("DB_SERVER_SIDE_BINDING",
                                                                                    default=True)
    # Statements run this many times on a connection are prepared once (PostgreSQL then skips
    # parsing and planning them); 0 turns it off, as a transaction-mode pooler needs.
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = env.int("DB_PREPARE_THRESHOLD", default=5) or None
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=1),
        "max_size": env.int("DB_POOL_MAX_SIZE", default=8),
        "timeout": env.int("DB_POOL_TIMEOUT", default=10),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "inbox",
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # A socket's queue holds up to `capacity` messages (beyond, they are dropped): room
            # for a burst while its consumer is busy; batches travel as one message anyway.
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "inbox", "capacity": 1000},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Celery ------------------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://localhost/")
CELERY_RESULT_BACKEND = None
# Nothing reads task results; and a backend shared by all threads spares every request
# thread of the ASGI server Celery's costly per-thread backend lookup on .delay().
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND_THREAD_SAFE = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL.startswith(("redis", "amqp")))
CELERY_TASK_EAGER_PROPAGATES = True
# Celery beat and delayed retries on a thread of the web process (config.embedded): the embedded
# default's (config.settings.local), where tasks run eagerly and no beat runs.
EMBEDDED_SCHEDULER = False
CELERY_TASK_ACKS_LATE = True
# A task whose worker process died is put back on the queue at once (the tasks are safe to run
# twice). A task that a whole worker took with it comes back after the visibility timeout
# (the default, an hour, is far longer than any wait of ours: retries wait 10 minutes at most);
# the pipelines do not wait for it: their leases run out in seconds, and a worker that comes up
# takes up what waits (config.celery_app).
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=900)}
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
# Stored provider webhooks are processed from a queue of their own, so that a burst of them
# never holds back the sending of replies (and the other way round). A worker started
# without -Q takes both.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = (Queue("celery"), Queue("webhooks"))
CELERY_TASK_ROUTES = {
    "integrations.tasks.webhook_events_process": {"queue": "webhooks"},
    "integrations.tasks.webhook_event_process": {"queue": "webhooks"},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    # Beat's heartbeat, which GET /api/health reads (config.heartbeat).
    "beat-heartbeat": {"task": "config.tasks.beat_heartbeat", "schedule": 60.0},
    "sweep-stuck-work": {"task": "integrations.tasks.sweep_stuck_work", "schedule": 60.0},
    "sync-templates": {"task": "integrations.tasks.templates_sync_all", "schedule": 3600.0},
    "check-paired-connections": {"task": "integrations.tasks.channels_connection_check",
                                 "schedule": env.float("PAIRED_CONNECTION_CHECK_SECONDS", default=300.0)},
    # Group names of QR-paired numbers whose provider does not post a renamed group.
    "refresh-group-names": {"task": "integrations.tasks.channels_groups_refresh",
                            "schedule": env.float("GROUPS_REFRESH_SECONDS", default=1800.0)},
    # Each tenant's audit entries older than its retention (Tenant.audit_retention_days).
    "purge-audit-log": {"task": "accounts.tasks.audit_entries_purge_task",
                        "schedule": env.float("AUDIT_PURGE_SECONDS", default=86400.0)},
    # Contact exports (their files) and imports older than CONTACT_TRANSFER_DAYS.
    "purge-contact-transfers": {"task": "contacts.tasks.contact_transfers_purge_task", "schedule": 86400.0},
    # Each tenant's messages and files older than its retention (Tenant.message_retention_days,
    # attachment_retention_days); none when it keeps them for ever.
    "purge-messages": {"task": "conversations.tasks.messages_retention_apply_task",
                       "schedule": env.float("RETENTION_PURGE_SECONDS", default=86400.0)},
    # Outbound webhooks: due retries (and work a lost task left), and the delivery log's retention.
    "sweep-webhook-deliveries": {"task": "webhooks.tasks.webhook_deliveries_sweep",
                                 "schedule": env.float("WEBHOOK_SWEEP_SECONDS", default=15.0)},
    "purge-webhook-deliveries": {"task": "webhooks.tasks.webhook_deliveries_purge_task", "schedule": 86400.0},
    # The tenants' alert rules (integrations.monitoring.alerts): incidents opened and resolved.
    "evaluate-alerts": {"task": "integrations.tasks.alerts_evaluate_task",
                        "schedule": env.float("ALERTS_EVALUATE_SECONDS", default=60.0)},
}
# The integrations health page's counters (integrations.monitoring) are kept this long.
ACTIVITY_KEEP_DAYS = env.int("ACTIVITY_KEEP_DAYS", default=35)
# An alert's incident is resolved once its condition has not held for this long (a value hovering
# at its threshold keeps one incident open instead of opening and resolving one a minute).
ALERT_RECOVERY_MINUTES = env.int("ALERT_RECOVERY_MINUTES", default=5)
# Members' notices (the bell, /notifications/) are kept this long, read or not.
NOTICES_KEEP_DAYS = env.int("NOTICES_KEEP_DAYS", default=90)
# --- Outbound webhooks (webhooks/) ---
# Endpoints on this machine or a private network (development only: refused by default, at
# registration and at every delivery).
WEBHOOKS_ALLOW_PRIVATE = env.bool("WEBHOOKS_ALLOW_PRIVATE", default=False)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Deliveries of different conversations sent at once to one endpoint (one conversation's: in turn):
# the endpoint's limit, whatever its other endpoints and senders do.
WEBHOOK_SEND_CONCURRENCY = env.int("WEBHOOK_SEND_CONCURRENCY", default=8)
# An endpoint's sender holds its worker process this long at a time, then queues its successor
# behind the other endpoints' senders (and keeps looking for new deliveries for
# WEBHOOK_SENDER_LINGER_SECONDS once it has nothing left to send).
WEBHOOK_SENDER_TURN_SECONDS = env.float("WEBHOOK_SENDER_TURN_SECONDS", default=10.0)
WEBHOOK_SENDER_LINGER_SECONDS = env.float("WEBHOOK_SENDER_LINGER_SECONDS", default=1.0)
# Retried for this long after the event (timeouts, connection errors, 5xx, 408, 429).
WEBHOOK_RETRY_HOURS = env.float("WEBHOOK_RETRY_HOURS", default=72.0)
# An endpoint whose every delivery failed for this long is disabled and its admins told.
WEBHOOK_DISABLE_AFTER_HOURS = env.float("WEBHOOK_DISABLE_AFTER_HOURS", default=24.0)
# The delivery log (what was sent, how it was answered) is kept this long.
WEBHOOK_DELIVERY_KEEP_DAYS = env.int("WEBHOOK_DELIVERY_KEEP_DAYS", default=30)
WEBHOOK_ENDPOINTS_MAX = env.int("WEBHOOK_ENDPOINTS_MAX", default=20)
# Which endpoints hear which events is read again this often by each process (changes made in
# the same process are seen at once).
WEBHOOK_SUBSCRIPTION_CACHE_SECONDS = env.float("WEBHOOK_SUBSCRIPTION_CACHE_SECONDS", default=5.0)
# Providers' webhook bodies (the durable copy of what each delivered, which holds what the
# person wrote and their number): deleted this many days after they were processed, or after
# they failed for good (admins process failed ones again from the channel's page until then).
WEBHOOK_EVENTS_KEEP_DAYS = env.int("WEBHOOK_EVENTS_KEEP_DAYS", default=7)
WEBHOOK_EVENTS_FAILED_KEEP_DAYS = env.int("WEBHOOK_EVENTS_FAILED_KEEP_DAYS", default=30)
# Rows the retention task deletes a transaction (conversations.services.retention).
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=1000)
# LGPD export of one contact (contacts.lgpd): the attachments' files it holds at most, in bytes
# (files beyond are listed in its JSON, not included).
LGPD_EXPORT_MAX_BYTES = env.int("LGPD_EXPORT_MAX_BYTES", default=200 * 1024 * 1024)

# --- Accounts and auth -------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "accounts.login.LockoutBackend",  # first: a locked account or address goes no further
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
GUARDIAN_ANONYMOUS_USER_NAME = None
# Every password set (reset, change, admin, invitations) is checked; Django's messages are in pt-BR.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/inbox/"
# Failed logins (inbox, admin, API) counted by django-axes in the database (accounts.login):
# per account across addresses, and per client address across accounts, for a cool-off.
AXES_HANDLER = "accounts.login.LoginAttemptsHandler"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_IP_FAILURE_LIMIT = env.int("LOGIN_IP_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_CALLABLE = "accounts.login_names.login_username"
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# No AxesMiddleware: each login view answers a locked door exactly as a wrong password.
SILENCED_SYSTEM_CHECKS = ["axes.W002"]
# Our proxies (addresses or networks): X-Forwarded-For is believed from them only (config.client_ip).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# POSTs a minute per client address to the password forms (accounts.ratelimit).
FORM_RATE_LIMIT = env.int("FORM_RATE_LIMIT", default=20)
# A password reset link works once, for this long.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_MINUTES", default=60) * 60
# An invitation's link works once, for this many days.
INVITATION_DAYS = env.int("INVITATION_DAYS", default=7)
# Two-factor login: the name an authenticator app shows beside the account, and how long the code
# step waits for a code after the password was right.
OTP_TOTP_ISSUER = env.str("TWO_FACTOR_ISSUER", default="Inbox")
TWO_FACTOR_CODE_SECONDS = env.int("TWO_FACTOR_CODE_SECONDS", default=300)

# --- Outgoing email ----------------------------------------------------------------

# EMAIL_URL names the backend and its server: smtp+tls://user:password@smtp.example.com:587
# (smtp+ssl:// for port 465). The embedded default prints mail to the console; production requires it.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update({key: value for key, value in EMAIL_CONFIG.items() if value not in (None, "")})
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Inbox <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Seconds to wait for the mail server (mail is sent by a Celery worker, which retries).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# --- Internationalisation ----------------------------------------------------------

LANGUAGE_CODE = "pt-br"
LANGUAGES = [("pt-br", "Português (Brasil)"), ("en", "English")]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600  # a chosen language (config.language) is kept a year
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media --------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- API ---------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TenantJWTAuthentication",
        "accounts.authentication.ApiKeyAuthentication",
        "accounts.authentication.TenantSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsTenantMember"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.api.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["config.api.throttling.RateLimit"],
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.CursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "config.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.errors.exception_handler",
    "PAGE_SIZE": 25,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# CORS (django-cors-headers), for /api/ only: the browser origins allowed to call the API for
# every tenant (comma-separated, e.g. https://app.example.com; none by default). Each tenant adds
# its own on Settings → Security (tenants.cors). No cookies cross-origin: a JWT or an API key.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = ("accept", "accept-language", "authorization", "content-type", "x-api-key")
CORS_EXPOSE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after")
CORS_PREFLIGHT_MAX_AGE = 600

# Requests per minute and per authenticated user of a tenant (anonymous: per client IP).
API_RATE_LIMIT_DEFAULT = env.int("API_RATE_LIMIT_DEFAULT", default=100)
API_RATE_LIMIT_MESSAGES = env.int("API_RATE_LIMIT_MESSAGES", default=300)
API_RATE_LIMIT_AUTH = env.int("API_RATE_LIMIT_AUTH", default=20)
API_RATE_LIMIT_ANONYMOUS = env.int("API_RATE_LIMIT_ANONYMOUS", default=60)
# Deliveries a minute to one channel's webhook URL (integrations.inbound.ratelimit).
WEBHOOK_RATE_LIMIT = env.int("WEBHOOK_RATE_LIMIT", default=240_000)
# Where the API answers (JSON errors, English unless the client asks, bodies bounded): /api/, and
# the seeds' compatibility paths outside it (integrations.seed_contracts).
API_PATH_PREFIXES = ("/api/", "/integrations/whatsapp")
# Provider webhooks under /api/ (the seeds' aliases of a channel's webhook URL): their bodies are
# bounded as every webhook's are (WEBHOOK_MAX_BODY_BYTES), not as the API's.
API_WEBHOOK_PATH_PREFIXES = ("/api/webhooks/",)
# Largest request body the API reads, in bytes.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1_048_576)
# Largest provider webhook body accepted (Meta sends up to 3 MB), in bytes.
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=4 * 1024 * 1024)
# A stored webhook whose processing fails this many times fails for good (FAILED, with its
# error; Django admin's "process again" gives it as many attempts again).
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=5)
# A channel paired by QR code that is connected again fetches the messages its provider kept
# meanwhile (those whose webhooks never came): at most this many, the newest.
MISSED_MESSAGES_LIMIT = env.int("MISSED_MESSAGES_LIMIT", default=2000)
# POST /webhooks/... is answered by integrations.inbound.ingress in front of Django (batched stores).
WEBHOOK_INGRESS = env.bool("WEBHOOK_INGRESS", default=True)
# How long a web process remembers which channel a webhook URL names (and its app secret).
WEBHOOK_CHANNEL_CACHE_SECONDS = env.float("WEBHOOK_CHANNEL_CACHE_SECONDS", default=5.0)
# Replies are sent by up to this many senders per channel at once (worker processes working
# through its backlog together; more overlap a slow provider's answers)...
OUTBOUND_SENDERS_PER_CHANNEL = env.int("OUTBOUND_SENDERS_PER_CHANNEL", default=4)
# ...each for at most this long before a successor takes its turn at the back of the queue.
OUTBOUND_SENDER_SECONDS = env.float("OUTBOUND_SENDER_SECONDS", default=2.0)
# How long a sender's claim on a reply holds while it waits for the provider's answer (longer
# than any adapter's call may last). A claim that runs out leaves the reply FAILED as "delivery
# unknown": its sender died, and the provider may have it.
OUTBOUND_SEND_LEASE_SECONDS = env.int("OUTBOUND_SEND_LEASE_SECONDS", default=30)
# Django refuses to read larger non-file bodies (the API has its own, smaller limit).
DATA_UPLOAD_MAX_MEMORY_SIZE = WEBHOOK_MAX_BODY_BYTES
# Providers read their own settings from the environment (integrations/<provider>/).
# Largest file an agent can attach to a reply, in bytes (a provider may take less).
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=16 * 1024 * 1024)
# Largest CSV of contacts a member can import, in bytes.
CONTACT_IMPORT_MAX_BYTES = env.int("CONTACT_IMPORT_MAX_BYTES", default=10 * 1024 * 1024)
# Contact exports (with their files) and imports are deleted after this many days.
CONTACT_TRANSFER_DAYS = env.int("CONTACT_TRANSFER_DAYS", default=30)
# A reply's media_url may name a file on this machine or a private network (development and
# tests only: otherwise only public addresses are fetched).
MEDIA_URL_ALLOW_PRIVATE = env.bool("MEDIA_URL_ALLOW_PRIVATE", default=False)
# A provider's server a tenant gives (their own gateway server) may be on
# this machine or a private network (development; the embedded default): otherwise only public
# addresses are called for a tenant.
PROVIDER_URL_ALLOW_PRIVATE = env.bool("PROVIDER_URL_ALLOW_PRIVATE", default=DEBUG)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=5)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SIGNING_KEY,
    # Claims carry public ids: the user's here, the tenant's in "tenant_id" (accounts.services).
    "USER_ID_FIELD": "public_id",
    "USER_ID_CLAIM": "user_id",
    # Tokens carry a digest of the password hash: a new password ends them (accounts.tokens).
    "CHECK_REVOKE_TOKEN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Inbox API",
    "DESCRIPTION": (
        "Public API of the omnichannel inbox. Authenticate with `POST /api/v1/auth/token` "
        "and send `Authorization: Bearer <access>`. Every error has the shape "
        '`{"error": {"code", "message", "details"}}`. Every id (`id` and every `*_id` we give, in '
        "bodies, URLs, events and token claims) is a UUID, time-ordered (UUIDv7); a malformed one in a URL "
        "is a 404, in a body a 400 `validation_error`.\n\n"
        "**Live events.** Open a WebSocket to `/ws/v1/events` and send, as the first message, "
        '`{"type": "auth", "token": "<access JWT or API key>"}` (the credential never goes in the URL, so it '
        'never reaches an access log). The server answers `{"type": "ready", ...}` and then sends every event '
        "of your account that your role (or your key's channels) may see, as "
        '`{"type": "event", "id": "<event id>", "name": "message.created", "data": {...}}` '
        "(message.created, message.updated, message.status_changed, conversation.created, "
        "conversation.status_changed, conversation.assigned, conversation.updated, conversation.read, "
        "contact.created, contact.updated, channel.*). After a reconnect, send "
        '`{"type": "resume", "after": "<last event id you saw>"}`: the server replays what you missed (drop ids you '
        'already have) and ends with `{"type": "resumed"}`, or answers `{"type": "resync"}` when too much '
        "was missed to replay (reload with the REST API). Close codes: 4401 not authenticated, 4403 access lost."
    ),
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its page are public and the same for everyone: they authenticate no one.
    # (With the API's own authentication, a browser session of someone who is a member of no
    # tenant, such as the platform's staff logged in at /admin/, was refused with a bare 401.)
    "SERVE_AUTHENTICATION": [],
    "DEFAULT_GENERATOR_CLASS": "config.api.generator.Generator",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ConversationStatus": "conversations.models.Conversation.Status",
        "MessageStatus": "conversations.models.Message.Status",
        "ChannelStatus": "channels_app.models.Channel.Status",
        "Role": "accounts.models.Role",
        "TenantRole": "integrations.member_api.ROLE_CHOICES",
        "MessageType": "conversations.models.Message.Type",
        "SendableMessageType": "conversations.api.SENDABLE_TYPES",
        "SeedWhatsAppType": "integrations.seed_contracts.serializers.SEED_TYPE_CHOICES",
        "ContactTransferStatus": "contacts.models.ContactTransfer.Status",
        "ContactImportColumn": "contacts.imports.TARGETS",
        "ApiKeyStatus": "accounts.models.ApiKey.Status",
        "ApiKeyScope": "accounts.models.ApiKey.Scope",
        "AlertRuleKind": "integrations.models.AlertRule.Kind",
        # The channel kinds are the providers' registered ones (named as they were before alert rules had a kind too).
        "KindEnum": "channels_app.kinds.REGISTERED_KIND_CHOICES",
    },
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.api.schema.strings_without_nul",
                            "webhooks.schema.webhook_payload_components"],
}

# Checks a channel's settings with its provider before they are saved.
CHANNEL_VERIFIER = "integrations.connect.channel_verify"
# The providers' demo channels, for the demo data (manage.py seed_demo).
DEMO_CHANNELS = "integrations.registry.demo_channels"

# --- Content-Security-Policy (django-csp) ------------------------------------------

# Nothing inline (scripts and styles are static files), our WebSocket origin (added per request
# by config.security), no plugins, no framing; browsers report violations to /csp-report/, which
# logs them. CSP_REPORT_ONLY=true sends the same policy as report-only (to try a change).
# Images may come from any https address: a contact's picture is their channel's own link (drawn
# over their initials, without a referrer); nothing else of ours points outside.
CONTENT_SECURITY_POLICY = {"DIRECTIVES": {
    "default-src": [SELF], "script-src": [SELF], "style-src": [SELF], "img-src": [SELF, "data:", "https:"],
    "connect-src": [SELF], "object-src": [NONE], "base-uri": [SELF], "form-action": [SELF],
    "frame-ancestors": [NONE], "report-uri": ["/csp-report/"],
}}
if env.bool("CSP_REPORT_ONLY", default=False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY, CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY, None

# --- Domain events -----------------------------------------------------------------

# Called in this order, after the transaction that published the event commits.
DOMAIN_EVENT_LISTENERS = [
    "tenants.events.log_event",
    "channels_app.listeners.member_channels_revoke",
    "channels_app.listeners.invitation_channels_grant",
    "conversations.listeners.member_conversations_release",
    "conversations.listeners.invited_teams_join",
    "conversations.listeners.removed_member_teams_leave",
    "conversations.realtime.broadcast",
    "integrations.outbound.listeners.replies_send",
    "integrations.outbound.listeners.read_receipts",
    "integrations.inbound.listeners.inbound_media_fetch",
    "integrations.inbound.listeners.contact_details_fetch",
    "integrations.inbound.listeners.missed_messages_fetch",
    "integrations.listeners.templates_sync",
    "integrations.listeners.provider_remove",
    "integrations.monitoring.listeners.activity_count",
    "conversations.reports.aggregates.report_count",
    # Last: integrators hear of what the product did once it did it.
    "webhooks.listeners.webhooks_fan_out",
]

# --- Logging -----------------------------------------------------------------------

# LOG_FORMAT=json: a JSON object a line (production's default), console: a plain line (the
# embedded default's and the tests'). Every line carries the request id, tenant, channel and
# message where known, with phones and email addresses masked (config.logs).
LOG_FORMAT = env.str("LOG_FORMAT", default="console")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.logs.LogContextFilter"}, "masking": {"()": "config.logs.MaskingFilter"}},
    "formatters": {
        "console": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "config.logs.json_formatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT,
                             "filters": ["context", "masking"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Django's own handlers (its console one, with DEBUG) would print its lines a second time, unmasked.
    "loggers": {"django": {"handlers": [], "level": "INFO"}, "django.db.backends": {"level": "WARNING"}},
}
# Celery's workers log through the handler above too (not a format of their own).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Metrics -----------------------------------------------------------------------

# GET /metrics (Prometheus) answers a scrape with this bearer token and/or from these networks
# (CIDRs, the client's address as config.client_ip reads it); with neither set it is off (404).
# Several processes add up their counts through PROMETHEUS_MULTIPROC_DIR (config.metrics).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])
