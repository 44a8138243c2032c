"""Compare bare Pillow decode+thumbnail with `check_image` on C-NMC-like 450x450 24-bit BMPs.

    .venv/bin/python scripts/bench/imaging.py [--count 200] [--rounds 3] [--cnmc DIR]

Prints images per second for each way (best of `rounds`, files read from disk each time), and
the ratio check_image / bare. With --cnmc (or CNMC_DIR, or ../shared/data/cnmc) it also times the
real C-NMC PNGs.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from allreview.lib.imaging import check_image

SIDE = 450
THUMB = 128


@dataclass(frozen=True)
class Timing:
    label: str
    count: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds


def make_cell_bmps(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """A textured disc on black per file, varied in size and tint, saved as 24-bit BMP."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SIDE, :SIDE]
    paths = []
    for i in range(count):
        radius = rng.uniform(80, 180)
        inside = (yy - SIDE / 2) ** 2 + (xx - SIDE / 2) ** 2 < radius**2
        tint = rng.uniform(0.4, 1.0, size=3)
        texture = rng.integers(60, 230, size=(SIDE, SIDE, 1)) * tint
        pixels = np.where(inside[..., None], texture, 0).astype(np.uint8)
        path = folder / f"cell_{i:04d}.bmp"
        Image.fromarray(pixels, "RGB").save(path, "BMP")
        paths.append(path)
    return paths


def bare_pillow(data: bytes) -> bytes:
    img = Image.open(io.BytesIO(data))
    img.thumbnail((THUMB, THUMB))
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


def checked(data: bytes) -> bytes:
    return check_image(data, thumb_size=THUMB).thumbnail


def best_time(label: str, paths: list[Path], work: Callable[[bytes], bytes], rounds: int) -> Timing:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for path in paths:
            work(path.read_bytes())
        best = min(best, time.perf_counter() - start)
    return Timing(label, len(paths), best)


def report(name: str, paths: list[Path], rounds: int) -> None:
    size_kb = sum(p.stat().st_size for p in paths) / len(paths) / 1024
    print(f"{name}: {len(paths)} files, mean {size_kb:.0f} KiB")
    bare = best_time("bare Pillow decode+thumbnail+JPEG", paths, bare_pillow, rounds)
    ours = best_time("check_image (validate+sha256+thumb)", paths, checked, rounds)
    for timing in (bare, ours):
        print(f"  {timing.label:38s} {timing.rate:8.1f} images/s")
    print(f"  check_image / bare = {ours.rate / bare.rate:.2f}")


def cnmc_pngs(folder: Path | None, count: int) -> list[Path]:
    if folder is None or not (folder / "images").is_dir():
        return []
    return sorted((folder / "images").rglob("*.png"))[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    default_cnmc = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "cnmc"
    parser.add_argument("--cnmc", type=Path, default=Path(os.environ.get("CNMC_DIR", default_cnmc)))
    args = parser.parse_args()
    print(f"Pillow {Image.__version__}, {os.cpu_count()} CPUs, one process")
    with tempfile.TemporaryDirectory() as tmp:
        report("synthetic 450x450 BMP", make_cell_bmps(Path(tmp), args.count), args.rounds)
    pngs = cnmc_pngs(args.cnmc, args.count)
    if pngs:
        report("C-NMC PNG", pngs, args.rounds)


if __name__ == "__main__":
    main()
