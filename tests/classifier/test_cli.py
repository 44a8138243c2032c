from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from classifier.cli import main
from classifier.train import TrainResult

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "bench", "saliency"])
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: python -m classifier" in capsys.readouterr().out


def test_bad_checkpoint_exits_2_with_one_line(tmp_path: Path) -> None:
    image = tmp_path / "cell.png"
    image.write_bytes(b"x")
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"not a model")
    run = subprocess.run(
        [sys.executable, "-m", "classifier", "predict", "--checkpoint", str(bad), str(image)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert run.returncode == 2
    assert run.stderr.startswith("error: ") and "model.pt" in run.stderr
    assert "Traceback" not in run.stderr


def test_unknown_label_in_manifest_exits_2(
    tmp_path: Path, trained: TrainResult, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.csv").write_text("path,label,patient\ncell.png,blast,p1\n")
    code = main(
        [
            "evaluate",
            "--checkpoint",
            str(trained.checkpoint),
            "--manifest",
            str(tmp_path / "m.csv"),
            "--output",
            str(tmp_path / "out"),
        ]
    )
    assert code == 2
    assert "label 'blast' is not 'all' or 'hem'" in capsys.readouterr().err


def test_predict_writes_csv(tmp_path: Path, trained: TrainResult, cell_folder: Path) -> None:
    out = tmp_path / "pred.csv"
    code = main(
        [
            "predict",
            "--checkpoint",
            str(trained.checkpoint),
            "--data",
            str(cell_folder),
            "--output",
            str(out),
            "--workers",
            "0",
        ]
    )
    assert code == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 36
    assert set(rows[0]) == {"path", "probability", "label", "uncertainty"}


def test_evaluate_writes_metrics_and_plots(
    tmp_path: Path, trained: TrainResult, cell_folder: Path
) -> None:
    code = main(
        [
            "evaluate",
            "--checkpoint",
            str(trained.checkpoint),
            "--data",
            str(cell_folder),
            "--output",
            str(tmp_path),
            "--workers",
            "0",
            "--allow-overlap",  # the fixture scores its own patients: plumbing, not a figure
            "--bootstrap",
            "50",
        ]
    )
    assert code == 0
    report = json.loads((tmp_path / "metrics.json").read_text())
    assert report["init"] == "random" and report["metrics"]["count"] == 36
    assert report["metrics"]["patients"] == 6
    assert set(report["intervals"]) >= {"weighted_f1", "patient_macro_accuracy"}
    for name in ("confusion.png", "roc.png", "reliability.png", "predictions.csv"):
        assert (tmp_path / name).stat().st_size > 0, name


def test_train_command_writes_model_and_curves(tmp_path: Path, cell_folder: Path) -> None:
    code = main(
        [
            "train",
            "--profile",
            "tiny",
            "--data",
            str(cell_folder),
            "--output",
            str(tmp_path),
            "--epochs",
            "1",
            "--max-steps",
            "1",
            "--batch-size",
            "8",
            "--val-fraction",
            "0.34",
            "--threads",
            "1",
        ]
    )
    assert code == 0
    for name in ("model.pt", "last.pt", "metrics.json", "history.csv", "curves.png"):
        assert (tmp_path / name).is_file(), name


def test_saliency_command_writes_png(
    tmp_path: Path, trained: TrainResult, cell_folder: Path
) -> None:
    image = next((cell_folder / "all").iterdir())
    out = tmp_path / "cam.png"
    assert (
        main(
            [
                "saliency",
                "--checkpoint",
                str(trained.checkpoint),
                "--image",
                str(image),
                "--output",
                str(out),
            ]
        )
        == 0
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_reports_both_rates(tmp_path: Path, cell_folder: Path) -> None:
    out = tmp_path / "bench.json"
    code = main(
        [
            "bench",
            "--profiles",
            "tiny",
            "--images",
            str(cell_folder),
            "--cells",
            "16",
            "--seconds",
            "0.2",
            "--repeats",
            "1",
            "--workers",
            "0",
            "--output",
            str(out),
        ]
    )
    assert code == 0
    (result,) = json.loads(out.read_text())
    assert result["bare_images_per_s"] > 0 and result["pipeline_cells_per_s"] > 0
    assert result["ratio"] == pytest.approx(
        result["pipeline_cells_per_s"] * 4 / result["bare_images_per_s"]
    )


def test_evaluate_refuses_the_checkpoints_own_patients(
    tmp_path: Path, trained: TrainResult, cell_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["evaluate", "--checkpoint", str(trained.checkpoint), "--data", str(cell_folder)]
    code = main([*args, "--output", str(tmp_path), "--workers", "0"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "trained or validated the checkpoint" in err and "--allow-overlap" in err
    assert not (tmp_path / "metrics.json").exists()
