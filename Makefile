# Two commands: `make demo` and `make test`. Both set up .venv through `make install`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-out

.PHONY: install demo test lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PY) >/dev/null 2>&1 || { echo "error: $(PY) not found; install Python 3.11 or run 'make PY=/path/to/python3.11'"; exit 2; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test]'
	touch $(STAMP)

demo: install
	$(BIN)/distillwatch simulate --out $(DEMO_DIR)/traffic --seed 7 --days 7
	$(BIN)/distillwatch scan $(DEMO_DIR)/traffic/events.jsonl.gz --out $(DEMO_DIR)/scan
	$(BIN)/distillwatch evaluate $(DEMO_DIR)/scan $(DEMO_DIR)/traffic/truth.csv

test: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest

format: install
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: install
	$(BIN)/python benchmarks/bench_scan.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
