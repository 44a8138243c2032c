"""Object storage: STORAGE_BACKEND=s3 makes private, signed, short-lived objects, and a worker
classifies from the bucket alone (an S3 API simulated in process by moto)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from allreview.cases import classification
from allreview.cases.ingest import IncomingFile
from allreview.cases.models import CaseStatus, Prediction
from allreview.cases.services import case_upload

REPO = Path(__file__).resolve().parents[2]
BUCKET = "allreview-test"
S3_ENV = {
    "STORAGE_BACKEND": "s3",
    "AWS_STORAGE_BUCKET_NAME": BUCKET,
    "AWS_S3_REGION_NAME": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_LOCATION": "lab",
}


def settings_in_subprocess(**env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STORAGE_"))}
    base.update(DJANGO_SETTINGS_MODULE="allreview.settings", SECRET_KEY="s" * 60, **env)
    code = "from django.conf import settings; import json; print(json.dumps(settings.STORAGES['default']))"
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=REPO, env=base, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.fixture(scope="module")
def s3_options() -> dict[str, object]:
    result = settings_in_subprocess(**S3_ENV)
    assert result.returncode == 0, result.stderr
    default = json.loads(result.stdout.strip().splitlines()[-1])
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    return default["OPTIONS"]


def test_s3_objects_are_private_signed_and_short_lived(s3_options):
    assert s3_options["default_acl"] == "private"
    assert s3_options["querystring_auth"] is True
    assert s3_options["querystring_expire"] == 300
    assert s3_options["file_overwrite"] is False


def test_local_storage_is_the_default():
    result = settings_in_subprocess()
    assert json.loads(result.stdout.strip().splitlines()[-1])["BACKEND"].endswith(
        "FileSystemStorage"
    )


def test_s3_without_a_bucket_or_an_unknown_backend_is_a_clear_error():
    no_bucket = settings_in_subprocess(STORAGE_BACKEND="s3")
    assert "needs AWS_STORAGE_BUCKET_NAME" in no_bucket.stderr
    unknown = settings_in_subprocess(STORAGE_BACKEND="nfs")
    assert "STORAGE_BACKEND='nfs' is not local or s3" in unknown.stderr


@pytest.fixture
def s3(settings, s3_options, monkeypatch):
    moto = pytest.importorskip("moto")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with moto.mock_aws():
        import boto3

        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_options},
        }
        yield client


@pytest.mark.django_db
def test_a_worker_classifies_from_the_bucket_without_local_media(
    s3, settings, tiny_checkpoint, alice, charlie, lab_a, cell_bytes, client
):
    from allreview.mlmodels.services import model_version_promote, model_version_register

    version = model_version_register(checkpoint=tiny_checkpoint, name="tiny-s3")
    model_version_promote(version=version, reason="test")
    files = [IncomingFile(name=f"c{i}.png", data=cell_bytes(300 + i)) for i in range(4)]
    case = case_upload(project=lab_a, user=alice, patient_code="S3-1", files=files)

    classification.case_classify(case_id=case.pk)

    case.refresh_from_db()
    assert case.status == CaseStatus.READY, case.status_detail
    assert Prediction.objects.filter(cell__case=case).count() == 4
    # Nothing went to the local disk: images and checkpoint live in the bucket only.
    assert not Path(settings.MEDIA_ROOT).exists() or not any(Path(settings.MEDIA_ROOT).rglob("*.*"))
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    cell = case.cells.first()
    assert f"lab/{cell.image}" in keys and f"lab/{version.checkpoint.name}" in keys
    grants = s3.get_object_acl(Bucket=BUCKET, Key=f"lab/{cell.image}")["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    assert all(g["Grantee"].get("Type") == "CanonicalUser" for g in grants)

    url = default_storage.url(cell.image.name)
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url

    # Reviewers get the image streamed through Django, after the membership check.
    client.force_login(alice)
    image_url = reverse("review:cell_image", args=[cell.pk])
    response = client.get(image_url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == files[0].data
    client.force_login(charlie)
    assert client.get(image_url).status_code == 404
