from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from classifier.checkpoint import load_checkpoint, save_checkpoint
from classifier.data import Sample
from classifier.errors import CheckpointError, ImageError
from classifier.inference import CellPrediction, Predictor, predictions_from_logits
from classifier.model import create_model
from classifier.profiles import get_profile
from classifier.saliency import saliency_png
from classifier.train import TrainResult


@pytest.fixture(scope="module")
def predictor(trained: TrainResult) -> Predictor:
    return Predictor(trained.checkpoint, "cpu", num_workers=0)


def _probabilities(preds: list[CellPrediction]) -> np.ndarray:
    return np.array([p.probability for p in preds])


def test_prediction_fields(predictor: Predictor, cell_samples: list[Sample]) -> None:
    preds = predictor.predict([s.path for s in cell_samples[:5]])
    assert len(preds) == 5
    for p in preds:
        assert 0.0 <= p.probability <= 1.0 and p.uncertainty >= 0.0
        assert p.label == ("all" if p.probability >= predictor.threshold else "hem")
    assert predictor.metadata["init"] == "random"
    assert len(predictor.sha256) == 64


def test_paths_bytes_and_images_give_the_same_prediction(
    predictor: Predictor, cell_samples: list[Sample]
) -> None:
    path = cell_samples[0].path
    inputs = [path, Path(path), Path(path).read_bytes(), Image.open(path)]
    probs = _probabilities(predictor.predict(inputs))
    assert np.allclose(probs, probs[0], atol=1e-6)


def test_a_rotated_cell_gets_the_same_prediction(
    predictor: Predictor, cell_samples: list[Sample]
) -> None:
    image = Image.open(cell_samples[0].path).convert("RGB")
    turned = [image.rotate(angle) for angle in (90, 180, 270)]
    probs = _probabilities(predictor.predict([image, *turned]))
    # 4 rotations: exact quarter turns, the same inputs up to the order of float sums
    assert np.allclose(probs, probs[0], atol=1e-4)


def test_eight_rotations_cover_a_45_degree_turn(
    trained: TrainResult, tmp_path: Path, cell_samples: list[Sample]
) -> None:
    data = load_checkpoint(trained.checkpoint)
    data["profile"] = {**data["profile"], "rotations": 8}
    path = tmp_path / "eight.pt"
    save_checkpoint(path, data)
    predictor = Predictor(path, "cpu", num_workers=0)
    image = Image.open(cell_samples[0].path).convert("RGB")
    logits = predictor.logits([image, image.rotate(45), image.rotate(-90)])
    mean = logits.mean(axis=1)
    assert abs(mean[2] - mean[0]) < 1e-2  # nearest-pixel 45-degree steps commute only nearly
    # a 45-degree turn is interpolated twice, so only close; far closer than a single view
    single_spread = np.abs(logits[0] - logits[0].mean()).max()
    assert abs(mean[1] - mean[0]) < max(0.5 * single_spread, 0.05)


def test_checkpoint_round_trip_gives_identical_predictions(
    trained: TrainResult, predictor: Predictor, tmp_path: Path, cell_samples: list[Sample]
) -> None:
    copy = tmp_path / "copy.pt"
    save_checkpoint(copy, load_checkpoint(trained.checkpoint))
    paths = [s.path for s in cell_samples]
    first = predictor.predict(paths)
    second = Predictor(copy, "cpu", num_workers=0, batch_size=5).predict(paths)
    assert first == second


def test_uncertainty_is_the_spread_over_rotations() -> None:
    logits = np.array([[0.0, 0.0, 0.0, 0.0], [-2.0, 2.0, -2.0, 2.0]])
    a, b = predictions_from_logits(logits, temperature=1.0, threshold=0.5)
    assert a.uncertainty == 0.0 and a.probability == 0.5 and a.label == "all"
    assert b.probability == pytest.approx(0.5)
    assert b.uncertainty == pytest.approx(1 / (1 + np.exp(-2)) - 0.5)


def test_temperature_softens_probabilities() -> None:
    logits = np.array([[2.0, 2.0]])
    hot = predictions_from_logits(logits, temperature=2.0, threshold=0.5)[0]
    assert hot.probability == pytest.approx(1 / (1 + np.exp(-1.0)))


def test_missing_checkpoint_is_named(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="model.pt: file not found"):
        Predictor(tmp_path / "model.pt")


def test_corrupt_checkpoint_is_named(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="model.pt: not a readable weights file"):
        Predictor(path)


def test_plain_weights_are_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    torch.save(create_model(get_profile("tiny")).state_dict(), path)
    with pytest.raises(CheckpointError, match="not an AllReview classifier checkpoint"):
        Predictor(path)


def test_checkpoint_of_another_architecture_is_refused(
    trained: TrainResult, tmp_path: Path
) -> None:
    data = load_checkpoint(trained.checkpoint)
    data["profile"] = get_profile("fast").to_dict()  # claims fast, holds tiny weights
    path = tmp_path / "mixed.pt"
    save_checkpoint(path, data)
    with pytest.raises(CheckpointError, match="do not fit architecture seresnext26d_32x4d"):
        Predictor(path)


def test_checkpoint_of_another_profile_is_refused(trained: TrainResult) -> None:
    with pytest.raises(CheckpointError, match="profile 'tiny'.*expected 'paper'"):
        Predictor(trained.checkpoint, expected_profile="paper")


def test_renamed_architecture_is_refused(trained: TrainResult, tmp_path: Path) -> None:
    data = load_checkpoint(trained.checkpoint)
    data["profile"] = {**data["profile"], "architecture": "resnet18"}
    path = tmp_path / "renamed.pt"
    save_checkpoint(path, data)
    with pytest.raises(CheckpointError, match="should be allreview_seresnext_tiny"):
        Predictor(path)


@pytest.mark.parametrize("workers", [0, 1])
def test_unreadable_image_is_named(predictor: Predictor, tmp_path: Path, workers: int) -> None:
    bad = tmp_path / "cell_17.png"
    bad.write_bytes(b"garbage")
    predictor.num_workers = workers
    try:
        with pytest.raises(ImageError, match="cell_17.png: cannot decode image"):
            predictor.predict([bad])
    finally:
        predictor.num_workers = 0


def test_saliency_is_a_png_of_the_crop(predictor: Predictor, cell_samples: list[Sample]) -> None:
    png = saliency_png(predictor, cell_samples[0].path)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (300, 300) and image.mode == "RGB"
    plain = np.asarray(Image.open(cell_samples[0].path).convert("RGB").crop((75, 75, 375, 375)))
    assert np.abs(np.asarray(image).astype(int) - plain).mean() > 5  # something was drawn


def test_daemon_processes_decode_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    from classifier import inference

    class Daemon:
        daemon = True

    assert inference._default_workers(torch.device("cpu")) >= 0
    monkeypatch.setattr(multiprocessing, "current_process", lambda: Daemon())
    assert inference._default_workers(torch.device("cpu")) == 0
    assert inference._default_workers(torch.device("cuda")) == 0
