"""Classification of cells cropped from generated smear fields against the same cells' direct
C-NMC frames (issue 14 target: weighted F1 within 0.02).

A `cpu`-profile model is trained on the training patients of the C-NMC developer set (or
--checkpoint is used); fields are generated only from the held-out patients' cells, segmented,
and every detection matched to a ground-truth cell (mask IoU >= 0.5) is classified twice: its
crop from the field and the cell's own C-NMC frame. Cells the segmentation missed are counted,
not scored (recall is reported by fields_segment.py). With --stain-normalize the same detections
are cropped once per choice (off: as they are; on: the field's colours mapped to C-NMC's,
smear.stain; flat: the same after flattening the field's illumination) and each set is scored.

    .venv/bin/python scripts/bench/fields_classify.py --data ../shared/data/cnmc --fields 30 \
        --stain-normalize off on flat
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

# The repository instead of this folder: its platform.py would shadow the standard library's
# (numpy.testing imports it) when the script is run by path.
sys.path[0] = str(Path(__file__).resolve().parents[2])

import numpy as np  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402

from classifier.data import samples_from_cnmc_folder  # noqa: E402
from classifier.inference import Predictor  # noqa: E402
from classifier.splits import patient_split  # noqa: E402
from classifier.train import TrainConfig  # noqa: E402
from classifier.train import main as train_main  # noqa: E402
from smear.crop import cell_crop, crop_scale, png_bytes  # noqa: E402
from smear.generate import FieldConfig, field_generate, sources_from_cnmc  # noqa: E402
from smear.io import decode_rgb, jpeg_bytes  # noqa: E402
from smear.metrics import Outline, matches  # noqa: E402
from smear.segment import (  # noqa: E402
    CNMC_CELL_DIAMETER,
    Detection,
    SegmentConfig,
    segment_field,
)
from smear.stain import StainMap, field_stain_map  # noqa: E402

STAIN_CHOICES = ("off", "on", "flat")


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, default=Path("var/bench-fields"))
    p.add_argument("--checkpoint", type=Path, help="skip training; use this model")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--fields", type=int, default=30)
    p.add_argument("--seed", type=int, default=3000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--controls", action="store_true", help="also score changed direct frames")
    p.add_argument(
        "--stain-normalize",
        nargs="+",
        choices=STAIN_CHOICES,
        default=["off"],
        help="crop sets to score: off, on (field colours to C-NMC's), flat (on + flat light)",
    )
    p.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a FieldConfig number (ablation), e.g. --field stain_jitter=0",
    )
    return p.parse_args()


def _field_config(overrides: list[str]) -> FieldConfig:
    values = {}
    for item in overrides:
        name, _, value = item.partition("=")
        values[name] = type(getattr(FieldConfig(), name))(float(value))
    return replace(FieldConfig(), **values)


def _frame_variant(data: bytes, *, scale: float = 1.0, angle: float = 0.0) -> bytes:
    """A C-NMC frame with its content scaled about the centre and rotated (controls)."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB")
    if angle:
        image = image.rotate(angle, Image.Resampling.BILINEAR)
    if scale != 1.0:
        n = round(image.width * scale)
        resized = image.resize((n, n), Image.Resampling.BILINEAR)
        frame = Image.new("RGB", image.size)
        offset = (image.width - n) // 2
        if n <= image.width:
            frame.paste(resized, (offset, offset))
        else:
            frame.paste(
                resized.crop((-offset, -offset, image.width - offset, image.height - offset))
            )
        image = frame
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _controls(predictor: Predictor, direct: list[bytes], labels: list[str]) -> dict[str, float]:
    """The same direct frames, changed the way a field changes a cell: how much the classifier's
    weighted F1 moves with the cell's size and angle alone."""
    out = {}
    for name, kw in (
        ("frame_scaled_0.92", {"scale": 0.92}),
        ("frame_scaled_1.08", {"scale": 1.08}),
        ("frame_rotated_37deg", {"angle": 37.0}),
    ):
        calls = [p.label for p in predictor.predict([_frame_variant(d, **kw) for d in direct])]
        out[name] = round(f1_score(labels, calls, average="weighted"), 4)
    return out


def _model(args: argparse.Namespace, train: list) -> Path:
    if args.checkpoint:
        return args.checkpoint
    config = TrainConfig(
        profile="cpu",
        train=train,
        val=[],
        output=args.out / "model",
        epochs=args.epochs,
        threads=args.threads,
        calibrate_on_val=False,
    )
    return train_main(config).checkpoint


def _stain_maps(
    rgb: np.ndarray, found: list[Detection], choices: list[str]
) -> dict[str, StainMap | None]:
    cells = [(d.box, d.mask) for d in found]
    return {
        c: None if c == "off" else field_stain_map(rgb, cells, flatten=c == "flat") for c in choices
    }


def _pairs(
    args: argparse.Namespace, held_patients: set[str]
) -> tuple[dict[str, list[bytes]], list, list, int, int]:
    sources = sources_from_cnmc(args.data, patients=held_patients)
    field = _field_config(args.field)
    # The project's scale is the generator's: a typical C-NMC cell at field.scale.
    diameter = CNMC_CELL_DIAMETER * field.scale
    segment, scale = SegmentConfig(cell_diameter=diameter), crop_scale(diameter)
    crops: dict[str, list[bytes]] = {c: [] for c in args.stain_normalize}
    direct, labels, missed, unmapped = [], [], 0, 0
    for seed in range(args.seed, args.seed + args.fields):
        generated = field_generate(sources, field, seed=seed)
        rgb = decode_rgb(jpeg_bytes(generated.image))
        found = segment_field(rgb, segment)
        maps = _stain_maps(rgb, found, args.stain_normalize)
        unmapped += sum(1 for c, m in maps.items() if c != "off" and m is None)
        pairs = matches(
            [Outline(c.box, c.mask) for c in generated.cells],
            [Outline(d.box, d.mask) for d in found],
        )
        missed += len(generated.cells) - len(pairs)
        for ti, di, _ in pairs:
            truth, detection = generated.cells[ti], found[di]
            if truth.edge:
                continue  # a cut cell has no whole direct twin to compare with
            for choice, stain in maps.items():
                crop = cell_crop(rgb, detection.box, detection.mask, scale=scale, stain=stain)
                crops[choice].append(png_bytes(crop))
            direct.append(truth.source.path.read_bytes())
            labels.append(truth.source.label)
    return crops, direct, labels, missed, unmapped


def _scores(
    predictor: Predictor, crops: dict[str, list[bytes]], direct: list[bytes], labels: list[str]
) -> tuple[float, dict[str, dict[str, float]]]:
    """Weighted F1 of each crop set, its difference from the direct frames, and how often it
    makes the same call as the direct frame."""
    on_direct = [p.label for p in predictor.predict(direct)]
    f1_direct = f1_score(labels, on_direct, average="weighted")
    out = {}
    for choice, images in crops.items():
        calls = [p.label for p in predictor.predict(images)]
        f1 = f1_score(labels, calls, average="weighted")
        out[choice] = {
            "weighted_f1_field_crops": round(f1, 4),
            "difference": round(f1 - f1_direct, 4),
            "same_call": round(
                sum(a == b for a, b in zip(calls, on_direct, strict=True)) / len(labels), 4
            ),
        }
    return round(f1_direct, 4), out


def main() -> int:
    args = _args()
    start = time.perf_counter()
    samples = samples_from_cnmc_folder(args.data)
    train, held = patient_split(samples, val_fraction=0.2, seed=0)
    checkpoint = _model(args, train)
    trained = time.perf_counter()
    crops, direct, labels, missed, unmapped = _pairs(args, {s.patient for s in held})
    predictor = Predictor(checkpoint, device="cpu")
    f1_direct, by_choice = _scores(predictor, crops, direct, labels)
    print(
        json.dumps(
            {
                "held_out_patients": sorted({s.patient for s in held}),
                "fields": args.fields,
                "field_overrides": args.field,
                "cells_scored": len(labels),
                "blasts": labels.count("all"),
                "not_matched": missed,
                "fields_without_stain_estimate": unmapped,
                "weighted_f1_direct": f1_direct,
                "field_crops": by_choice,
                **(
                    {"controls_weighted_f1": _controls(predictor, direct, labels)}
                    if args.controls
                    else {}
                ),
                "train_s": round(trained - start, 1),
                "total_s": round(time.perf_counter() - start, 1),
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
