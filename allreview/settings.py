"""AllReview settings, read from the environment.

Every variable is listed with its default and meaning in docker/.env.example. Defaults give the
embedded first run (SQLite and a filesystem broker under var/); production sets DATABASE_URL,
CELERY_BROKER_URL, SECRET_KEY and DEBUG=false.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    """A string from NAME, or from the file named by NAME_FILE (for secrets mounted as files)."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text().strip()
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from exc


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from exc


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


VAR_DIR = Path(os.environ.get("ALLREVIEW_VAR_DIR", BASE_DIR / "var"))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-for-debug"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allreview.accounts",
    "allreview.projects",
    "allreview.audit",
    "allreview.mlmodels",
    "allreview.cases",
    "allreview.review",
    "allreview.api",
    "allreview.demo",
    "allreview.training",
    "allreview.pretraining",
    "allreview.exports",
    "allreview.agreement",
    "allreview.interop",  # issue 15: FHIR reports and the printable report
    "allreview.quality",
    "allreview.fields",
    "django_celery_beat",
    "axes",
    "allreview.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into a clear 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "allreview.urls"
WSGI_APPLICATION = "allreview.wsgi.application"

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

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'allreview.sqlite3'}")
# Connections are kept for a minute and checked before each request's first query: a connection
# the server dropped (a restart, a failover, an idle timeout) is replaced instead of failing one
# request with a 500.
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60), conn_health_checks=True
    )
}
# Production connects as an app role that owns nothing and may only append to the append-only
# tables; migrations run as the schema owner from MIGRATION_DATABASE_URL (same database), which
# then grants DATABASE_APP_ROLE its rights. docs/deployment.md, allreview/ops/dbroles.py.
MIGRATION_DATABASE_URL = env_str("MIGRATION_DATABASE_URL")
MIGRATION_DATABASE: dict[str, object] = {}
if MIGRATION_DATABASE_URL:
    _owner = dj_database_url.parse(MIGRATION_DATABASE_URL)
    if _owner["NAME"] != DATABASES["default"]["NAME"]:
        raise ImproperlyConfigured("MIGRATION_DATABASE_URL must name the same database")
    MIGRATION_DATABASE = {k: _owner[k] for k in ("USER", "PASSWORD", "HOST", "PORT")}
DATABASE_APP_ROLE = env_str("DATABASE_APP_ROLE")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the worker and beat share one file: wait for locks, write-ahead log.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: refuses logins for a user/address locked out after repeated failures.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_float("LOGIN_COOLOFF_HOURS", 0.25)
# A user name is locked only for the address that failed, so one attacker cannot lock a user
# out everywhere. Behind the lab's TLS proxy the address comes from X-Forwarded-For, counting
# TRUSTED_PROXY_COUNT proxies from the right (allreview.lib.clientip); 0: REMOTE_ADDR.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "allreview.lib.clientip.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False  # lock-outs are logged; every successful login need not be
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "review:case_list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# The site's own files (the stylesheet); an app's own stay in its static/ folder (review/case.js).
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Cell images are never public media: they are served only through views that check membership.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = None

# Storage: local files (MEDIA_ROOT) for one host; S3-compatible object storage when workers run on
# other hosts and must read cell images without the web server's disk. Objects stay private: the
# app streams them through views that check membership, and any URL it signs expires quickly.
STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "local")
if STORAGE_BACKEND == "s3":
    AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
    if not AWS_STORAGE_BUCKET_NAME:
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME")
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
            "location": env_str("AWS_LOCATION"),
            "addressing_style": env_str("AWS_S3_ADDRESSING_STYLE") or None,
            "signature_version": "s3v4",
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": env_int("AWS_QUERYSTRING_EXPIRE", 300),
            "file_overwrite": False,
        },
    }
elif STORAGE_BACKEND != "local":
    raise ImproperlyConfigured(f"STORAGE_BACKEND={STORAGE_BACKEND!r} is not local or s3")

# Security: production (DEBUG off) gets HTTPS-only cookies and HSTS; a lab behind a TLS proxy
# sets SECURE_PROXY_SSL_HEADER_ENABLED.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
X_FRAME_OPTIONS = "DENY"
# The HSTS preload list is for public domains; a lab's host opts in with SECURE_HSTS_PRELOAD.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
if env_bool("SECURE_PROXY_SSL_HEADER_ENABLED", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an API client without credentials gets 401 with WWW-Authenticate.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "allreview.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "allreview.api.exceptions.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AllReview API",
    "DESCRIPTION": "Upload patient cell image sets, read predictions, relabel cells.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and the interactive docs are for signed-in users, like the API they describe.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "LabelValueEnum": "allreview.cases.models.LabelValue",
        "CellClassEnum": "allreview.cases.models.CellClass",
    },
}

# Upload limits (per upload request / archive / image).
UPLOAD_MAX_FILES = env_int("UPLOAD_MAX_FILES", 5000)
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 2 * 1024**3)
UPLOAD_MAX_FILE_BYTES = env_int("UPLOAD_MAX_FILE_BYTES", 20 * 1024**2)
UPLOAD_MIN_SIDE = env_int("UPLOAD_MIN_SIDE", 64)
UPLOAD_MAX_SIDE = env_int("UPLOAD_MAX_SIDE", 4096)
UPLOAD_MAX_ARCHIVE_RATIO = env_float("UPLOAD_MAX_ARCHIVE_RATIO", 200.0)
THUMBNAIL_SIZE = env_int("THUMBNAIL_SIZE", 128)
# Whole smear fields (issue 14): an image whose longer side is at least FIELD_MIN_SIDE and that
# is not a cell on black is a field; fields above FIELD_MAX_PIXELS are refused. A project's
# typical lymphocyte diameter in field pixels (its scale) defaults to FIELD_CELL_DIAMETER.
FIELD_MIN_SIDE = env_int("FIELD_MIN_SIDE", 800)
FIELD_MAX_PIXELS = env_int("FIELD_MAX_PIXELS", 12_000_000)
FIELD_CELL_DIAMETER = env_float("FIELD_CELL_DIAMETER", 105.0)
FIELD_SEGMENT_LEASE_SECONDS = env_int("FIELD_SEGMENT_LEASE_SECONDS", 300)
# The format of a patient code (a regular expression the whole code must match). The default
# takes letters, digits, '.', '_' and '-' (at most 64); a lab tightens it to its own scheme. Codes
# that look like a name (two capitalised words) or hold a date are refused whatever it allows.
PATIENT_CODE_PATTERN = os.environ.get("PATIENT_CODE_PATTERN", r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Django's own request limits must not cut an upload below ours. Every uploaded file streams to
# a temporary file (FILE_UPLOAD_TEMP_DIR, default the system's), however small: a 1 GiB upload
# of many small cells would otherwise sit in memory file by file; the upload service reads them
# from disk one at a time.
DATA_UPLOAD_MAX_NUMBER_FILES = UPLOAD_MAX_FILES
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024**2
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.TemporaryFileUploadHandler"]
FILE_UPLOAD_TEMP_DIR = os.environ.get("FILE_UPLOAD_TEMP_DIR") or None

# Classification.
MODEL_DEVICE = os.environ.get("MODEL_DEVICE", "auto")
INFERENCE_BATCH_SIZE = env_int("INFERENCE_BATCH_SIZE", 0)  # 0: the profile's own
INFERENCE_CHUNK_CELLS = env_int("INFERENCE_CHUNK_CELLS", 256)
# Models a worker keeps loaded (projects run different production models).
MODEL_CACHE_SIZE = env_int("MODEL_CACHE_SIZE", 3)
STARTER_MODEL_PROFILE = os.environ.get("STARTER_MODEL_PROFILE", "tiny")
BLAST_FLAG_THRESHOLD = env_float("BLAST_FLAG_THRESHOLD", 0.2)

# Celery: Redis in production; with no server, kombu's filesystem transport under var/.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    # Longer than the slowest task (training), so acks_late redelivery never doubles live work.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 4 * 3600),
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu expects its folders to exist; every process (web, worker, beat, commands) may be first.
    for _sub in ("out", "processed", "control"):
        (BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        {
            "data_folder_in": str(BROKER_DIR / "out"),
            "data_folder_out": str(BROKER_DIR / "out"),
            "processed_folder": str(BROKER_DIR / "processed"),
            # kombu's default is ./control, relative to wherever a process was started
            "control_folder": str(BROKER_DIR / "control"),
            "store_processed": False,
        }
    )
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "allreview.cases.tasks.case_classify": {"queue": "inference"},
    "allreview.cases.tasks.cases_classify_waiting": {"queue": "inference"},
    "allreview.review.tasks.prediction_saliency": {"queue": "inference"},
    "allreview.cases.tasks.case_reclassify": {"queue": "inference"},
    "allreview.cases.tasks.cases_reclassify_open": {"queue": "inference"},
    "allreview.fields.tasks.case_segment": {"queue": "inference"},
    "allreview.fields.tasks.cell_classify": {"queue": "inference"},
    "allreview.training.tasks.training_run_execute": {"queue": "training"},
    "allreview.training.tasks.evaluation_rescore": {"queue": "training"},
    "allreview.pretraining.tasks.pretrain_run_execute": {"queue": "training"},
    # issue 15: FHIR pushes wait on another server, never on the model: the default queue.
    "allreview.interop.tasks.fhir_push_send": {"queue": "default"},
    "allreview.interop.tasks.fhir_pushes_sweep": {"queue": "default"},
}
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 1800)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 2100)
# A classifying worker renews its claim on a case this often; a claim not renewed for the lease
# lost its worker (killed, host gone): the sweep queues the case again and the page offers Retry.
CLASSIFY_HEARTBEAT_SECONDS = env_int("CLASSIFY_HEARTBEAT_SECONDS", 30)
CLASSIFY_CLAIM_LEASE_SECONDS = env_int("CLASSIFY_CLAIM_LEASE_SECONDS", 150)
if CLASSIFY_CLAIM_LEASE_SECONDS < 2 * CLASSIFY_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        "CLASSIFY_CLAIM_LEASE_SECONDS must be at least twice CLASSIFY_HEARTBEAT_SECONDS"
    )
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Cases that waited for a production model, or whose worker died mid-claim, are picked up again.
    "classify-waiting-cases": {
        "task": "allreview.cases.tasks.cases_classify_waiting",
        "schedule": env_int("CLASSIFY_SWEEP_SECONDS", 60),
    },
    "training-reap-stale-runs": {
        "task": "allreview.training.tasks.training_runs_reap",
        "schedule": 300,
    },
    "training-on-new-labels": {
        "task": "allreview.training.tasks.training_runs_on_new_labels",
        "schedule": env_int("TRAINING_NEW_LABELS_CHECK_SECONDS", 900),
    },
    # issue 15: new sign-offs of projects that push to a FHIR server, and pushes left behind.
    "fhir-pushes-sweep": {
        "task": "allreview.interop.tasks.fhir_pushes_sweep",
        "schedule": env_int("FHIR_PUSH_SWEEP_SECONDS", 30),
    },
}
# The nightly retraining lives in the database (django-celery-beat), editable in the admin;
# a migration creates it. The entries above are housekeeping, kept in code.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# FHIR reports (issue 15, docs/fhir.md). Identifier systems of this installation live under
# FHIR_SYSTEM_BASE (set it to the installation's own URL); pushes retry with exponential backoff.
FHIR_SYSTEM_BASE = env_str("FHIR_SYSTEM_BASE", "https://allreview.example.org/fhir")
FHIR_PUSH_MAX_ATTEMPTS = env_int("FHIR_PUSH_MAX_ATTEMPTS", 6)
FHIR_PUSH_BACKOFF_SECONDS = env_int("FHIR_PUSH_BACKOFF_SECONDS", 30)
FHIR_PUSH_BACKOFF_MAX_SECONDS = env_int("FHIR_PUSH_BACKOFF_MAX_SECONDS", 3600)
FHIR_PUSH_TIMEOUT_SECONDS = env_int("FHIR_PUSH_TIMEOUT_SECONDS", 15)

# Retraining.
TRAINING_SOFT_TIME_LIMIT = env_int("TRAINING_SOFT_TIME_LIMIT", 3 * 3600)
TRAINING_HEARTBEAT_SECONDS = env_int("TRAINING_HEARTBEAT_SECONDS", 30)
TRAINING_HEARTBEAT_TIMEOUT = env_int("TRAINING_HEARTBEAT_TIMEOUT", 600)
TRAINING_MAX_ATTEMPTS = env_int("TRAINING_MAX_ATTEMPTS", 3)
# Self-supervised pretraining (SimCLR) on a project's own cells, asked for on the training page.
PRETRAIN_EPOCHS = env_int("PRETRAIN_EPOCHS", 20)
PRETRAIN_MIN_CELLS = env_int("PRETRAIN_MIN_CELLS", 64)
# The crops are held in memory while it learns: 5,000 cells at 64 px is about 250 MB.
PRETRAIN_MAX_CELLS = env_int("PRETRAIN_MAX_CELLS", 5000)
# A run that has not reported an epoch for this long is taken for dead and released.
PRETRAIN_STALE_SECONDS = env_int("PRETRAIN_STALE_SECONDS", 3600)
# Drift warnings: the newest week against the earlier weeks of the same model.
DRIFT_BANDS = {
    "override_rate": env_float("DRIFT_OVERRIDE_BAND", 0.10),
    "blast_rate": env_float("DRIFT_BLAST_RATE_BAND", 0.15),
    "mean_uncertainty": env_float("DRIFT_UNCERTAINTY_BAND", 0.05),
}

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
# plain for a terminal; json (one object a line, patient identifiers scrubbed) for log collectors.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} is not plain or json")
# Celery workers would otherwise replace the root logger's handlers with their own plain format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT == "plain"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "allreview.ops.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
