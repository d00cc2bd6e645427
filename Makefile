# Two commands do everything: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STUDY  ?= studies/orion_mentoring.yaml
OUT    ?= results/orion-mentoring

.PHONY: run test check lint docs bench bench-10m clean browser notebooks fuzz

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/reimpact run $(STUDY) --out $(OUT)

test: $(STAMP) browser check
	$(BIN)/python -m pytest -q

# The report test opens report.html in headless Chromium: install Debian's chromium and
# chromium-driver when they are missing (needs root, as in CI; elsewhere the test is skipped).
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "chromium/chromium-driver missing and not root: the browser test will be skipped"; fi

notebooks: $(STAMP)
	$(BIN)/python notebooks/execute.py

# bare estimators and whole runs at 1M rows against DoWhy and EconML (several minutes: the
# example study at 1M rows is one of the runs); data and study files go to /tmp/reimpact-bench
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# the whole PSM run on a 10M-row parquet file (written once to /tmp/reimpact-bench; several GB)
bench-10m: $(STAMP)
	$(BIN)/python benchmarks/run.py --10m

fuzz: $(STAMP)
	$(BIN)/python benchmarks/fuzz.py

# ruff, then mypy over src/reimpact ([tool.mypy] in pyproject.toml); `make test` runs it first
check: $(STAMP)
	$(BIN)/ruff check src tests benchmarks notebooks/execute.py
	$(BIN)/mypy

lint: check

# The user guide and API reference (Sphinx) into docs/_build/html; installs the docs extra if missing
docs: $(STAMP)
	$(BIN)/python -c "import sphinx" 2>/dev/null || $(BIN)/python -m pip install --quiet -e ".[docs]"
	$(BIN)/sphinx-build -q -b html docs docs/_build/html

clean:
	rm -rf $(VENV) results build src/*.egg-info docs/_build
