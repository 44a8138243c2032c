"""Settings for the test suite: the real settings module, on PostgreSQL, with test-only defaults."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/allreview")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# Tests that enqueue go through a real Redis (database 15, apart from a developer's own data).
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("ALLREVIEW_VAR_DIR", tempfile.mkdtemp(prefix="allreview-test-var-"))

from allreview.settings import *  # noqa: E402,F403
from allreview.settings import STORAGES  # noqa: E402

# Templates use {% static %}; the manifest storage would need collectstatic before every run.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405  (whitenoise warns when it is missing)
