"""What the dashboard promises about its own speed, as measured (never guessed).

The demo's wall time in seconds, from the click on "Run the demo" to "Training finished", measured in
headless Chromium on 2 CPU cores by ``python benchmarks/bench_app.py --full`` (recorded in docs/results.md,
"The dashboard's demo"): the first demo after the server starts (it also loads the model and the data)
and a later one. Home states both; the progress bar's time left starts from the later one and follows
the training's own pace as it goes (:meth:`app.jobs.TrainingJob.time_left`). Measure again after a change
that makes the demo faster or slower.

Those are one 2-core machine's times; another computer can be twice as fast or as slow (the same benchmark
took 25 s and 53 s for a first demo on two such machines). So each full demo that finishes also records its
training time on this computer (:func:`record_here`, a small JSON file beside the run registry), and Home
and the progress bar's first estimate use the last one (:func:`seconds_here`) once there is one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import tempfile
from pathlib import Path

log = logging.getLogger("metalora.app")

# On 2026-12-02 (afternoon), an AMD EPYC host with AVX2: medians of 3 server starts, ranges 50.4–62.2 and
# 33.0–39.0. The same benchmark that morning on a faster host: 25.1 and 15.5. Home states the slower.
DEMO_SECONDS_FIRST = 53.4
DEMO_SECONDS = 38.7

HERE_FILE = "demo_times.json"
"""The file, in the run registry's folder, of the last full demos' training seconds on this computer."""
HERE_KEEP = 5
"""How many of the last demos it keeps."""
_PLAUSIBLE_S = (0.5, 24 * 3600.0)  # a value outside is not a demo's time (a hand-edited or damaged file)


def here_file() -> Path:
    """``$METALORA_HOME/demo_times.json`` (the run registry's folder)."""
    from metalora.training.run_registry import default_home

    return default_home() / HERE_FILE


def _plausible(value) -> bool:
    """A number of seconds a demo can take (not a flag, not NaN, not a day)."""
    lo, hi = _PLAUSIBLE_S
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and lo <= value <= hi
    )


def _read(path: Path) -> list[float]:
    """The recorded seconds, oldest first; none when the file is missing, unreadable or not ours."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    values = data.get("seconds") if isinstance(data, dict) else None
    if not isinstance(values, list):
        return []
    return [float(v) for v in values if _plausible(v)]


def seconds_here(path: Path | None = None) -> float | None:
    """The training seconds of the last full demo on this computer, or None before the first one."""
    values = _read(path or here_file())
    return values[-1] if values else None


def record_here(seconds: float, path: Path | None = None) -> None:
    """Add a finished full demo's training seconds (the last :data:`HERE_KEEP` are kept).

    The file is written whole beside itself and renamed over the old one, so a crash leaves the old file or
    the new, never half of one. Never raises: a demo's result matters more than its stopwatch.
    """
    path = path or here_file()
    if not _plausible(seconds):
        return
    values = [*_read(path), round(float(seconds), 2)][-HERE_KEEP:]
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".demo_times.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"seconds": values}, fh)
        os.replace(tmp, path)
        tmp = None
    except OSError as err:
        log.warning("Could not record the demo's time in %s: %s", path, err)
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
