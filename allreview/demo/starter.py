"""The demo's starter model: the `tiny` profile trained on synthetic cells, for trying the
platform only (never for patients). Trained once per install, then reused."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from allreview.mlmodels.models import ModelVersion
from allreview.mlmodels.selectors import model_version_production
from allreview.mlmodels.services import model_version_promote, model_version_register
from classifier.data import samples_from_cnmc_folder
from classifier.splits import patient_split
from classifier.synthetic import write_cnmc_folder
from classifier.train import EpochReport, TrainConfig
from classifier.train import main as train_main

logger = logging.getLogger(__name__)

STARTER_NAME = "starter-synthetic"
# Enough synthetic patients that the held-out ones tell whether the model learnt the classes.
STARTER_PATIENTS = 24
STARTER_CELLS_PER_PATIENT = 50
STARTER_SEED = 2019
# The synthetic classes are learnt within 3 epochs (validation F1 1.0); 6 keep a margin and
# the training near 3 minutes on a 2-core CPU.
STARTER_EPOCHS = 6


def starter_model_ensure(
    *,
    work_dir: Path | None = None,
    epochs: int | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
) -> ModelVersion:
    """The installation's default model; trains, registers and deploys the shared starter model
    as the default (for projects that have not deployed their own) when there is none."""
    production = model_version_production()
    if production is not None:
        return production
    existing = ModelVersion.objects.filter(name=STARTER_NAME, project__isnull=True).first()
    if existing is not None:  # trained before, retired or never promoted: reuse it
        model_version_promote(version=existing, reason="starter model for the demo")
        return existing
    work_dir = work_dir or Path(settings.VAR_DIR) / "starter"
    checkpoint = starter_model_train(work_dir=work_dir, epochs=epochs, on_epoch=on_epoch)
    version = model_version_register(
        checkpoint=checkpoint,
        name=STARTER_NAME,
        notes="Trained on synthetic cells for trying AllReview. Not for patients.",
    )
    model_version_promote(version=version, reason="starter model for the demo")
    return version


def starter_model_train(
    *,
    work_dir: Path,
    epochs: int | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
) -> Path:
    cells_dir = work_dir / "cells"
    if not (cells_dir / "all").is_dir():
        logger.info("generating synthetic training cells in %s", cells_dir)
        write_cnmc_folder(
            cells_dir,
            n_patients=STARTER_PATIENTS,
            cells_per_patient=STARTER_CELLS_PER_PATIENT,
            seed=STARTER_SEED,
        )
    samples = samples_from_cnmc_folder(cells_dir)
    train, val = patient_split(samples, val_fraction=0.25, seed=STARTER_SEED)
    config = TrainConfig(
        profile=settings.STARTER_MODEL_PROFILE,
        train=train,
        val=val,
        output=work_dir / "run",
        epochs=epochs or STARTER_EPOCHS,
        seed=STARTER_SEED,
        device="cpu",
    )
    result = train_main(config, on_epoch=on_epoch)
    return result.checkpoint
