"""What the dashboard promises about its own speed, as measured (never guessed).

The demo's wall time in seconds, from the click on "Run the demo" to "Training finished", measured in
headless Chromium on 2 CPU cores by ``python benchmarks/bench_app.py --full`` (recorded in docs/results.md,
"The dashboard's demo"): the first demo after the server starts (it also loads the model and the data)
and a later one. Home states both; the progress bar's time left starts from the later one and follows
the training's own pace as it goes (:meth:`app.jobs.TrainingJob.time_left`). Measure again after a change
that makes the demo faster or slower.
"""

DEMO_SECONDS_FIRST = 25.1  # median of 3 server starts (23.6–26.2)
DEMO_SECONDS = 15.5  # median of 3 (13.5–20.6)
