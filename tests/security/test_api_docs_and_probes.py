"""The API's schema and docs need a signed-in user; the public readiness probe names no model."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_schema_and_docs_refuse_anonymous_users(db, path):
    response = Client().get(path)
    assert response.status_code in {401, 403}
    assert b"openapi" not in response.content.lower()


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_schema_and_docs_open_for_a_signed_in_user(alice, path):
    client = Client()
    client.force_login(alice)
    assert client.get(path).status_code == 200
