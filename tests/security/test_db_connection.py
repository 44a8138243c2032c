"""A database connection the server dropped does not fail the next request.

Like a gunicorn thread, this test serves requests one after another from one thread, so the
thread's persistent connection (CONN_MAX_AGE) is reused. Between two requests another session
terminates that connection's backend (a PostgreSQL restart, a failover, an idle timeout); with
CONN_HEALTH_CHECKS the next request notices and reconnects instead of answering 500.
"""

from __future__ import annotations

import io

import psycopg
import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from rest_framework.authtoken.models import Token

SUPERUSER = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"


def serve(handler: WSGIHandler, path: str, token: str) -> int:
    """One request through the real WSGI cycle (request_started/finished signals included)."""
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "HTTP_HOST": "localhost",
        "HTTP_AUTHORIZATION": f"Token {token}",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
    }
    statuses: list[str] = []
    response = handler(environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(response)
    response.close()  # sends request_finished, as a WSGI server does
    return int(statuses[0].split()[0])


def test_the_settings_turn_on_health_checks_for_persistent_connections():
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0


@pytest.mark.django_db(transaction=True)
def test_a_request_after_the_server_killed_the_connection_succeeds(alice):
    token = Token.objects.create(user=alice).key
    handler = WSGIHandler()
    assert serve(handler, "/api/v1/projects/", token) == 200
    pid = connection.connection.info.backend_pid  # the connection stays open (CONN_MAX_AGE)
    with psycopg.connect(SUPERUSER, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]

    assert serve(handler, "/api/v1/projects/", token) == 200
    assert connection.connection.info.backend_pid != pid
