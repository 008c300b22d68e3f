"""Settings shared by every environment; values come from the environment.

With no variables set at all the site runs on SQLite with Celery tasks run
in-process. DATABASE_URL and REDIS_URL switch to PostgreSQL and real workers.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF

from digitsite.logs import logging_settings

BASE_DIR = Path(__file__).resolve().parents[2]

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
# A development key only while DEBUG is on; production must set SECRET_KEY.
SECRET_KEY = env("SECRET_KEY", default="django-insecure-dev-only-key" if DEBUG else environ.Env.NOTSET)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# JSON under /api/, Django's HTML page elsewhere.
CSRF_FAILURE_VIEW = "recognizer.api.errors.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "recognizer",
]

MIDDLEWARE = [
    # First: request id, one log line and the HTTP metrics for every answer (digitsite/observability.py).
    "digitsite.observability.RequestObservabilityMiddleware",
    # /healthz, /readyz and /metrics, before the host and HTTPS checks that would refuse probes (digitsite/probes.py).
    "digitsite.probes.ProbesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as axes requires: turns a locked-out log-in attempt into the lockout page (digitsite/lockout.py).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "digitsite.urls"
WSGI_APPLICATION = "digitsite.wsgi.application"
ASGI_APPLICATION = "digitsite.asgi.application"

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
            ],
        },
    },
]

# Content-Security-Policy on every answer (django-csp); a view that sets its own header keeps it (the image API's).
# Scripts only from this site's own files: no inline script, no eval, so injected markup cannot run.
# Images: the site's, plus data: URLs (the admin's thumbnails, Swagger UI's icons); an image cannot run anything.
# Styles only from the site's own stylesheets too: no style attribute or <style> element anywhere (the admin's
# additions are in static/css/admin.css), so injected markup cannot restyle a page either.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Database: SQLite in the project folder unless DATABASE_URL says otherwise.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Settings for a web app that writes on most requests (every prediction is a row):
    # - journal_mode=WAL: readers never wait for the writer, nor the writer for readers; a commit appends to
    #   the log instead of rewriting pages and the journal.
    # - synchronous=NORMAL: in WAL mode a commit is then not fsynced, only each checkpoint. A crash of the
    #   process loses nothing; a power cut may lose the last commits before a checkpoint, never corrupt the
    #   file. FULL would fsync on every prediction, which costs more than the prediction itself.
    # - transaction_mode=IMMEDIATE: a transaction takes the write lock when it begins, so two requests never
    #   both read and then fail to upgrade to writers ("database is locked" without waiting).
    # - timeout (the busy timeout): a writer waits up to 20 s for the one before it instead of failing.
    # - CONN_MAX_AGE: one connection per worker kept open, not a connect and the pragmas on every request.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The lockout backend first: while locked out, even the right password is refused.
AUTHENTICATION_BACKENDS = ["digitsite.lockout.LockoutBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "recognizer:draw"
LOGOUT_REDIRECT_URL = "landing"

# Password guessing (django-axes): after AXES_FAILURE_LIMIT wrong passwords in a row for one username from one
# address, every log-in attempt for that pair (site, admin, API token) is refused for AXES_COOLOFF_MINUTES
# after the last attempt. The key is the pair, not either alone: on the username alone anyone could lock any user
# out of their account by typing wrong passwords for it (a denial of service on, say, "admin"); on the address alone
# one person's typos would lock out a whole office or mobile network behind one address. What the pair does not
# stop is guessing one account from many addresses, or one password on many accounts from one address (a rate
# limit per address on the log-in forms would). A success resets the pair's count: whoever has the password gains
# nothing by resetting it, and a user's old typos do not count against them later.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "digitsite.lockout.client_ip"
AXES_LOCKOUT_CALLABLE = "digitsite.lockout.lockout_response"
# Behind a reverse proxy, the number of proxies that append to X-Forwarded-For: the client's address is then
# the one the outermost proxy saw. 0: REMOTE_ADDR, and X-Forwarded-For is ignored (a client could write anything).
NUM_PROXIES = env.int("NUM_PROXIES", default=0)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": env("DEFAULT_FILE_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage")},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="digits@localhost")

# Uploads: refuse big bodies before Django reads them into memory.
RECOGNIZER_MAX_UPLOAD_BYTES = env.int("RECOGNIZER_MAX_UPLOAD_BYTES", default=5 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = RECOGNIZER_MAX_UPLOAD_BYTES * 2 + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = RECOGNIZER_MAX_UPLOAD_BYTES + 1024

# The recognizer: limits, model files, retraining and its gate.
RECOGNIZER = {
    "MAX_UPLOAD_BYTES": RECOGNIZER_MAX_UPLOAD_BYTES,
    "MAX_PIXELS": env.int("RECOGNIZER_MAX_PIXELS", default=16_000_000),
    "MAX_BATCH": env.int("RECOGNIZER_MAX_BATCH", default=64),
    # A whole batch request; digits are small, so a few single-image limits suffice.
    "MAX_BATCH_UPLOAD_BYTES": env.int("RECOGNIZER_MAX_BATCH_UPLOAD_BYTES", default=4 * RECOGNIZER_MAX_UPLOAD_BYTES),
    "DEFAULT_WAIT_SECONDS": 5.0,
    "MAX_WAIT_SECONDS": 30.0,
    "INITIAL_MODEL_PATH": Path(
        env.str("RECOGNIZER_INITIAL_MODEL", default=str(BASE_DIR / "training" / "artifacts" / "digit_cnn_v1.keras"))
    ),
    # The detector shipped beside the initial model: it says "not a digit" and "several digits".
    "INITIAL_DETECTOR_PATH": Path(
        env.str(
            "RECOGNIZER_INITIAL_DETECTOR",
            default=str(BASE_DIR / "training" / "artifacts" / "digit_detector_v2.keras"),
        )
    ),
    "MODEL_CACHE_DIR": Path(env.str("RECOGNIZER_MODEL_CACHE", default=str(BASE_DIR / ".model-cache"))),
    "MNIST_DIR": env("MNIST_DIR", default=""),
    # Threads per inference call; 0 picks min(2, CPU count).
    "INFERENCE_THREADS": env.int("RECOGNIZER_INFERENCE_THREADS", default=0),
    "PENDING_SWEEP_AFTER_SECONDS": env.int("RECOGNIZER_PENDING_SWEEP_AFTER", default=120),
    "AUTO_ACCEPT_CORRECTIONS": env.bool("RECOGNIZER_AUTO_ACCEPT_CORRECTIONS", default=False),
    "RETRAIN_AFTER_ACCEPTED": env.int("RECOGNIZER_RETRAIN_AFTER_ACCEPTED", default=200),
    "RETRAIN_EPOCHS": env.int("RECOGNIZER_RETRAIN_EPOCHS", default=3),
    # Without a broker, run a retraining in a thread of the web process instead of inside the request.
    "RETRAIN_IN_BACKGROUND": env.bool("RECOGNIZER_RETRAIN_IN_BACKGROUND", default=True),
    "RETRAIN_REPLAY_IMAGES": env.int("RECOGNIZER_RETRAIN_REPLAY_IMAGES", default=6000),
    "RETRAIN_HOLDOUT_FRACTION": env.float("RECOGNIZER_RETRAIN_HOLDOUT_FRACTION", default=0.2),
    "GATE_MAX_MNIST_DROP": env.float("RECOGNIZER_GATE_MAX_MNIST_DROP", default=0.001),
    "GATE_MAX_HOLDOUT_DROP": env.float("RECOGNIZER_GATE_MAX_HOLDOUT_DROP", default=0.0),
    # A retrained version's detector may flag at most this share of MNIST check images...
    "GATE_MAX_FLAGGED": env.float("RECOGNIZER_GATE_MAX_FLAGGED", default=0.01),
    # ...it may flag at most this much less of the generated non-digit check set than its parent's...
    "GATE_MAX_NON_DIGIT_DROP": env.float("RECOGNIZER_GATE_MAX_NON_DIGIT_DROP", default=0.02),
    # ...and its calibration error (ECE on MNIST test) may rise at most this much above its parent's.
    "GATE_MAX_ECE_RISE": env.float("RECOGNIZER_GATE_MAX_ECE_RISE", default=0.005),
}

# Celery: a real broker when REDIS_URL is set, otherwise tasks run in-process.
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
# Longer than any task (retraining included), so Redis never re-delivers a running task.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3 * 3600, "socket_connect_timeout": 2, "socket_timeout": 10}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request must not hang on a dead broker: give up fast, the sweep re-sends.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_BEAT_SCHEDULE = {
    "sweep-pending-submissions": {"task": "recognizer.tasks.submissions_sweep_pending", "schedule": 60.0},
    "sweep-orphan-files": {"task": "recognizer.tasks.files_sweep_orphans", "schedule": 3600.0},
}

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # DRF's, with the token looked up in each process's memory once warm (recognizer/caching.py).
        "recognizer.api.authentication.TokenAuthentication",
        # DRF's, with a JSON `csrf_failed` refusal when a session call lacks its CSRF token.
        "recognizer.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "recognizer.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "recognizer.api.throttling.AnonRateThrottle",
        "recognizer.api.throttling.UserRateThrottle",
    ],
    # The same client address for the throttles as for the log-in lockout.
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("THROTTLE_ANON", default="60/minute"),
        "user": env("THROTTLE_USER", default="1200/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Digit recognizer API",
    "DESCRIPTION": "Submit handwritten digits, read predictions, correct them.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Ids in API paths are 1 to 18 digits (see recognizer/api/urls.py).
    "PATH_CONVERTER_OVERRIDES": {"api_id": {"type": "integer", "minimum": 1, "maximum": 999_999_999_999_999_999}},
}

# LOG_FORMAT: "plain" (the default here and in `make run`) or "json" (production's default): digitsite/logs.py.
LOG_FORMAT = env("LOG_FORMAT", default="plain")
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = logging_settings(log_format=LOG_FORMAT, level=LOG_LEVEL)

# Operations (docs/operations.md). /metrics answers only to `Authorization: Bearer <METRICS_TOKEN>`, and not at
# all without one. Prometheus' multiprocess mode is switched on by PROMETHEUS_MULTIPROC_DIR, read by prometheus_client.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# A Celery worker touches this file every WORKER_HEARTBEAT_SECONDS (digitsite/heartbeat.py); give each worker on a
# machine its own file.
WORKER_HEARTBEAT_FILE = env("WORKER_HEARTBEAT_FILE", default="/tmp/digits-worker.heartbeat")
WORKER_HEARTBEAT_SECONDS = env.float("WORKER_HEARTBEAT_SECONDS", default=10.0)

# Error reporting, off unless SENTRY_DSN is set (digitsite/sentry.py).
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    from digitsite.sentry import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", default="production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )
