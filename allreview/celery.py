"""The Celery application. Workers: `celery -A allreview worker -Q default,inference,training`."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "allreview.settings")

app = Celery("allreview")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
