"""`manage.py devserver`: runserver (static files included) without the keep-alive stall.

Used by scripts/run.sh. A command of its own rather than an override of `runserver`, because
django.contrib.staticfiles comes first in INSTALLED_APPS and its runserver would shadow ours."""

from __future__ import annotations

from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand

from allreview.lib.devserver import NoDelayWSGIServer


class Command(RunserverCommand):
    help = (
        "Start the development web server with TCP_NODELAY on every connection "
        "(no ~40 ms wait per response on keep-alive connections)."
    )
    server_cls = NoDelayWSGIServer
