"""Command line: python -m classifier train|cv|evaluate|predict|bench|saliency."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tqdm import tqdm

from classifier.data import Sample, samples_from_cnmc_folder, samples_from_manifest
from classifier.errors import ClassifierError
from classifier.metrics import DEFAULT_FLAG_THRESHOLD
from classifier.profiles import DEFAULT_PROFILE, PROFILES, parse_overrides
from classifier.splits import patient_split


def _add_data_args(parser: argparse.ArgumentParser, required: bool = True) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--data", type=Path, help="folder in the C-NMC layout (all/, hem/)")
    group.add_argument("--manifest", type=Path, help="CSV with columns path,label,patient")


def _samples(args: argparse.Namespace) -> list[Sample]:
    if args.manifest is not None:
        return samples_from_manifest(args.manifest)
    return samples_from_cnmc_folder(args.data)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m classifier", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub.add_parser("train", help="train a profile (on all patients by default)"))
    _cv_parser(sub.add_parser("cv", help="patient-grouped K-fold cross-validation of a profile"))
    _pretrain_parser(
        sub.add_parser("pretrain", help="self-supervised backbone from unlabelled cells (SimCLR)")
    )
    _evaluate_parser(sub.add_parser("evaluate", help="metrics and plots of a checkpoint"))
    _predict_parser(sub.add_parser("predict", help="classify cell images"))
    _bench_parser(sub.add_parser("bench", help="bare forward vs whole pipeline throughput"))
    _saliency_parser(sub.add_parser("saliency", help="Grad-CAM overlay PNG of one cell"))
    return parser


def _train_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", choices=sorted(PROFILES), default=DEFAULT_PROFILE)
    _add_data_args(p)
    p.add_argument("--val-manifest", type=Path, help="validation CSV (else a patient split)")
    p.add_argument(
        "--val-fraction",
        type=float,
        help="hold out this share of patients, class-stratified (default: 0.2 for profiles that "
        "pick their best epoch, 0 for fixed-epoch recipes, which train on every patient)",
    )
    p.add_argument("--allow-random-init", action="store_true", help="paper profile from scratch")
    _set_arg(p)
    p.add_argument("--output", type=Path, required=True, help="folder for model.pt and reports")
    p.add_argument("--init", type=Path, help="local ImageNet weights (timm or pretrained-models)")
    p.add_argument("--epochs", type=int, help="override the profile's epoch count")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--resume", action="store_true", help="continue from OUTPUT/last.pt")
    p.add_argument("--workers", type=int, help="DataLoader workers")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--max-steps", type=int, help="cap on steps per epoch (smoke runs)")
    p.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    p.add_argument("--time-limit", type=float, help="minutes; no epoch starts that would overrun")


def _cv_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", choices=sorted(PROFILES), default=DEFAULT_PROFILE)
    _add_data_args(p)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--min-patients", type=int, default=1, help="per class in every fold and rest")
    p.add_argument("--output", type=Path, required=True, help="folder for folds and reports")
    p.add_argument("--init", type=Path, help="local backbone weights (ImageNet or `pretrain`)")
    p.add_argument("--allow-random-init", action="store_true", help="paper profile from scratch")
    _set_arg(p)
    p.add_argument("--epochs", type=int, help="override the profile's epoch count")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    p.add_argument("--bootstrap", type=int, default=1000, help="patient bootstrap rounds")
    _flag_arg(p)
    p.add_argument(
        "--ship", action="store_true", help="then train on all patients with the CV calibration"
    )


def _pretrain_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", choices=sorted(PROFILES), default=DEFAULT_PROFILE)
    p.add_argument("--images", type=Path, required=True, help="folder of cell images (any depth)")
    p.add_argument("--output", type=Path, required=True, help="weights file for --init")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, help="CPU threads (default: all cores)")


def cmd_pretrain(args: argparse.Namespace) -> int:
    from classifier.data import IMAGE_EXTENSIONS
    from classifier.pretrain import PretrainConfig
    from classifier.pretrain import main as pretrain_main

    if not args.images.is_dir():
        raise ClassifierError(f"{args.images}: not a folder")
    images = sorted(str(p) for p in args.images.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    config = PretrainConfig(
        profile=args.profile,
        images=images,
        output=args.output,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        device=args.device,
        threads=args.threads,
        progress=True,
    )
    result = pretrain_main(
        config, on_epoch=lambda e, loss: tqdm.write(f"epoch {e}: loss {loss:.4f}")
    )
    print(
        json.dumps(
            {
                "output": str(result.output),
                "sha256": result.sha256,
                "images": result.images,
                "losses": result.losses,
                "seconds": round(result.seconds, 1),
            },
            indent=2,
        )
    )
    return 0


def _set_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--set",
        action="append",
        metavar="FIELD=VALUE",
        help="change one profile field (ablations), e.g. --set sampler=cells; repeatable",
    )


def _flag_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--flag-threshold",
        type=float,
        default=DEFAULT_FLAG_THRESHOLD,
        help="a patient is flagged when more than this share of its cells is called blast",
    )


def _evaluate_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", type=Path, required=True)
    _add_data_args(p)
    p.add_argument("--output", type=Path, required=True, help="folder for metrics and plots")
    p.add_argument(
        "--allow-overlap",
        action="store_true",
        help="score patients the checkpoint trained or validated on (optimistic figures)",
    )
    p.add_argument("--bootstrap", type=int, default=1000, help="patient bootstrap rounds")
    _flag_arg(p)
    _runtime_args(p)


def _predict_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("images", nargs="*", type=Path, help="image files")
    _add_data_args(p, required=False)
    p.add_argument("--output", type=Path, help=".csv or .json (default: JSON on stdout)")
    _runtime_args(p)


def _bench_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profiles", nargs="+", choices=sorted(PROFILES), default=["tiny", "fast"])
    p.add_argument("--images", type=Path, help="C-NMC folder of cells (default: synthetic cells)")
    p.add_argument("--cells", type=int, help="cells per pipeline run (default: by profile)")
    p.add_argument("--seconds", type=float, default=6.0, help="bare-forward time, over all repeats")
    p.add_argument("--repeats", type=int, default=3, help="alternations of bare and pipeline")
    p.add_argument(
        "--inputs",
        choices=["prepared", "original"],
        default="prepared",
        help="what the pipeline reads: the crops the platform writes at upload (prepared, as its "
        "workers do) or the original images, decoded each time",
    )
    p.add_argument("--output", type=Path, help="JSON file for the results")
    _runtime_args(p)


def _saliency_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--image", type=Path, required=True)
    p.add_argument("--output", type=Path, required=True, help="PNG file")
    p.add_argument("--target", choices=["all", "hem"], help="class to explain (default: predicted)")
    p.add_argument("--device", default="auto")


def _runtime_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto")
    p.add_argument("--batch-size", type=int, help="cells per batch")
    p.add_argument("--workers", type=int, help="decoding workers (0: decode in this process)")


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def cmd_train(args: argparse.Namespace) -> int:
    from classifier.plots import evaluation_plots, training_curves
    from classifier.train import TrainConfig, main

    samples = _samples(args)
    if args.val_manifest is not None:
        train, val = samples, samples_from_manifest(args.val_manifest)
    else:
        fraction = args.val_fraction
        if fraction is None:
            fraction = 0.2 if PROFILES[args.profile].select == "best" else 0.0
        train, val = patient_split(samples, val_fraction=fraction, seed=args.seed)
    config = TrainConfig(
        profile=args.profile,
        train=train,
        val=val,
        output=args.output,
        init=args.init,
        epochs=args.epochs,
        seed=args.seed,
        device=args.device,
        resume=args.resume,
        num_workers=args.workers,
        batch_size=args.batch_size,
        max_steps=args.max_steps,
        progress=True,
        threads=args.threads,
        time_limit_s=args.time_limit * 60 if args.time_limit else None,
        allow_random_init=args.allow_random_init,
        profile_overrides=parse_overrides(args.set),
    )
    bar = tqdm(total=config.epochs or PROFILES[args.profile].epochs, desc="epochs")
    result = main(config, on_epoch=lambda r: _epoch_line(bar, r))
    bar.close()
    _write_history(args.output / "history.csv", result.history)
    training_curves(
        result.history,
        args.output / "curves.png",
        f"{args.profile} profile, init {result.init.split(':')[0]}",
    )
    if val:
        evaluation_plots(
            result.val_targets, result.val_probabilities, result.confusion, args.output
        )
    _write_predictions_csv(
        args.output / "val_predictions.csv",
        [s.path for s in val],
        result.val_targets,
        result.val_probabilities,
    )
    print(
        json.dumps(
            {
                "checkpoint": str(result.checkpoint),
                "sha256": result.sha256,
                "best_epoch": result.best_epoch,
                "init": result.init,
                "metrics": result.metrics,
            },
            indent=2,
        )
    )
    if val:
        print(_patient_report(result.metrics, {}, "validation patients"))
    return 0


def cmd_cv(args: argparse.Namespace) -> int:
    from classifier.cv import CVConfig, run_cv
    from classifier.plots import evaluation_plots, patient_accuracy_plot

    config = CVConfig(
        profile=args.profile,
        samples=_samples(args),
        output=args.output,
        folds=args.folds,
        seed=args.seed,
        min_patients=args.min_patients,
        epochs=args.epochs,
        init=args.init,
        allow_random_init=args.allow_random_init,
        device=args.device,
        threads=args.threads,
        progress=True,
        flag_threshold=args.flag_threshold,
        bootstrap=args.bootstrap,
        ship=args.ship,
        profile_overrides=parse_overrides(args.set),
    )
    bar = tqdm(total=args.folds, desc="folds")
    result = run_cv(config, on_fold=lambda done, _total: bar.update(done - bar.n))
    bar.close()
    pooled = result.pooled
    targets, scores = _oof_targets_scores(args.output / "oof_predictions.csv", result)
    evaluation_plots(targets, scores, pooled["confusion"], args.output)
    sizes = Counter(s.patient for s in config.samples)
    patient_accuracy_plot(
        pooled["per_patient_accuracy"],
        sizes,
        args.output / "patients.png",
        f"{args.profile}: out-of-fold accuracy per patient (healthy green, leukaemia red)",
    )
    print(_cv_table(result.summary))
    print(_patient_report(pooled, result.intervals, f"all {len(targets)} out-of-fold cells"))
    print(
        f"calibration for a model trained on all patients: temperature "
        f"{result.temperature:.3f}, threshold {result.threshold:.3f}"
    )
    if result.shipped:
        print(f"shipped: {result.shipped['checkpoint']} (sha256 {result.shipped['sha256']})")
    return 0


def _oof_targets_scores(path: Path, result: Any) -> tuple[list[int], list[float]]:
    from scipy.special import expit

    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    targets = [1 if r["label"] == "all" else 0 for r in rows]
    scores = [float(expit(float(r["logit"]) / result.temperature)) for r in rows]
    return targets, scores


# (key, label) of the figures every report prints, cell level first.
REPORT_KEYS = (
    ("weighted_f1", "weighted F1"),
    ("roc_auc", "ROC AUC"),
    ("balanced_accuracy", "balanced accuracy"),
    ("sensitivity", "blast sensitivity (cells)"),
    ("specificity", "normal specificity (cells)"),
    ("patient_macro_accuracy", "mean per-patient accuracy"),
    ("patient_macro_accuracy_all", "  leukaemia patients"),
    ("patient_macro_accuracy_hem", "  healthy patients"),
    ("patient_flag_sensitivity", "patient flag sensitivity"),
    ("patient_flag_specificity", "patient flag specificity"),
    ("baseline_all_blast_weighted_f1", "baseline all-blast weighted F1"),
    ("baseline_all_normal_weighted_f1", "baseline all-normal weighted F1"),
    ("baseline_all_blast_patient_macro", "baseline all-blast per-patient accuracy"),
    ("baseline_all_normal_patient_macro", "baseline all-normal per-patient accuracy"),
)


def _patient_report(metrics: dict[str, Any], intervals: dict[str, list[float]], what: str) -> str:
    lines = [
        f"{what}: {metrics.get('count', 0):.0f} cells, {metrics.get('patients', 0):.0f} patients "
        f"({metrics.get('patients_all', 0):.0f} leukaemia, {metrics.get('patients_hem', 0):.0f} "
        f"healthy), patient flag above {metrics.get('flag_threshold', float('nan')):.2f} blasts"
    ]
    for key, label in REPORT_KEYS:
        if key not in metrics:
            continue
        ci = intervals.get(key)
        interval = f"  (95% CI {ci[0]:.3f}-{ci[1]:.3f}, patient bootstrap)" if ci else ""
        lines.append(f"  {label:<42} {float(metrics[key]):.3f}{interval}")
    return "\n".join(lines)


def _cv_table(summary: dict[str, dict[str, float]]) -> str:
    lines = ["cross-validation, mean ± sd over folds:"]
    for key, label in REPORT_KEYS:
        if key in summary:
            lines.append(f"  {label:<42} {summary[key]['mean']:.3f} ± {summary[key]['sd']:.3f}")
    return "\n".join(lines)


def _epoch_line(bar: tqdm, report: Any) -> None:
    bar.update(1)
    bar.write(
        f"epoch {report.epoch}/{report.epochs}: train loss {report.train_loss:.4f}, "
        f"val loss {report.val_loss:.4f}, val weighted F1 {report.val_weighted_f1:.4f}"
        f"{' (best)' if report.best else ''}, {report.seconds:.0f} s"
    )


def _write_history(path: Path, history: Sequence[Any]) -> None:
    rows = [asdict(h) for h in history]
    if not rows:
        return
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _write_predictions_csv(
    path: Path, files: Sequence[str], targets: Sequence[int], probabilities: Sequence[float]
) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "probability"])
        for file, target, prob in zip(files, targets, probabilities, strict=False):
            writer.writerow([file, "all" if target else "hem", f"{prob:.6f}"])


def _progress_bar(total: int, desc: str) -> tuple[tqdm, Callable[[int, int], None]]:
    bar = tqdm(total=total, desc=desc, unit="cell")
    return bar, lambda done, _total: bar.update(done - bar.n)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from classifier.inference import Predictor, predictions_from_logits
    from classifier.metrics import bootstrap_intervals, compute_metrics
    from classifier.plots import evaluation_plots

    samples = _samples(args)
    predictor = Predictor(
        args.checkpoint, args.device, batch_size=args.batch_size, num_workers=args.workers
    )
    if not args.allow_overlap:
        _refuse_seen_patients(predictor.metadata, samples)
    bar, progress = _progress_bar(len(samples), "evaluate")
    logits = predictor.logits([s.path for s in samples], progress)
    bar.close()
    preds = predictions_from_logits(logits, predictor.temperature, predictor.threshold)
    targets = [s.target for s in samples]
    probs = [p.probability for p in preds]
    patients = [s.patient for s in samples]
    metrics = compute_metrics(
        targets,
        probs,
        threshold=predictor.threshold,
        patients=patients,
        flag_threshold=args.flag_threshold,
    )
    intervals = bootstrap_intervals(
        targets, probs, patients, threshold=predictor.threshold, rounds=args.bootstrap
    )
    report = {
        "checkpoint": str(args.checkpoint),
        "sha256": predictor.sha256,
        "profile": predictor.profile.name,
        "init": predictor.metadata.get("init", "?"),
        "metrics": asdict(metrics),
        "intervals": intervals,
    }
    _write_json(args.output / "metrics.json", report)
    _write_rows(args.output / "predictions.csv", samples, preds)
    evaluation_plots(targets, probs, metrics.confusion, args.output)
    print(_patient_report(asdict(metrics), intervals, "evaluated"))
    return 0


def _refuse_seen_patients(metadata: dict[str, Any], samples: Sequence[Sample]) -> None:
    """A checkpoint's own training or validation patients give optimistic figures."""
    seen = set(metadata.get("data", {}).get("per_patient", {})) | set(
        metadata.get("val_data", {}).get("per_patient", {})
    )
    overlap = sorted(seen & {s.patient for s in samples})
    if overlap:
        raise ClassifierError(
            f"{len(overlap)} of these patients trained or validated the checkpoint "
            f"(e.g. {', '.join(overlap[:5])}); score other patients, or pass --allow-overlap"
        )


def _write_rows(path: Path, samples: Sequence[Sample], preds: Sequence[Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "patient", "label", "predicted", "probability", "uncertainty"])
        for s, p in zip(samples, preds, strict=True):
            writer.writerow(
                [
                    s.path,
                    s.patient,
                    s.label,
                    p.label,
                    f"{p.probability:.6f}",
                    f"{p.uncertainty:.6f}",
                ]
            )


def cmd_predict(args: argparse.Namespace) -> int:
    from classifier.inference import Predictor

    paths = [str(p) for p in args.images]
    if args.data is not None or args.manifest is not None:
        paths += [s.path for s in _samples(args)]
    if not paths:
        raise ClassifierError("no images given (pass files, --data or --manifest)")
    predictor = Predictor(
        args.checkpoint, args.device, batch_size=args.batch_size, num_workers=args.workers
    )
    bar, progress = _progress_bar(len(paths), "predict")
    preds = predictor.predict(paths, progress)
    bar.close()
    rows = [{"path": path, **asdict(p)} for path, p in zip(paths, preds, strict=True)]
    _emit(args.output, rows)
    return 0


def _emit(output: Path | None, rows: list[dict[str, Any]]) -> None:
    if output is None:
        print(json.dumps(rows, indent=2))
    elif output.suffix.lower() == ".csv":
        output.parent.mkdir(parents=True, exist_ok=True)
        with open(output, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    else:
        _write_json(output, rows)


def cmd_bench(args: argparse.Namespace) -> int:
    from classifier.bench import bench_profile, default_cells
    from classifier.inference import resolve_device

    device = resolve_device(args.device)
    results = []
    for name in tqdm(args.profiles, desc="profiles"):
        count = args.cells or default_cells(PROFILES[name], device)
        images = _bench_images(args.images, count)
        result = bench_profile(
            name,
            images,
            device=args.device,
            workers=args.workers,
            seconds=args.seconds,
            repeats=args.repeats,
            inputs=args.inputs,
        )
        results.append(result.to_dict())
        tqdm.write(json.dumps(result.to_dict()))
    if args.output is not None:
        _write_json(args.output, results)
    print(json.dumps(results, indent=2))
    return 0


def _bench_images(folder: Path | None, count: int) -> list[str]:
    if folder is not None:
        paths = [s.path for s in samples_from_cnmc_folder(folder)]
        reps = -(-count // len(paths))
        return (paths * reps)[:count]
    return _synthetic_images(count)


def _synthetic_images(count: int) -> list[str]:
    import tempfile

    from classifier.synthetic import make_cell

    folder = Path(tempfile.mkdtemp(prefix="allreview-bench-"))
    distinct = min(count, 64)  # reuse files: decoding, not generation, is what we measure
    paths = []
    for i in range(distinct):
        path = folder / f"cell_{i}.png"
        make_cell("all" if i % 2 else "hem", seed=i).save(path)
        paths.append(str(path))
    return [paths[i % distinct] for i in range(count)]


def cmd_saliency(args: argparse.Namespace) -> int:
    from classifier.inference import Predictor
    from classifier.saliency import saliency_png

    predictor = Predictor(args.checkpoint, args.device, num_workers=0)
    png = saliency_png(predictor, str(args.image), target=args.target)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(png)
    print(str(args.output))
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "train": cmd_train,
    "cv": cmd_cv,
    "pretrain": cmd_pretrain,
    "evaluate": cmd_evaluate,
    "predict": cmd_predict,
    "bench": cmd_bench,
    "saliency": cmd_saliency,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; bad input prints one line naming the problem and exits 2."""
    args = _build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ClassifierError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # e.g. --val-fraction out of range
        print(f"error: {exc}", file=sys.stderr)
        return 2
