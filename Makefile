# The two commands a user needs: `make demo` and `make test`. Both set up everything they use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the tests need: Chromium for the browser tests, tshark as an ASTERIX oracle.
TEST_DEBS := chromium tshark
DEMO_OUT ?= demo-out

.PHONY: demo test lint typecheck unit venv debs-test bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	@touch $(STAMP)

venv: $(STAMP)

debs-test:
	@bash scripts/ensure-debian-packages.sh $(TEST_DEBS)

demo: $(STAMP)
	$(BIN)/airpicture demo --out $(DEMO_OUT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

unit: $(STAMP) debs-test
	$(BIN)/python -m pytest -n 2 -q

test: lint unit

bench: $(STAMP)
	$(BIN)/airpicture bench

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .mypy_cache .ruff_cache
