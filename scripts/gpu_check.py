"""Measure the paper profile on a CUDA GPU: bare forward (bf16, channels_last, large batch) in
images/s and TFLOP/s against the chip's peak, the whole prediction pipeline in cells/s, and the
time of one training epoch on the C-NMC cells. Prepared on a CPU-only machine; run it once on a
GPU machine:  scripts/gpu_check.sh  (writes gpu_check.json to $OUT or ./var/gpu_check)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from classifier.bench import _random_checkpoint, bare_rate  # noqa: E402
from classifier.data import Sample, samples_from_cnmc_folder  # noqa: E402
from classifier.inference import Predictor  # noqa: E402
from classifier.model import create_model  # noqa: E402
from classifier.profiles import get_profile  # noqa: E402
from classifier.splits import patient_split  # noqa: E402
from classifier.train import TrainConfig  # noqa: E402
from classifier.train import main as train_main  # noqa: E402

# Dense bf16 tensor-core peaks (TFLOP/s) from the vendors' data sheets.
PEAK_BF16 = {
    "H200": 989.0,
    "H100 SXM": 989.0,
    "H100 80GB HBM3": 989.0,
    "H100 PCIe": 756.0,
    "H100 NVL": 835.0,
    "A100": 312.0,
    "L40S": 362.0,
    "A10": 125.0,
}


def peak_tflops(name: str) -> float | None:
    for key, value in PEAK_BF16.items():
        if key in name:
            return value
    return 989.0 if "H100" in name else None


def flops_per_image(size: int) -> float:
    model = create_model(get_profile("paper")).eval()
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, size, size))
    return float(counter.get_total_flops())


def _write_cell(args: tuple[str, int, str]) -> str:
    from classifier.synthetic import make_cell

    label, seed, path = args
    make_cell(label, seed).save(path)
    return path


def cell_samples(cnmc: Path, fallback_count: int) -> tuple[list[Sample], str]:
    if (cnmc / "labels.csv").is_file():
        return samples_from_cnmc_folder(cnmc), f"C-NMC cells from {cnmc}"
    folder = Path(tempfile.mkdtemp(prefix="gpu-check-cells-"))
    jobs = []
    for i in range(fallback_count):
        label, patient = ("all", str(i % 20)) if i % 3 else ("hem", f"H{i % 10}")
        (folder / label).mkdir(exist_ok=True)
        jobs.append((label, i, str(folder / label / f"UID_{patient}_{i}_1_{label}.png")))
    with Pool(os.cpu_count()) as pool:
        pool.map(_write_cell, jobs)
    return samples_from_cnmc_folder(folder), "synthetic cells (C-NMC folder not found)"


def bare(batch: int, compile_model: bool) -> float:
    profile = get_profile("paper")
    device = torch.device("cuda")
    model = create_model(profile).to(device).to(memory_format=torch.channels_last).eval()
    if compile_model:
        model = torch.compile(model)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        return bare_rate(model, profile, batch, device, seconds=10.0)


def pipeline(samples: list[Sample], repeat: int) -> float:
    profile = get_profile("paper")
    with tempfile.TemporaryDirectory() as tmp:
        predictor = Predictor(_random_checkpoint(profile, Path(tmp)), "cuda")
    paths = [s.path for s in samples] * repeat
    predictor.predict(paths[: predictor.batch_size * 2])  # warm-up
    torch.cuda.synchronize()
    start = time.perf_counter()
    predictor.predict(paths)
    torch.cuda.synchronize()
    return len(paths) / (time.perf_counter() - start)


def one_epoch(samples: list[Sample], output: Path) -> dict:
    train, val = patient_split(samples, val_fraction=0.25, seed=0)
    start = time.perf_counter()
    result = train_main(
        TrainConfig(profile="paper", train=train, val=val, output=output, epochs=1, device="cuda")
    )
    report = result.history[0]
    return {
        "train_images": len(train),
        "val_images": len(val),
        "epoch_seconds_incl_val": report.seconds,
        "total_seconds_incl_preload_and_calibration": time.perf_counter() - start,
        "val_weighted_f1_after_one_epoch_random_init": report.val_weighted_f1,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--cnmc",
        type=Path,
        default=Path(os.environ.get("CNMC_DIR", REPO / ".." / "shared" / "data" / "cnmc")),
    )
    parser.add_argument(
        "--output", type=Path, default=Path(os.environ.get("OUT", REPO / "var" / "gpu_check"))
    )
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device", file=sys.stderr)
        return 2
    torch.backends.cudnn.benchmark = True
    args.output.mkdir(parents=True, exist_ok=True)
    name = torch.cuda.get_device_name()
    flops = flops_per_image(300)
    results: dict = {
        "device": name,
        "torch": torch.__version__,
        "batch": args.batch,
        "gflops_per_image_300px": flops / 1e9,
        "peak_bf16_tflops": peak_tflops(name),
    }
    for compiled in (False, True) if args.compile else (False,):
        rate = bare(args.batch, compiled)
        key = "compiled" if compiled else "eager"
        results[f"bare_images_per_s_{key}"] = rate
        results[f"achieved_tflops_{key}"] = rate * flops / 1e12
        print(json.dumps(results), flush=True)
    samples, source = cell_samples(args.cnmc, 2224)
    results["cells"] = source
    results["pipeline_cells_per_s"] = pipeline(samples, repeat=2)
    results["pipeline_vs_bare"] = (
        results["pipeline_cells_per_s"] * 8 / results["bare_images_per_s_eager"]
    )
    print(json.dumps(results), flush=True)
    results["training"] = one_epoch(samples, args.output / "train")
    (args.output / "gpu_check.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
