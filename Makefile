# mlops-data-labs: `make labs` runs every lab headlessly, `make test` runs the tests.
# Both create .venv and fetch the data first when needed.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= runs/$(if $(QUICK),quick,full)
JOBS   ?= 1
LABS   ?=
export TZ := UTC
# An offline mirror of the datasets beside the checkout is used when present (see README, "Data").
export LABS_DATA_MIRROR ?= $(abspath $(wildcard ../shared/datasets))

.PHONY: setup data labs lab test bench lint lock clean

# --- environment -------------------------------------------------------------
setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "error: '$(PYTHON)' not found. These labs need Python 3.11 (TensorFlow 2.16 / TFDV 1.16)."; \
	  echo "       Install it (pyenv install 3.11, apt install python3.11, or conda) or run 'make PYTHON=/path/to/python3.11 ...'."; \
	  exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
	  echo "error: '$(PYTHON)' is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'), not 3.11."; \
	  echo "       Pass a 3.11 interpreter: make PYTHON=/path/to/python3.11 ..."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# --- data --------------------------------------------------------------------
# Fetch every registered file that can be reached (cache -> LABS_DATA_MIRROR -> official URL).
data: $(STAMP)
	$(BIN)/labs data fetch --all --allow-missing

# --- labs --------------------------------------------------------------------
labs: data
	$(BIN)/labs run $(LABS) $(if $(QUICK),--quick) --jobs $(JOBS) --output $(OUT)

lab: $(STAMP)
	$(BIN)/python -m ipykernel install --sys-prefix --name mlops-data-labs --display-name "Python (mlops-data-labs)"
	$(BIN)/jupyter lab notebooks/

# Benchmarks report; tests never assert on time. BENCH_ARGS="census --modes quick" narrows a run.
bench: data
	$(BIN)/labs bench --output runs/bench $(BENCH_ARGS)
	$(BIN)/python tools/bench_transform.py --output runs/bench/transform.md
	$(BIN)/python tools/bench_slicing.py --output runs/bench/slicing.md
	$(BIN)/python tools/bench_beam.py --output runs/bench/beam.md

# --- quality -----------------------------------------------------------------
test: data
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests notebooks tools
	$(BIN)/ruff format --check src tests tools

# Regenerate requirements.lock and environment.yml from requirements.in in a scratch venv.
lock:
	rm -rf build/lockenv && $(PYTHON) -m venv build/lockenv
	build/lockenv/bin/pip install --quiet -r requirements.in
	build/lockenv/bin/pip freeze --exclude-editable | grep -v '^mlops-data-labs' > requirements.lock
	$(PYTHON) tools/write_environment_yml.py

clean:
	rm -rf runs build .pytest_cache .ruff_cache
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
	@test -x $(BIN)/labs && $(BIN)/labs strip notebooks || true
