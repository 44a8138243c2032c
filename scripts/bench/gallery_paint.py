"""How soon after navigation chromium has painted every visible thumbnail of a 500-cell case,
on `make run`'s server (issue 12, must-have 3: ≤ 1 s).

    .venv/bin/python scripts/bench/gallery_paint.py [--rounds 5] [--cells 500]

Starts the embedded default afresh (scripts/bench/embedded.py: SQLite, filesystem broker,
`manage.py devserver`), uploads 500 real C-NMC cells through the API, gives them predictions
(as a worker would) and opens the case page in Debian's chromium (Playwright), 1366x768. Each
round is a new browser context, i.e. an empty cache (cold), followed by a second visit of the
same page in that context (warm: the thumbnails come from the browser's cache). The baseline,
measured in the same rounds, is a second case of the same cells without a pack (as cases from
before packs), whose gallery fetches each visible thumbnail at its own address.

The figure is the latest Element Timing `renderTime` (the frame in which the image was painted,
measured by chromium from the navigation's start) over the thumbnails that intersect the
viewport; every one of them must have loaded (naturalWidth > 0).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from embedded import PASSWORD, USERNAME, Server, embedded_server, load_average, manage  # noqa: E402
from peer_labelstudio import ingest_once, peer_files  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Tag every image before it can paint, and keep chromium's paint records of them.
INIT_SCRIPT = """
window.__paints = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__paints.push({el: e.element, t: e.renderTime || e.loadTime});
}).observe({type: "element", buffered: true});
new MutationObserver((records) => {
  for (const r of records) for (const n of r.addedNodes) {
    if (n.nodeType !== 1) continue;
    if (n.tagName === "IMG") n.setAttribute("elementtiming", "thumb");
    n.querySelectorAll("img").forEach((i) => i.setAttribute("elementtiming", "thumb"));
  }
}).observe(document, {childList: true, subtree: true});
"""

# The visible thumbnails (inside the viewport and the gallery's own scroll box), once each has
# loaded and been painted; null until then.
VISIBLE_PAINTED = """() => {
  const pane = document.querySelector(".gallery-pane").getBoundingClientRect();
  const top = Math.max(0, pane.top), bottom = Math.min(innerHeight, pane.bottom);
  const visible = [...document.querySelectorAll("#gallery img")].filter((i) => {
    const r = i.getBoundingClientRect();
    return r.bottom > top && r.top < bottom && r.right > 0 && r.left < innerWidth;
  });
  if (!visible.length) return null;
  if (!visible.every((i) => i.currentSrc && i.complete)) return null;
  const broken = visible.filter((i) => !i.naturalWidth).length;
  const painted = new Map(window.__paints.map((p) => [p.el, p.t]));  // the last paint of each
  const times = visible.map((i) => painted.get(i));
  if (times.some((t) => t === undefined)) return null;
  const nav = performance.getEntriesByType("navigation")[0];
  const drawn = performance.getEntriesByName("gallery-drawn")[0];
  const shown = performance.getEntriesByName("thumbnails-shown")[0];
  const packed = performance.getEntriesByType("resource").find((e) => e.name.endsWith(".pack"));
  return {visible: visible.length, broken, last_paint_ms: Math.max(...times),
          html_ms: nav.responseEnd, drawn_ms: drawn ? drawn.startTime + drawn.duration : null,
          shown_ms: shown ? shown.startTime : null, pack_ms: packed ? packed.responseEnd : null,
          requested: performance.getEntriesByType("resource")
            .filter((e) => e.transferSize > 0 && /thumbnail/.test(e.name)).length};
}"""

PREDICT = """
from allreview.cases.models import Case, CaseStatus, Prediction
from allreview.mlmodels.models import ModelVersion
case = Case.objects.get(pk={case})
model = ModelVersion.objects.create(name="bench-{case}", profile="tiny", architecture="tiny",
                                    checkpoint="models/none.pt", sha256="0" * 64)
rows = []
for i, cell in enumerate(case.cells.order_by("id")):
    p = round((i * 37 % 100) / 100, 3)
    rows.append(Prediction(cell=cell, model_version=model, probability=p,
                           label="all" if p >= 0.5 else "hem", uncertainty=round(0.5 - abs(p - 0.5), 3)))
Prediction.objects.bulk_create(rows)
Case.objects.filter(pk=case.pk).update(model_version=model, status=CaseStatus.READY)
if {no_pack}:
    Case.objects.filter(pk=case.pk).update(thumbnail_pack="")
"""


def log_in(page: Any, server: Server) -> None:
    page.goto(f"{server.url}/login/")
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(f"{server.url}/")


def visit(page: Any, url: str) -> dict[str, Any]:
    page.goto(url)
    handle = page.wait_for_function(VISIBLE_PAINTED, polling=20, timeout=30_000)
    return handle.json_value()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cells", type=int, default=500)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415  (only this script needs it)

    print(f"load average at the start: {load_average()}")
    figures: dict[str, tuple[list[float], list[float]]] = {}
    with embedded_server() as server:
        urls = {}
        for kind, no_pack in (("pack", False), ("one by one", True)):
            _, case_id = ingest_once(server, peer_files(args.cells), f"PAINT-{int(no_pack)}")
            manage(server.env, "shell", "-c", PREDICT.format(case=case_id, no_pack=no_pack))
            urls[kind] = f"{server.url}/cases/{case_id}/"
            figures[kind] = ([], [])
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for round_ in range(args.rounds):
                for kind, url in urls.items():
                    first, again = paint_twice(browser, server, url)
                    figures[kind][0].append(first["last_paint_ms"])
                    figures[kind][1].append(again["last_paint_ms"])
                    print(
                        f"  round {round_ + 1}, {kind}: {first['visible']} visible thumbnails "
                        f"painted {first['last_paint_ms']:.0f} ms after navigation (cold cache, "
                        f"{first['requested']} thumbnail requests; page received at "
                        f"{first['html_ms']:.0f} ms, tiles drawn at {first['drawn_ms']:.0f} ms); "
                        f"again {again['last_paint_ms']:.0f} ms ({again['requested']} requests)",
                        flush=True,
                    )
            browser.close()
    for kind, (cold, warm) in figures.items():
        print(
            f"{args.cells}-cell case, {kind}: every visible thumbnail painted after navigation: "
            f"cold median {statistics.median(cold):.0f} ms (max {max(cold):.0f}), "
            f"warm median {statistics.median(warm):.0f} ms (max {max(warm):.0f}); goal <= 1000 ms"
        )
    ratio = statistics.median(figures["pack"][0]) / statistics.median(figures["one by one"][0])
    print(f"cold, pack / one by one: {ratio:.2f}")
    print(f"load average at the end: {load_average()}")


def paint_twice(browser: Any, server: Server, url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A fresh context (empty cache): the first visit, then a second one from the cache."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    context.add_init_script(INIT_SCRIPT)
    page = context.new_page()
    log_in(page, server)
    first, again = visit(page, url), visit(page, url)
    context.close()
    for result in (first, again):
        assert result["broken"] == 0, result
    return first, again


if __name__ == "__main__":
    main()
