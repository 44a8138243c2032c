"""The app graph of AllReview, read from the code's own imports, drawn as an SVG.

    python scripts/app_graph.py                 # writes docs/img/app_graph.svg
    python scripts/app_graph.py --check         # exit 1 on an upward import or a cycle

Every `import` and `from ... import` of an `allreview.<app>` module counts, wherever it stands
(top of the module, inside a function, under TYPE_CHECKING): a lazy import is still a
dependency. Migrations are left out (they are history, not the code's shape). `LAYERS` is the
intended picture, lowest first; an app may import only apps of lower layers.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "allreview"
# Pure packages beside the project (no Django): the classifier and the smear-field toolkit.
PURE = ("classifier", "smear")

# Lowest first. `config` is the project's settings and Celery app (read by everything, importing
# no app); `site` is the URL root and the WSGI/ASGI entry points (composing every app).
LAYERS: list[list[str]] = [
    ["classifier", "smear", "config"],
    ["lib"],
    ["audit"],
    ["projects", "accounts"],
    ["mlmodels"],
    ["cases"],
    ["review", "pretraining"],
    ["training", "exports", "agreement", "quality", "fields"],
    ["interop"],
    ["api", "demo", "ops"],
    ["site"],
]
CONFIG_MODULES = {"__init__", "settings", "celery"}
SITE_MODULES = {"urls", "wsgi", "asgi"}


@dataclass
class AppGraph:
    """app -> imported app -> the importing modules (one example per module is enough)."""

    edges: dict[str, dict[str, set[str]]] = field(default_factory=lambda: defaultdict(dict))
    apps: set[str] = field(default_factory=set)

    def add(self, source: str, target: str, module: str) -> None:
        self.apps.update({source, target})
        if source != target:
            self.edges[source].setdefault(target, set()).add(module)


def app_of(module: str) -> str | None:
    """The app a dotted module name belongs to (None: outside the project)."""
    parts = module.split(".")
    if parts[0] in PURE:
        return parts[0]
    if parts[0] != PACKAGE:
        return None
    if len(parts) == 1 or parts[1] in CONFIG_MODULES:
        return "config"
    if parts[1] in SITE_MODULES:
        return "site"
    return parts[1]


def module_name(path: Path, root: Path) -> str:
    relative = path.relative_to(root).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(tree: ast.AST, here: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = here.split(".")[: -node.level]
                base = ".".join([*package, base] if base else package)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def build(root: Path = REPO) -> AppGraph:
    graph = AppGraph()
    for package in (PACKAGE, *PURE):
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            here = module_name(path, root)
            source = app_of(here)
            assert source is not None
            graph.apps.add(source)
            tree = ast.parse(path.read_text(), filename=str(path))
            for target_module in imported_modules(tree, here):
                target = app_of(target_module)
                if target is not None:
                    graph.add(source, target, here)
    return graph


def rank(app: str) -> int:
    for level, names in enumerate(LAYERS):
        if app in names:
            return level
    raise KeyError(f"app {app!r} is in no layer of scripts/app_graph.py: add it to LAYERS")


def upward_imports(graph: AppGraph) -> list[str]:
    """Each import of an app of the same or a higher layer, as 'importer -> imported (module)'."""
    found = []
    for source, targets in sorted(graph.edges.items()):
        for target, modules in sorted(targets.items()):
            if rank(target) >= rank(source):
                found += [f"{source} -> {target} ({m})" for m in sorted(modules)]
    return found


def cycles(graph: AppGraph) -> list[list[str]]:
    """Every cycle between apps, found by depth-first search (each reported once)."""
    found: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()

    def visit(app: str, path: list[str]) -> None:
        for target in sorted(graph.edges.get(app, {})):
            if target in path:
                loop = path[path.index(target) :]
                key = tuple(sorted(loop))
                if key not in seen:
                    seen.add(key)
                    found.append([*loop, target])
            else:
                visit(target, [*path, target])

    for app in sorted(graph.apps):
        visit(app, [app])
    return found


# --- drawing ---------------------------------------------------------------------------------

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 150, 34, 40, 52, 24
NOTES = {
    "config": "settings, celery",
    "site": "urls, wsgi (apps by name)",
    "classifier": "pure PyTorch",
    "smear": "pure fields toolkit",
    "lib": "pure helpers",
}


def layout(graph: AppGraph) -> dict[str, tuple[float, float]]:
    """Box centres: one row per layer, the highest layer on top."""
    rows = [[a for a in names if a in graph.apps] for names in LAYERS]
    width = max(len(r) for r in rows) * (BOX_W + GAP_X)
    centres = {}
    for level, row in enumerate(rows):
        y = MARGIN + (len(rows) - 1 - level) * (BOX_H + GAP_Y) + BOX_H / 2
        start = MARGIN + (width - len(row) * (BOX_W + GAP_X)) / 2
        for i, app in enumerate(row):
            centres[app] = (start + i * (BOX_W + GAP_X) + (BOX_W + GAP_X) / 2, y)
    return centres


def svg(graph: AppGraph) -> str:
    centres = layout(graph)
    width = max(x for x, _ in centres.values()) + BOX_W / 2 + MARGIN
    height = max(y for _, y in centres.values()) + BOX_H / 2 + MARGIN + 22
    bad = {tuple(line.split(" (")[0].split(" -> ")) for line in upward_imports(graph)}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="13">',
        "<title>AllReview app graph: each arrow is an import, pointing downhill</title>",
        '<defs><marker id="a" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z" fill="#777"/></marker>'
        '<marker id="r" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z" fill="#c00"/></marker></defs>',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#fff"/>',
    ]
    for source, targets in sorted(graph.edges.items()):
        for target in sorted(targets):
            (x1, y1), (x2, y2) = centres[source], centres[target]
            upward = (source, target) in bad
            colour, marker = ("#c00", "r") if upward else ("#8a94a6", "a")
            # leave the importer's bottom edge, enter the imported box's top edge, each end
            # shifted towards the other so that the arrows of one box fan out
            lean = max(-1.0, min(1.0, (x2 - x1) / (3 * BOX_W))) * (BOX_W / 2 - 8)
            down = 1 if y2 > y1 else -1
            x1e, y1e = x1 + lean, y1 + down * BOX_H / 2
            x2e, y2e = x2 - lean, y2 - down * BOX_H / 2
            out.append(
                f'<line x1="{x1e:.1f}" y1="{y1e:.1f}" x2="{x2e:.1f}" y2="{y2e:.1f}" '
                f'stroke="{colour}" stroke-width="1.1" stroke-opacity="0.7" '
                f'marker-end="url(#{marker})"/>'
            )
    for app, (x, y) in sorted(centres.items()):
        fill = "#eef3fb" if app not in {"config", "site", "lib", *PURE} else "#f4f4f4"
        out.append(
            f'<rect x="{x - BOX_W / 2:.1f}" y="{y - BOX_H / 2:.1f}" width="{BOX_W}" '
            f'height="{BOX_H}" rx="6" fill="{fill}" stroke="#5a6b86"/>'
        )
        note = NOTES.get(app)
        label_y = y - 2 if note else y + 5
        out.append(
            f'<text x="{x:.1f}" y="{label_y:.1f}" text-anchor="middle" font-weight="bold">'
            f"{escape(app)}</text>"
        )
        if note:
            out.append(
                f'<text x="{x:.1f}" y="{y + 11:.1f}" text-anchor="middle" font-size="10" '
                f'fill="#555">{escape(note)}</text>'
            )
    legend = "Drawn from the code's imports by scripts/app_graph.py: importer \u2192 imported"
    out.append(
        f'<text x="{MARGIN}" y="{height - 10:.0f}" font-size="11" fill="#555">'
        f"{escape(legend)}</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; write nothing")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "img" / "app_graph.svg")
    args = parser.parse_args(argv)
    graph = build()
    problems = upward_imports(graph) + [" -> ".join(c) for c in cycles(graph)]
    for line in problems:
        print(f"upward import or cycle: {line}", file=sys.stderr)
    if not args.check:
        args.output.write_text(svg(graph))
        edges = sum(len(t) for t in graph.edges.values())
        print(f"{args.output.relative_to(REPO)}: {len(graph.apps)} apps, {edges} edges")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
