# The two set-up commands of the README:
#   make app    installs what the dashboard needs into .venv and launches it on http://127.0.0.1:8501
#   make test   installs the development tools too and runs the whole test suite (lint included)
# Both are idempotent: a second run reuses .venv and only reinstalls when a requirements file changed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8501

.PHONY: app test lint format bench results figures sample-models clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Without an NVIDIA driver, install the CPU build of torch first so that the range in
# requirements.txt is already satisfied and pip never pulls a multi-GB CUDA build.
$(VENV)/.torch: | $(BIN)/python
	@if $(BIN)/python -c "import torch" 2>/dev/null; then echo "torch already installed"; \
	elif command -v nvidia-smi >/dev/null 2>&1; then $(BIN)/pip install -q "torch>=2.3,<2.15"; \
	else $(BIN)/pip install -q torch==2.13.0; fi
	@touch $@

$(VENV)/.runtime: requirements.txt pyproject.toml $(VENV)/.torch
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	@touch $@

# The zoo extra (torchvision and timm models): torchvision pinned to the release built for the installed
# torch (torch 2.N pairs with torchvision 0.(N+15)), so pip never replaces torch with another build.
$(VENV)/.zoo: $(VENV)/.runtime
	@tv=$$($(BIN)/python -c "import torch; m = int(torch.__version__.split('.')[1]); print(f'0.{m + 15}.*')"); \
	$(BIN)/pip install -q "torchvision==$$tv" "timm>=1.0"
	@touch $@

$(VENV)/.dev: requirements-dev.txt requirements-bench.txt $(VENV)/.zoo
	$(BIN)/pip install -q -r requirements-dev.txt
	@touch $@

# Beyond localhost (HOST=0.0.0.0) app/launch.py needs password = "..." in .streamlit/secrets.toml, or
# ALLOW_OPEN=1 to expose the dashboard without one knowingly; it prints what is exposed.
app: $(VENV)/.zoo
	$(BIN)/python -m app.launch --host $(HOST) --port $(PORT)$(if $(filter 1,$(ALLOW_OPEN)), --allow-open)

test: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.dev
	$(BIN)/python benchmarks/bench_layers.py --write-readme

# Every measured number of docs/results.md and the README (about 2 hours on 2 CPU cores; the grid resumes).
results: $(VENV)/.dev
	$(BIN)/python benchmarks/bench_methods.py --write-readme
	$(BIN)/python benchmarks/bench_layers.py --write-readme --write-results docs/results.md
	$(BIN)/python benchmarks/bench_layers.py --rank 4 --write-results docs/results.md
	$(BIN)/python benchmarks/bench_layers.py --contractions --write-results docs/results.md
	$(BIN)/python benchmarks/bench_training.py --per-layer --write-results docs/results.md
	$(BIN)/python benchmarks/bench_zoo.py --write-results docs/results.md
	$(BIN)/python benchmarks/bench_data.py --write-results docs/results.md

sample-models: $(VENV)/.runtime
	$(BIN)/python -m metalora.sample_models

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
