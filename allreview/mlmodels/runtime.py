"""Models inside a worker process: a small LRU of loaded checkpoints keyed by sha256, so the
production models of several projects (and an old version asked for a saliency map) can be
served without reloading; a production model is evicted last."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from allreview.lib.storage import local_path
from allreview.mlmodels.models import ModelVersion
from classifier.checkpoint import file_sha256

if TYPE_CHECKING:
    from classifier.inference import Predictor

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_loaded: OrderedDict[str, Predictor] = OrderedDict()  # sha256 → predictor, least recent first


def checkpoint_local_path(model_version: ModelVersion) -> Path:
    """A local file for the checkpoint (cached by sha256 when storage is remote)."""
    cache = Path(settings.VAR_DIR) / "model-cache" / f"{model_version.sha256}.pt"
    return local_path(model_version.checkpoint.name, cache)


def is_loaded(model_version: ModelVersion) -> bool:
    """Whether this process holds this exact model in memory now (for the readiness probe)."""
    return model_version.sha256 in _loaded


def loaded_sha256s() -> list[str]:
    """The checkpoints in memory, least recently used first."""
    return list(_loaded)


def predictor_for(model_version: ModelVersion) -> Predictor:
    """The loaded model of this version; the checkpoint file is checked against the recorded
    sha256 before it is loaded, whoever asks (classification, scoring, saliency). Only workers
    call it: the ML stack is imported in _load, so that the web process never loads torch."""
    key = model_version.sha256
    with _lock:
        if key in _loaded:
            _loaded.move_to_end(key)
            return _loaded[key]
        path = checkpoint_local_path(model_version)
        if file_sha256(path) != key:
            raise RuntimeError(
                f"checkpoint of model {model_version.name} does not match its recorded sha256"
            )
        _evict_for_one_more()
        predictor = _load(path)
        _loaded[key] = predictor
        logger.info("loaded model version %s (%s)", model_version.pk, model_version.name)
        return predictor


def _load(path: Path) -> Predictor:
    from classifier.inference import Predictor  # torch, timm: workers only

    return Predictor(
        path,
        device=settings.MODEL_DEVICE,
        batch_size=settings.INFERENCE_BATCH_SIZE or None,
        num_workers=0,
    )


def _evict_for_one_more() -> None:
    """Free room before loading: the least recently used model that no project runs now goes
    first; only when every loaded model is in production does the oldest of them go."""
    size = max(1, settings.MODEL_CACHE_SIZE)
    if len(_loaded) < size:
        return
    from allreview.mlmodels.selectors import production_sha256s

    production = production_sha256s()
    while len(_loaded) >= size:
        victim = next((k for k in _loaded if k not in production), next(iter(_loaded)))
        del _loaded[victim]
        logger.info("unloaded model %s", victim[:12])


def cache_clear() -> None:
    with _lock:
        _loaded.clear()
