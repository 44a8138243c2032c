"""The model-ready input written at upload (issue 12, must-have 4): each cell's centre crop at the
input size of the model that will classify it, cut from the same decode as the checks and the
thumbnail, in worker processes; inference reads it instead of decoding the original again."""

from __future__ import annotations

import io
import os
import signal

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from allreview.cases import classification, ingest
from allreview.cases.classification import case_classify
from allreview.cases.ingest import IncomingFile, UploadRejected, check_files
from allreview.cases.models import Prediction
from allreview.cases.services import case_upload
from allreview.mlmodels.models import Deployment
from classifier.crops import PreparedCrop, crop_image
from classifier.profiles import DEFAULT_PROFILE, PROFILES
from tests.factories import ModelVersionFactory

FORMATS = {"a.png": "PNG", "b.bmp": "BMP", "c.jpg": "JPEG", "d.tif": "TIFF"}


def _stored(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def _upload(lab, user, cell_bytes, code="IN-1"):
    files = [IncomingFile(n, cell_bytes(i, fmt)) for i, (n, fmt) in enumerate(FORMATS.items())]
    return case_upload(project=lab, user=user, patient_code=code, files=files)


def test_each_cell_gets_the_very_crop_inference_would_cut_from_its_original(
    lab_a, alice, cell_bytes
):
    geometry = PROFILES[DEFAULT_PROFILE].crop_geometry  # no production model yet
    case = _upload(lab_a, alice, cell_bytes)
    for cell in case.cells.all():
        assert cell.model_input_geometry == geometry.key
        stored = Image.open(io.BytesIO(_stored(cell.model_input.name)))
        assert stored.format == "PNG" and stored.size == (geometry.size, geometry.size)
        expected = crop_image(
            _stored(cell.image.name), fraction=geometry.fraction, size=geometry.size, name="x"
        )
        assert stored.convert("RGB").tobytes() == expected.tobytes(), cell.image_format


def test_the_crop_follows_the_projects_production_model(lab_a, alice, cell_bytes):
    version = ModelVersionFactory(name="fast-model", project=lab_a)
    version.profile = "fast"
    version.save()
    Deployment.objects.create(project=lab_a, model_version=version, kind="promote", actor=alice)
    case = _upload(lab_a, alice, cell_bytes, code="IN-2")
    assert {c.model_input_geometry for c in case.cells.all()} == {"300/450@112"}


def test_inference_reads_the_prepared_crops_and_predicts_as_from_the_originals(
    production_model, lab_a, alice, cell_bytes, monkeypatch
):
    from allreview.mlmodels.runtime import predictor_for

    case = _upload(lab_a, alice, cell_bytes, code="IN-3")
    read: list[str] = []
    real_read = classification._read
    monkeypatch.setattr(classification, "_read", lambda name: read.append(name) or real_read(name))
    case_classify(case_id=case.pk)
    cells = list(case.cells.order_by("id"))
    assert sorted(read) == sorted(c.model_input.name for c in cells)  # no original decoded
    predictor = predictor_for(production_model)
    from_originals = predictor.predict([_stored(c.image.name) for c in cells])
    from_crops = predictor.predict([PreparedCrop(_stored(c.model_input.name)) for c in cells])
    saved = {p.cell_id: p.probability for p in Prediction.objects.filter(cell__case=case)}
    for cell, a, b in zip(cells, from_originals, from_crops, strict=True):
        assert a.probability == pytest.approx(b.probability, abs=1e-6)
        assert saved[cell.pk] == pytest.approx(a.probability, abs=1e-6)


def test_a_model_of_another_geometry_decodes_the_originals(
    production_model, lab_a, alice, cell_bytes, monkeypatch
):
    case = _upload(lab_a, alice, cell_bytes, code="IN-4")
    case.cells.update(model_input_geometry="300/450@112")  # written for another model
    read: list[str] = []
    real_read = classification._read
    monkeypatch.setattr(classification, "_read", lambda name: read.append(name) or real_read(name))
    case_classify(case_id=case.pk)
    assert sorted(read) == sorted(c.image.name for c in case.cells.all())
    assert Prediction.objects.filter(cell__case=case).count() == len(FORMATS)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one core: checks run in threads")
def test_checks_run_in_worker_processes_and_a_dead_worker_refuses_the_upload_cleanly(
    db, cell_bytes
):
    files = [IncomingFile("a.png", cell_bytes(1)), IncomingFile("b.png", cell_bytes(2))]
    pool = ingest.check_pool()
    assert isinstance(pool, ingest.ProcessPoolExecutor)
    assert len(check_files(files)) == 2  # the pool is up: its workers exist
    for process in list(pool._processes.values()):  # a decoder crash, as hostile bytes might cause
        os.kill(process.pid, signal.SIGKILL)
    with pytest.raises(UploadRejected) as refused:
        check_files(files)
    assert "could not be checked" in str(refused.value)
    assert ingest.check_pool() is not pool  # a fresh pool for the next upload
    assert len(check_files(files)) == 2


OWNER = """
import io, os
import django
django.setup()
from PIL import Image
from allreview.cases import ingest
png = io.BytesIO()
Image.new("RGB", (100, 100), (200, 10, 10)).save(png, "PNG")
ingest.check_files([ingest.IncomingFile("a.png", png.getvalue())])
print(*[p.pid for p in ingest.check_pool()._processes.values()], flush=True)
import time
time.sleep(120)
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one core: checks run in threads")
def test_check_workers_exit_when_the_server_that_owns_them_is_killed(tmp_path):
    """A web server stopped by SIGTERM (scripts/run.sh, a supervisor) runs no exit hooks: its
    checking workers notice on their own and go, instead of waiting for work forever."""
    import subprocess
    import sys
    import time

    from tests.ops.procs import REPO

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(REPO)}
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        workers = [int(pid) for pid in owner.stdout.readline().split()]
        assert workers and all(os.path.exists(f"/proc/{pid}") for pid in workers)
    finally:
        owner.send_signal(signal.SIGTERM)
        owner.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(os.path.exists(f"/proc/{pid}") for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if os.path.exists(f"/proc/{pid}")]
