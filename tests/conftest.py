"""Shared fixtures: alice (member of lab A), bob (member of lab B), charlie (no project)."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from allreview.projects.models import Project, Role
from classifier.synthetic import make_cell
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

REPO = Path(__file__).resolve().parents[1]
CNMC_DIR = Path(os.environ.get("CNMC_DIR", REPO.parent / "shared" / "data" / "cnmc"))


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


def encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


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
