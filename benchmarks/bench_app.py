"""Dashboard speed in a real browser: cold start to the first page, and page switches after the demo.

    .venv/bin/python benchmarks/bench_app.py [--epochs 1] [--samples 6] [--rounds 2]
    .venv/bin/python benchmarks/bench_app.py --full [--write-results docs/results.md]  # Home's times

Cold start is measured from launching ``streamlit run app/main.py`` to the home page rendered and idle
in headless Chromium (the browser is started beforehand). A page switch is a click in the sidebar menu
until the new page's title is shown, its charts are drawn and the script is idle. The first visit of an
analysis page computes its results (then kept with the run); later visits only draw. Targets on 2 CPU
cores: cold start ≤ 3 s, the demo ≤ 30 s warm, page switch ≤ 1 s. ``--full`` runs the library's demo
settings (all images, its epochs) twice, the first demo after the start and one more: the wall times from
the click on "Run the demo" to "Training finished" are the times Home states (``app/measured.py``).
Last, a new tab (a second session) reads Home for 3 s, shows all recorded runs and opens its first chart
page: the time a colleague who opens the link waits (the tab loads the chart library while Home is read,
``app.ui.preload_charts``). ``--write-results docs/results.md`` writes the table into the file's
``bench_app`` block. ``--meeting`` times the page switches in meeting mode (large type, details folded) and
writes the ``bench_app_meeting`` block. ``--cpu-throttle N`` slows the browser (not the server) N times, to see
what a slower laptop's browser would add. Beside each page's later visits, the browser's own share: the seconds
Chromium's main thread was busy during a switch (``TaskDuration`` of its performance counters, read through the
DevTools protocol); the rest is the server's script and waiting for the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: `app` and `tests`

from app.strings import STRINGS
from tests import app_support as testkit

PAGES = ["model_data", "train", "scaling", "ranks", "clusters", "accuracy", "runs", "home"]
CHARTS = {"scaling", "ranks", "clusters", "accuracy"}


MEETING_CHARTS = CHARTS - {"accuracy"}
"""The pages whose headline is a chart: in meeting mode Accuracy & cost opens with its result card, and the
charts of the folded details are drawn when a section is opened."""


def switch(page, key: str, meeting: bool = False) -> float:
    """Seconds from the click on ``key``'s menu entry to the page drawn and idle."""
    title = STRINGS["home_title" if key == "home" else f"page_{key}"]["en"]
    t0 = time.perf_counter()
    page.locator('[data-testid="stSidebarNav"] a', has_text=STRINGS[f"page_{key}"]["en"]).click()
    page.get_by_role("heading", name=title).first.wait_for()
    if key in (MEETING_CHARTS if meeting else CHARTS):
        try:
            page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        except Exception:
            page.screenshot(path=str(testkit.ROOT / "artifacts" / f"bench_{key}_failed.png"))
            raise
    testkit.wait_idle(page, settle_ms=50)
    return time.perf_counter() - t0 - 0.05


def busy_s(cdp) -> float:
    """Seconds the tab's main thread has been busy so far (Chromium's ``TaskDuration`` counter)."""
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return next(m["value"] for m in metrics if m["name"] == "TaskDuration")


def run_demo(page) -> float:
    """Seconds from the click on Home's "Run the demo" to "Training finished" shown and the script idle."""
    if page.get_by_role("heading", name=STRINGS["home_title"]["en"]).count() == 0:
        page.locator('[data-testid="stSidebarNav"] a', has_text=STRINGS["page_home"]["en"]).click()
        page.get_by_role("heading", name=STRINGS["home_title"]["en"]).wait_for()
        testkit.wait_idle(page)
    t1 = time.perf_counter()
    page.get_by_role("button", name=STRINGS["demo_button"]["en"]).click()
    page.locator('[data-testid="stProgress"]').first.wait_for(timeout=60_000)  # the job has started
    page.locator('[data-testid="stProgress"]').first.wait_for(state="detached", timeout=900_000)
    page.get_by_text(STRINGS["job_done"]["en"][:17]).first.wait_for(timeout=60_000)
    testkit.wait_idle(page)
    return time.perf_counter() - t1


def measure(args, chromium: str) -> dict:
    """One server start in a fresh data folder: cold start, the demo (twice with ``--full``), page switches."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        env = testkit.tiny_env(Path(tmp), epochs=args.epochs, samples=args.samples)
        if args.full:  # the library's demo settings: nothing shrunk
            env.pop("METALORA_DEMO_EPOCHS")
            env.pop("METALORA_DEMO_SAMPLES")
        browser = pw.chromium.launch(executable_path=chromium, args=testkit.CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(180_000)
        throttle(page, args.cpu_throttle)
        t0 = time.perf_counter()
        proc, url = testkit.start_server(env)
        try:
            testkit.wait_healthy(proc, url)
            t_health = time.perf_counter() - t0
            page.goto(url)
            page.get_by_role("heading", name=STRINGS["home_title"]["en"]).wait_for()
            testkit.wait_idle(page, settle_ms=50)
            cold = time.perf_counter() - t0 - 0.05

            demos = [run_demo(page)]  # the first demo after a server start ("cold")
            if args.full:  # and a second one in the same server ("warm"), as a meeting's second demo
                demos.append(run_demo(page))

            if args.meeting:
                page.locator('[data-testid="stSidebar"]').get_by_text(STRINGS["meeting_mode"]["en"]).click()
                testkit.wait_idle(page)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")

            def timed(key: str) -> tuple[float, float]:
                """(wall seconds, browser-busy seconds) of one switch to ``key``."""
                before = busy_s(cdp)
                return switch(page, key, args.meeting), busy_s(cdp) - before

            first = {k: timed(k)[0] for k in PAGES}
            later = {k: [timed(k) for _ in range(args.rounds)] for k in PAGES}
            new_tab = first_chart_in_a_new_tab(browser, url, args.cpu_throttle)
        finally:
            testkit.stop_server(proc)
            browser.close()

    return {
        "cold": cold,
        "health": t_health,
        "demos": demos,
        "first": first,
        "later": {k: [t for t, _ in v] for k, v in later.items()},
        "later_busy": {k: [b for _, b in v] for k, v in later.items()},
        "new_tab": new_tab,
    }


def throttle(page, rate: float) -> None:
    """Slow the tab's main thread down ``rate`` times (Chromium's CPU throttling), as on a slower laptop."""
    if rate > 1:
        page.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": rate})


def first_chart_in_a_new_tab(browser, url: str, rate: float = 1) -> float:
    """A new tab (a new session: a colleague opening the link): Home read for 3 s, the recorded runs
    shown, then the switch to its first chart page (scaling), which draws a rebuilt run."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        tab = context.new_page()
        throttle(tab, rate)
        tab.set_default_timeout(180_000)
        tab.goto(url)
        tab.get_by_role("heading", name=STRINGS["home_title"]["en"]).wait_for()
        testkit.wait_idle(tab, settle_ms=50)
        tab.wait_for_timeout(3_000)
        switch(tab, "runs")
        tab.get_by_text(STRINGS["all_runs"]["en"]).first.click()
        testkit.wait_idle(tab)
        return switch(tab, "scaling")
    finally:
        context.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=1, help="demo epochs per run (small: we time the app)")
    ap.add_argument("--samples", type=int, default=10, help="demo images per class")
    ap.add_argument("--rounds", type=int, default=2, help="visits of every page after the first")
    ap.add_argument(
        "--full", action="store_true", help="the demo as users get it (ignores --epochs and --samples)"
    )
    ap.add_argument(
        "--meeting", action="store_true", help="page switches in meeting mode (the bench_app_meeting block)"
    )
    ap.add_argument(
        "--cpu-throttle",
        type=float,
        default=1,
        help="slow the browser's main thread down N times (Chromium's CPU throttling; the server is not slowed)",
    )
    ap.add_argument("--repeats", type=int, default=1, help="server starts (each figure: median and range)")
    ap.add_argument("--write-results", metavar="FILE", help="write the table into FILE's bench_app block")
    args = ap.parse_args()
    chromium = testkit.find_chromium()
    if chromium is None:
        sys.exit("No Chromium found (apt-get install chromium).")
    runs = [measure(args, chromium) for _ in range(args.repeats)]
    for i, r in enumerate(runs, 1):
        demos = ", ".join(f"{d:.1f}" for d in r["demos"])
        print(f"server start {i}/{len(runs)}: cold start {r['cold']:.2f} s, demo {demos} s", flush=True)
    med = statistics.median

    def spread(values: list[float], digits: int) -> str:
        """The median, and the range when there are several starts."""
        text = f"{med(values):.{digits}f}"
        return text if len(values) < 2 else f"{text} ({min(values):.{digits}f}–{max(values):.{digits}f})"

    cold = [r["cold"] for r in runs]
    t_health = med([r["health"] for r in runs])
    demos = [[r["demos"][i] for r in runs] for i in range(len(runs[0]["demos"]))]
    first = {k: med([r["first"][k] for r in runs]) for k in PAGES}
    later = {k: [x for r in runs for x in r["later"][k]] for k in PAGES}
    busy = {k: [x for r in runs for x in r["later_busy"][k]] for k in PAGES}
    size = "the library's settings" if args.full else f"{args.epochs} epoch, {args.samples}/class"
    all_later = [x for v in later.values() for x in v]

    def slowest(visits: dict[str, list[float]]) -> str:
        return max(visits, key=lambda k: max(visits[k]))

    lines = [
        f"Headless Chromium, {os.cpu_count()} CPU cores, the demo with {size}, measured "
        f"{time.strftime('%Y-%m-%d')} over {len(runs)} server start(s), each in a fresh data folder (median, and "
        "the range over the starts)"
        + (", page switches in meeting mode" if args.meeting else "")
        + (f", the browser's CPU throttled {args.cpu_throttle:g}×" if args.cpu_throttle > 1 else "")
        + ". Targets: cold start ≤ 3 s, the demo ≤ 30 s warm, every page switch ≤ 1 s.",
        "",
        "| what | seconds |",
        "|---|---:|",
        f"| cold start: `streamlit run` launched → home page drawn and idle (server healthy after {t_health:.2f} s) "
        f"| {spread(cold, 2)} |",
        f'| the demo, click → "Training finished", first after the start | {spread(demos[0], 1)} |',
    ]
    if len(demos) > 1:
        lines.append(f"| the demo again in the same server | {spread(demos[1], 1)} |")
    lines += [
        f"| page switch after the demo: median of {len(all_later)} (every page, {args.rounds} visits each per start) "
        f"| {statistics.median(all_later):.2f} |",
        f"| page switch after the demo: slowest (its page) | {max(all_later):.2f} ({slowest(later)}) |",
        "| first visit of a page after the demo: slowest (its page), median over the starts "
        f"| {max(first.values()):.2f} ({max(first, key=first.get)}) |",
        "| a new tab's first chart page (Home read for 3 s, then all recorded runs, then scaling factors) "
        f"| {spread([r['new_tab'] for r in runs], 2)} |",
        "",
        "| page | first visit s | later visits s (median) | later visits s (slowest) "
        "| browser busy in a later visit s (median) |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {k} | {first[k]:.2f} | {med(later[k]):.2f} | {max(later[k]):.2f} | {med(busy[k]):.2f} |"
            for k in PAGES
        ),
    ]
    text = "\n".join(lines)
    print(text)
    if args.write_results:
        sys.path.insert(0, str(testkit.ROOT / "benchmarks"))
        from bench_common import write_block

        write_block(Path(args.write_results), "bench_app_meeting" if args.meeting else "bench_app", text)


if __name__ == "__main__":
    main()
