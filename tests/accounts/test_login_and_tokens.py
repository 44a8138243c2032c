from __future__ import annotations

from django.test import Client
from rest_framework.test import APIClient

from allreview.audit.models import AuditEvent
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


def test_repeated_failed_logins_lock_the_account_for_that_address(db, settings):
    UserFactory(username="dora")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post("/login/", {"username": "dora", "password": "wrong"}).status_code == 200
    # the failure that reaches the limit locks at once
    assert client.post("/login/", {"username": "dora", "password": "wrong"}).status_code == 429
    locked = client.post("/login/", {"username": "dora", "password": PASSWORD})
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert AuditEvent.objects.filter(action="login.failed").count() >= settings.AXES_FAILURE_LIMIT


def test_a_good_login_still_works_before_the_limit(db):
    UserFactory(username="erin")
    client = Client()
    client.post("/login/", {"username": "erin", "password": "wrong"})
    response = client.post("/login/", {"username": "erin", "password": PASSWORD})
    assert response.status_code == 302


def test_token_is_shown_once_works_and_can_be_revoked(alice):
    client = Client()
    client.force_login(alice)
    page = client.post("/account/token/", {"action": "issue"}).content.decode()
    key = page.split('id="new-token">')[1].split("<")[0]
    assert key not in client.get("/account/token/").content.decode()  # shown once
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/cases/").status_code == 200
    client.post("/account/token/", {"action": "revoke"})
    assert api.get("/api/v1/cases/").status_code == 401
    assert list(AuditEvent.objects.values_list("action", flat=True).order_by("id")) == [
        "token.issue",
        "token.revoke",
    ]


def test_replacing_a_token_revokes_the_old_one(alice):
    from allreview.accounts.services import api_token_issue

    first = api_token_issue(user=alice)
    second = api_token_issue(user=alice)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    assert api.get("/api/v1/cases/").status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Token {second}")
    assert api.get("/api/v1/cases/").status_code == 200


def test_session_writes_to_the_api_need_csrf(alice, lab_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post("/api/v1/cases/", {"project": lab_a.pk, "patient_code": "X"})
    assert response.status_code == 403
    assert "CSRF" in response.content.decode()
