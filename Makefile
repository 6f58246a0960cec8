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

.PHONY: setup data labs lab docs test unit test-browser bench mutation lint lock clean

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
	$(BIN)/python -m labs_utils.kernel
	@touch $(STAMP)

# --- data --------------------------------------------------------------------
# Fetch every registered file that can be reached (cache -> LABS_DATA_MIRROR -> official URL).
data: $(STAMP)
	$(BIN)/labs data fetch --all --allow-missing

# --- labs --------------------------------------------------------------------
# Ends by writing $(OUT)/index.html, one card per lab.
labs: data
	$(BIN)/labs run $(LABS) $(if $(QUICK),--quick) --jobs $(JOBS) --output $(OUT)

# JupyterLab on notebooks/ with the project kernel (registered by setup; re-registered here).
lab: $(STAMP)
	$(BIN)/python -m labs_utils.kernel
	$(BIN)/jupyter lab --notebook-dir=notebooks --MappingKernelManager.default_kernel_name=mlops-data-labs \
	  $(if $(filter 0,$(shell id -u)),--allow-root)

# API reference of labs_utils in runs/docs/; existing run sites are rewritten to link it.
docs: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=3 PDOC_ALLOW_EXEC=1 $(BIN)/pdoc --output-directory runs/docs labs_utils
	@for run in runs/quick runs/full; do \
	  if [ -f $$run/summary.json ]; then $(BIN)/labs site $$run; fi; done

# Benchmarks report; tests never assert on time. BENCH_ARGS="census --modes quick" narrows a run.
bench: data
	$(BIN)/labs bench --output runs/bench $(BENCH_ARGS)
	$(BIN)/python tools/bench_transform.py --output runs/bench/transform.md

# --- quality -----------------------------------------------------------------
test: data
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Unit tests only: no notebook runs, no whole datasets, no browser (under a minute).
unit: $(STAMP)
	$(BIN)/python -m pytest -m "not notebook and not data and not browser" $(PYTEST_ARGS)

# JupyterLab and the run site in Debian's chromium (apt-get install chromium); screenshots in runs/browser/.
test-browser: data
	LABS_BROWSER_TESTS=1 $(BIN)/python -m pytest -m browser tests/test_browser_*.py $(PYTEST_ARGS)

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
