"""AllReview beside Label Studio 1.23.2 in ONE run, on the same 500 real C-NMC cells, both over
HTTP on this machine (issue 12): ingest, web RSS after start, listing 500 cells in one call,
thumbnails on a kept-alive connection. Prints a table of ratios and writes JSON.

    .venv/bin/python scripts/bench/peer_labelstudio.py [--peer-dir /work/peer] [--rounds 3]
    .venv/bin/python scripts/bench/peer_labelstudio.py --ours-only     # no Label Studio

Label Studio's side is ../shared/peer/labelstudio/labelstudio_bench.sh (its venv in
$PEER_DIR/ls-venv, port 18080); ours is `make run`'s embedded default (SQLite, filesystem broker,
`manage.py devserver`), started afresh by scripts/bench/embedded.py. Order: ours, theirs, ours
again, so a change of load during the run shows as a spread instead of a bias.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from embedded import (  # noqa: E402
    REPO,
    Server,
    browser_session,
    embedded_server,
    load_average,
)

CNMC = Path(os.environ.get("CNMC_DIR", REPO.parent / "shared" / "data" / "cnmc"))
PEER_SCRIPT = Path(
    os.environ.get(
        "PEER_SCRIPT", REPO.parent / "shared" / "peer" / "labelstudio" / "labelstudio_bench.sh"
    )
)


def peer_files(n: int = 500) -> list[Path]:
    """Label Studio's set (ls_bench.py prepare): the first n/2 `all` and n/2 `hem` rows of
    labels.csv."""
    with open(CNMC / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    half = n // 2
    chosen = [r for r in rows if r["label"] == "all"][:half]
    chosen += [r for r in rows if r["label"] == "hem"][: n - half]
    return [CNMC / r["file"] for r in chosen]


def ingest_once(server: Server, files: list[Path], code: str) -> tuple[float, int]:
    """One multipart POST of every file (one browser drop or one API call), to the 201."""
    session = requests.Session()
    session.headers["Authorization"] = f"Token {server.token}"
    handles = [open(f, "rb") for f in files]  # noqa: SIM115
    try:
        parts = [("files", (f.name, h, "image/png")) for f, h in zip(files, handles, strict=True)]
        data = {"project": str(server.project), "patient_code": code}
        start = time.perf_counter()
        response = session.post(
            f"{server.url}/api/v1/cases/?project={server.project}", data=data, files=parts
        )
        seconds = time.perf_counter() - start
    finally:
        for h in handles:
            h.close()
    if response.status_code != 201:
        raise SystemExit(f"upload answered {response.status_code}: {response.text[:400]}")
    return seconds, response.json()["id"]


def ms_stats(samples: list[float]) -> dict[str, float]:
    xs = sorted(samples)
    return {
        "n": len(xs),
        "p50_ms": round(statistics.median(xs) * 1000, 1),
        "min_ms": round(xs[0] * 1000, 1),
        "max_ms": round(xs[-1] * 1000, 1),
    }


def list_cells(server: Server, case_id: int, reps: int) -> dict[str, float]:
    """GET all 500 cells in one call, on one kept-alive connection (as their task list)."""
    session = requests.Session()
    session.headers["Authorization"] = f"Token {server.token}"
    url = f"{server.url}/api/v1/cases/{case_id}/cells/?page_size=1000"
    samples = []
    for i in range(reps + 2):
        start = time.perf_counter()
        response = session.get(url)
        _ = response.content
        if i >= 2:  # two warm-ups, as theirs
            samples.append(time.perf_counter() - start)
        assert response.status_code == 200 and len(response.json()["results"]) == 500
    return ms_stats(samples)


def thumbnail_paths(session: requests.Session, server: Server, case_id: int) -> list[str]:
    """Every thumbnail's content address, as the browser finds them: in the case page's rows
    ([id, probability, uncertainty, model class, label, address])."""
    page = session.get(f"{server.url}/cases/{case_id}/?show=all").text
    rows = json.loads(
        page.split('id="cell-rows" type="application/json">')[1].split("</script>")[0]
    )
    return [f"/cells/{row[0]}/thumbnail/{row[5]}.jpg" for row in rows]


def thumbnails_keepalive(server: Server, case_id: int) -> dict[str, float]:
    """Every thumbnail of the case, one after another on ONE kept-alive connection."""
    session = browser_session(server)
    paths = thumbnail_paths(session, server, case_id)
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    headers = {"Cookie": cookie}
    conn.request("GET", paths[0], headers=headers)
    conn.getresponse().read()
    samples, start = [], time.perf_counter()
    for path in paths:
        t = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        samples.append(time.perf_counter() - t)
        assert response.status == 200 and body
    total = time.perf_counter() - start
    conn.close()
    return {**ms_stats(samples), "all_s": round(total, 2)}


def run_ours(files: list[Path], rounds: int, reps: int, tag: str) -> dict[str, Any]:
    print(f"AllReview ({tag}): starting devserver on the embedded default", flush=True)
    with embedded_server() as server:
        out: dict[str, Any] = {"rss_after_start_mb": round(server.rss_mb(), 1)}
        times, case_id = [], 0
        for i in range(rounds):
            seconds, case_id = ingest_once(server, files, f"BENCH-{tag}-{i}")
            times.append(seconds)
            print(f"  ingest {len(files)} files, round {i + 1}: {seconds:.2f} s", flush=True)
        out["ingest_s"] = {
            "samples": [round(t, 2) for t in times],
            "p50_s": round(statistics.median(times), 2),
        }
        out["list_500_one_call"] = list_cells(server, case_id, reps)
        print(f"  list 500 cells, one call: {out['list_500_one_call']}", flush=True)
        out["thumbnails_keepalive"] = thumbnails_keepalive(server, case_id)
        print(f"  500 thumbnails, one connection: {out['thumbnails_keepalive']}", flush=True)
        out["rss_after_bench_mb"] = round(server.rss_mb(), 1)
    out["web_rss_sh"] = web_rss()
    print(f"  {out['web_rss_sh']}", flush=True)
    out["load"] = load_average()
    return out


def web_rss() -> str:
    """scripts/bench/web_rss.sh: RSS of runserver and of a gunicorn worker after start."""
    script = Path(__file__).resolve().parent / "web_rss.sh"
    done = subprocess.run(["bash", str(script), str(REPO)], capture_output=True, text=True)
    return done.stdout.strip() or done.stderr.strip()


def run_theirs(peer_dir: Path) -> dict[str, Any]:
    print("Label Studio: ../shared/peer/labelstudio/labelstudio_bench.sh", flush=True)
    results = peer_dir / "labelstudio_results.json"
    env = {**os.environ, "PEER_DIR": str(peer_dir), "RESULTS": str(results)}
    subprocess.run(["bash", str(PEER_SCRIPT)], env=env, check=True)
    data = json.loads(results.read_text())
    data["load"] = load_average()
    return data


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "-"


def report(ours: list[dict[str, Any]], theirs: dict[str, Any] | None, n: int) -> None:
    print(f"\nload average at the end: {load_average()}")
    their = theirs["metrics"] if theirs else {}
    for o in ours:
        print(f"\nAllReview run {o['tag']} (load {o['load']})")
        ingest = o["ingest_s"]["p50_s"]
        line = f"  ingest {n} cells: {ingest:.2f} s = {n / ingest:.0f} cells/s"
        if their:
            up = their["import_upload_s"]["p50_s"]
            lf = their["import_localfiles_s"]["p50_s"]
            line += (
                f"; Label Studio upload {up:.2f} s ({n / up:.0f}/s), local files {lf:.2f} s"
                f" -> our rate / theirs: {ratio(up, ingest)}x (upload), {ratio(lf, ingest)}x"
                " (local files)"
            )
        print(line)
        lst = o["list_500_one_call"]["p50_ms"]
        line = f"  list 500 in one call: {lst} ms"
        if their:
            t = their["tasks_api_all_500"]["p50_ms"]
            line += f"; Label Studio 500-task list {t} ms -> ours/theirs {ratio(lst, t)}"
        print(line)
        th = o["thumbnails_keepalive"]
        line = f"  thumbnail on keep-alive: {th['p50_ms']} ms median, all 500 in {th['all_s']} s"
        if their:
            t = their["image_get"]["p50_ms"]
            line += f"; Label Studio one image {t} ms -> ours/theirs {ratio(th['p50_ms'], t)}"
        print(line)
        print(f"  scripts/bench/web_rss.sh: {o['web_rss_sh']}")
        line = f"  web RSS after start: {o['rss_after_start_mb']} MB"
        if theirs:
            line += (
                f"; Label Studio after its run {theirs.get('server_rss_mb')} MB"
                f" (ours after the run {o['rss_after_bench_mb']} MB)"
            )
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer-dir", type=Path, default=Path("/work/peer"))
    parser.add_argument("--rounds", type=int, default=3, help="ingest rounds (theirs: 3)")
    parser.add_argument("--reps", type=int, default=20, help="list calls (theirs: 20)")
    parser.add_argument("--ours-only", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    files = peer_files()
    print(f"load average at the start: {load_average()}")
    ours = [{"tag": "A", **run_ours(files, args.rounds, args.reps, "A")}]
    theirs = None
    if not args.ours_only:
        theirs = run_theirs(args.peer_dir)
        ours.append({"tag": "B", **run_ours(files, args.rounds, args.reps, "B")})
    report(ours, theirs, len(files))
    out = args.out or args.peer_dir / "allreview_vs_labelstudio.json"
    out.write_text(json.dumps({"allreview": ours, "labelstudio": theirs}, indent=2))
    print(f"\nresults: {out}")


if __name__ == "__main__":
    main()
