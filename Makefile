# mlops-data-labs: `make labs` runs every lab headlessly, `make test` runs the tests.
# Both create .venv and fetch the data first when needed.

# PYTHON=/path/to/python3.11 picks the interpreter; unset, uv finds or fetches a 3.11 (tools/envsetup.sh).
PYTHON ?=
UV_VERSION := 0.13.9
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= runs/$(if $(QUICK),quick,full)
JOBS   ?= 1
LABS   ?=
LAB_DIR ?= notebooks
export TZ := UTC
# An offline mirror of the datasets beside the checkout is used when present (see README, "Data").
export LABS_DATA_MIRROR ?= $(abspath $(wildcard ../shared/datasets))

.PHONY: setup data labs lab exercises docs test unit test-browser conformance bench bench-setup mutation lint lock clean

# --- environment -------------------------------------------------------------
setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml tools/envsetup.sh tools/uv-bootstrap.txt
	@PYTHON='$(PYTHON)' VENV='$(VENV)' sh tools/envsetup.sh
	$(BIN)/python -m labs_utils.kernel

# --- data --------------------------------------------------------------------
# Fetch every registered file that can be reached (cache -> LABS_DATA_MIRROR -> official URL).
data: $(STAMP)
	$(BIN)/labs data fetch --all --allow-missing

# --- labs --------------------------------------------------------------------
# Ends by writing $(OUT)/index.html, one card per lab. Full mode runs on the best data reachable,
# labelled (official, else the mirror's subset, else a synthetic stand-in); STRICT_DATA=1 fails
# every lab that would run on a stand-in instead.
labs: data
	$(BIN)/labs run $(LABS) $(if $(QUICK),--quick) $(if $(STRICT_DATA),--require-official-data) \
	  --jobs $(JOBS) --output $(OUT)

# JupyterLab on notebooks/ (LAB_DIR=exercises for the assignments) with the project kernel
# (registered by setup; re-registered here).
lab: $(STAMP)
	$(BIN)/python -m labs_utils.kernel
	$(BIN)/jupyter lab --notebook-dir=$(LAB_DIR) --MappingKernelManager.default_kernel_name=mlops-data-labs \
	  $(if $(filter 0,$(shell id -u)),--allow-root)

# Learner copies of the assignments, answers cleared, in exercises/ (from notebooks/, the solved source).
# Score one with `.venv/bin/labs grade exercises/<assignment>.ipynb`.
exercises: $(STAMP)
	$(BIN)/labs exercises

# API reference of labs_utils in runs/docs/; existing run sites are rewritten to link it.
docs: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=3 PDOC_ALLOW_EXEC=1 $(BIN)/pdoc --output-directory runs/docs labs_utils
	@for run in runs/quick runs/full; do \
	  if [ -f $$run/summary.json ]; then $(BIN)/labs site $$run; fi; done

# Benchmarks report; tests never assert on time. BENCH_ARGS="census --modes quick" narrows a run.
bench: data
	$(BIN)/labs bench --output runs/bench $(BENCH_ARGS)
	$(BIN)/python tools/bench_transform.py --output runs/bench/transform.md
	$(BIN)/python tools/bench_slicing.py --output runs/bench/slicing.md
	$(BIN)/python tools/bench_beam.py --output runs/bench/beam.md
	$(MAKE) bench-setup

# Install time of a fresh .venv: pip path vs uv path, cold and warm caches (runs/bench/setup.md).
bench-setup: $(STAMP)
	$(BIN)/python tools/bench_setup.py --output runs/bench/setup.md

# --- quality -----------------------------------------------------------------
test: data
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Unit tests only: no notebook runs, no whole datasets, no browser, no TFX comparison. They run in
# UNIT_WORKERS pytest-xdist processes, a test file per process at a time (so a module's fixtures are
# built once); UNIT_WORKERS=0 runs them in this process.
UNIT_WORKERS ?= 2
unit: $(STAMP)
	$(BIN)/python -m pytest -m "not notebook and not data and not browser and not conformance and not beam" \
	  -n $(UNIT_WORKERS) --dist loadfile $(PYTEST_ARGS)

# JupyterLab and the run site in Debian's chromium (apt-get install chromium); screenshots in runs/browser/.
test-browser: data
	LABS_BROWSER_TESTS=1 $(BIN)/python -m pytest -m browser tests/test_browser_*.py $(PYTEST_ARGS)

# Real TFX 1.16 (a Python 3.10 reference venv under build/) side by side with labs_utils.pipeline.
# Prints "skipped" and succeeds where no Python 3.10 exists; PY310=/path/to/python3.10 picks one.
conformance: data
	$(BIN)/python tools/conformance/conformance.py $(CONFORMANCE_ARGS)

# Mutation testing (not in CI): mutmut, in its own venv, over the fetch/verify code, the runner and the
# transform cache, in a scratch copy; report in build/mutation/report.md (see tools/mutation/SURVIVORS.md).
MUTMUT := build/mutmut/bin/mutmut
mutation: $(STAMP)
	@test -x $(MUTMUT) || { $(PYTHON) -m venv build/mutmut && \
	  build/mutmut/bin/pip install --quiet -r tools/mutation/requirements.txt; }
	$(BIN)/python tools/mutation/run.py --mutmut $(MUTMUT) $(MUTATION_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests notebooks tools
	$(BIN)/ruff format --check src tests tools

# Regenerate the hashed requirements.lock (pins already in it are kept unless requirements.in
# changes them), environment.yml, and the hashed pin of the uv that tools/envsetup.sh bootstraps.
LOCK_FLAGS := --generate-hashes --python-version 3.11.5 --python-platform x86_64-unknown-linux-gnu \
	--custom-compile-command 'make lock' --quiet
lock:
	@uv=$$(sh tools/envsetup.sh --uv) && \
	$$uv pip compile requirements.in $(LOCK_FLAGS) -o requirements.lock && \
	echo "uv==$(UV_VERSION)" | $$uv pip compile - $(LOCK_FLAGS) -o tools/uv-bootstrap.txt
	python3 tools/write_environment_yml.py

clean:
	rm -rf runs build .pytest_cache .ruff_cache
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
	@test -x $(BIN)/labs && $(BIN)/labs strip notebooks || true
