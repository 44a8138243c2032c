"""The production model inside a worker process: loaded once, reloaded when production changes."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from django.conf import settings

from allreview.lib.storage import local_path
from allreview.mlmodels.models import ModelVersion
from classifier.checkpoint import file_sha256
from classifier.inference import Predictor

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_loaded: dict[str, object] = {}


def checkpoint_local_path(model_version: ModelVersion) -> Path:
    """A local file for the checkpoint (cached by sha256 when storage is remote)."""
    cache = Path(settings.VAR_DIR) / "model-cache" / f"{model_version.sha256}.pt"
    return local_path(model_version.checkpoint.name, cache)


def _key(model_version: ModelVersion) -> str:
    return f"{model_version.pk}:{model_version.sha256}"


def is_loaded(model_version: ModelVersion) -> bool:
    """Whether this process holds this exact model in memory now (for the readiness probe)."""
    return _loaded.get("key") == _key(model_version)


def predictor_for(model_version: ModelVersion) -> Predictor:
    key = _key(model_version)
    with _lock:
        if _loaded.get("key") != key:
            path = checkpoint_local_path(model_version)
            if file_sha256(path) != model_version.sha256:
                raise RuntimeError(
                    f"checkpoint of model {model_version.name} does not match its recorded sha256"
                )
            _loaded.clear()  # free the old model before loading the new one
            predictor = Predictor(
                path,
                device=settings.MODEL_DEVICE,
                batch_size=settings.INFERENCE_BATCH_SIZE or None,
                num_workers=0,
            )
            _loaded.update(key=key, predictor=predictor)
            logger.info("loaded model version %s (%s)", model_version.pk, model_version.name)
        return _loaded["predictor"]  # type: ignore[return-value]
