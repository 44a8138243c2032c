"""Shared fixtures: alice (lead of lab A), bob (member of lab B), charlie (no project); dora and
erin review in lab A; a ten-cell classified case; the populated project of the permission matrix
(`world`, from tests/world.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client

from allreview.cases.models import Case
from allreview.projects.models import Project, Role
from classifier.synthetic import make_cell
from tests.factories import (
    CaseFactory,
    CellFactory,
    MembershipFactory,
    ModelVersionFactory,
    ProjectFactory,
    UserFactory,
)
from tests.helpers import encode, login

pytest_plugins = ["tests.world"]


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def lab_a(db) -> Project:
    return ProjectFactory(name="Lab A")


@pytest.fixture
def lab_b(db) -> Project:
    return ProjectFactory(name="Lab B")


@pytest.fixture
def alice(lab_a):
    user = UserFactory(username="alice")
    MembershipFactory(project=lab_a, user=user, role=Role.ADJUDICATOR)
    return user


@pytest.fixture
def bob(lab_b):
    user = UserFactory(username="bob")
    MembershipFactory(project=lab_b, user=user, role=Role.ADJUDICATOR)
    return user


@pytest.fixture
def charlie(db):
    return UserFactory(username="charlie")


@pytest.fixture
def cell_bytes() -> Callable[..., bytes]:
    """Synthetic cell images encoded in a given format; distinct seeds give distinct images."""

    def make(seed: int = 0, fmt: str = "PNG", label: str = "all") -> bytes:
        return encode(make_cell(label, seed), fmt)

    return make


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `tiny` model trained for a few steps on synthetic cells: real weights, quick to make.
    Its accuracy does not matter here; the starter-model benchmark measures that."""
    from classifier.data import samples_from_cnmc_folder
    from classifier.synthetic import write_cnmc_folder
    from classifier.train import TrainConfig
    from classifier.train import main as train_main

    root = tmp_path_factory.mktemp("tiny-model")
    write_cnmc_folder(root / "cells", n_patients=4, cells_per_patient=8, seed=3)
    samples = samples_from_cnmc_folder(root / "cells")
    val = [s for s in samples if s.patient in {"1", "H1"}]
    train = [s for s in samples if s.patient not in {"1", "H1"}]
    config = TrainConfig(
        profile="tiny",
        train=train,
        val=val,
        output=root / "run",
        epochs=1,
        max_steps=2,
        device="cpu",
    )
    return train_main(config).checkpoint


@pytest.fixture
def production_model(db, tiny_checkpoint: Path):
    from allreview.mlmodels.services import model_version_promote, model_version_register

    version = model_version_register(checkpoint=tiny_checkpoint, name="tiny-test")
    model_version_promote(version=version, reason="test")
    version.refresh_from_db()
    return version


@pytest.fixture
def client_alice(alice) -> Client:
    return login(alice)


@pytest.fixture
def dora(lab_a):
    user = UserFactory(username="dora")
    MembershipFactory(project=lab_a, user=user, role=Role.REVIEWER)
    return user


@pytest.fixture
def client_dora(dora) -> Client:
    return login(dora)


@pytest.fixture
def ready_case(lab_a) -> Case:
    """Ten classified cells: probabilities 0.0..0.9, the last five called blasts."""
    case = CaseFactory(project=lab_a, patient_code="READY-1")
    CellFactory.create_for_case(case, 10, model_version=ModelVersionFactory(name="m-ready"))
    case.refresh_from_db()
    return case


@pytest.fixture
def erin(lab_a):
    user = UserFactory(username="erin")
    MembershipFactory(project=lab_a, user=user, role=Role.REVIEWER)
    return user


@pytest.fixture
def client_erin(erin) -> Client:
    return login(erin)


@pytest.fixture
def double_read(ready_case, alice, dora, erin) -> Case:
    """READY-1 read by dora (first, sees everything) and erin (second, blinded by default)."""
    from allreview.review.services.readers import case_reader_add

    case_reader_add(case=ready_case, user=alice, reader=dora)
    case_reader_add(case=ready_case, user=alice, reader=erin)
    return ready_case


@pytest.fixture
def prechecked(monkeypatch) -> list[int]:
    """How many files of each upload reached the check with a precheck already running
    (cases.ingest.EarlyCheckHandler): one number per upload checked."""
    from allreview.cases import ingest

    seen: list[int] = []
    check_all = ingest._check_all

    def spy(files, geometry):
        seen.append(sum(item.precheck is not None for item in files))
        return check_all(files, geometry)

    monkeypatch.setattr(ingest, "_check_all", spy)
    return seen
