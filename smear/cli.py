"""`python -m smear generate | segment | bench`: make test fields, segment
fields into C-NMC-like crops, print the figures, compute C-NMC's colour reference."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from smear.crop import cell_crop, crop_scale, png_bytes
from smear.generate import FieldConfig, field_generate, sources_from_cnmc
from smear.io import decode_rgb, jpeg_bytes, truth_json, write_json
from smear.masks import mask_polygon, rle_encode
from smear.segment import SegmentConfig, segment_field

DEFAULT_DIAMETER = SegmentConfig().cell_diameter


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m smear", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="compose smear fields from real C-NMC cells")
    gen.add_argument("--data", type=Path, required=True, help="C-NMC folder with labels.csv")
    gen.add_argument("--out", type=Path, required=True)
    gen.add_argument("--fields", type=int, default=4)
    gen.add_argument("--seed", type=int, default=1000, help="first seed; field i uses seed+i")
    gen.add_argument("--width", type=int, default=2592)
    gen.add_argument("--height", type=int, default=1944)
    seg = sub.add_parser("segment", help="find the white cells of fields and crop them")
    seg.add_argument("fields", type=Path, nargs="+")
    seg.add_argument("--out", type=Path, required=True)
    seg.add_argument(
        "--cell-diameter",
        type=float,
        default=DEFAULT_DIAMETER,
        help="a typical lymphocyte's diameter in field pixels",
    )
    bench = sub.add_parser("bench", help="detection figures and speed on generated fields")
    bench.add_argument("--data", type=Path, required=True)
    bench.add_argument("--fields", type=int, default=20)
    bench.add_argument("--seed", type=int, default=1000, help="held out: tuning used 0-19")
    bench.add_argument("--repeats", type=int, default=5)
    return parser


def cmd_generate(args: argparse.Namespace) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    sources = sources_from_cnmc(args.data)
    config = FieldConfig(width=args.width, height=args.height)
    for index in range(args.fields):
        seed = args.seed + index
        generated = field_generate(sources, config, seed=seed)
        name = f"field_{seed}.jpg"
        (args.out / name).write_bytes(jpeg_bytes(generated.image))
        write_json(
            args.out / f"field_{seed}.json", truth_json(generated, image=name, root=args.data)
        )
        print(f"{name}: {len(generated.cells)} white cells")
    return 0


def cmd_segment(args: argparse.Namespace) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    config = SegmentConfig(cell_diameter=args.cell_diameter)
    scale = crop_scale(args.cell_diameter)
    for path in args.fields:
        rgb = decode_rgb(path.read_bytes())
        found = segment_field(rgb, config)
        cells = []
        for index, detection in enumerate(found, start=1):
            name = f"{path.stem}_cell{index:03d}.png"
            crop = cell_crop(rgb, detection.box, detection.mask, scale=scale)
            (args.out / name).write_bytes(png_bytes(crop))
            box = detection.box
            cells.append(
                {
                    "crop": name,
                    "box": box.as_list(),
                    "mask": rle_encode(detection.mask),
                    "polygon": mask_polygon(detection.mask, x0=box.x0, y0=box.y0),
                    "score": detection.score,
                    "edge": detection.edge,
                }
            )
        write_json(args.out / f"{path.stem}.cells.json", {"field": path.name, "cells": cells})
        print(f"{path.name}: {len(cells)} cells")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from smear.bench import detection_figures, one_core, speed_figures

    one_core()
    field, segment = FieldConfig(), SegmentConfig()
    seeds = range(args.seed, args.seed + args.fields)
    score = detection_figures(args.data, seeds, field=field, segment=segment)
    speed = speed_figures(
        args.data, seed=args.seed, repeats=args.repeats, field=field, segment=segment
    )
    figures = {
        "fields": args.fields,
        "seeds": [args.seed, args.seed + args.fields - 1],
        "white_cells": score.truths,
        "detections": score.detections,
        "recall_iou50": round(score.recall, 4),
        "precision_iou50": round(score.precision, 4),
        "mean_mask_iou": round(score.mean_mask_iou, 4),
        "field": f"{speed.width}x{speed.height} JPEG",
        "decode_s": round(speed.decode_s, 4),
        "segment_s": round(speed.segment_s, 4),
        "segment_over_decode": round(speed.ratio, 2),
        "repeats": speed.repeats,
    }
    print(json.dumps(figures, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    commands = {
        "generate": cmd_generate,
        "segment": cmd_segment,
        "bench": cmd_bench,
    }
    return commands[args.command](args)
