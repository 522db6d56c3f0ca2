# The two commands a user needs: `make demo` and `make test`. Both set up everything they use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the tests need: Chromium for the browser tests, tshark as an ASTERIX oracle.
TEST_DEBS := chromium tshark
DEMO_OUT ?= demo-out
# The web map's MapLibre GL JS and the API docs' Swagger UI (pinned), installed at build time
# and copied next to the map: the service then needs nothing from the network.
MAPLIBRE_VERSION := 6.17.0
SWAGGER_UI_VERSION := 5.35.0
WEB_BUILD := build/web
WEB_VENDOR := src/airpicture/service/static/vendor

.PHONY: demo test lint typecheck unit venv debs-test bench clean web

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	@touch $(STAMP)

venv: $(STAMP)

debs-test:
	@bash scripts/ensure-debian-packages.sh $(TEST_DEBS)

web: $(WEB_VENDOR)/.v$(MAPLIBRE_VERSION)-$(SWAGGER_UI_VERSION)

$(WEB_VENDOR)/.v$(MAPLIBRE_VERSION)-$(SWAGGER_UI_VERSION):
	@command -v npm >/dev/null || bash scripts/ensure-debian-packages.sh nodejs npm
	npm install --prefix $(WEB_BUILD) --no-audit --no-fund --no-save --ignore-scripts \
		maplibre-gl@$(MAPLIBRE_VERSION) swagger-ui-dist@$(SWAGGER_UI_VERSION)
	rm -rf $(WEB_VENDOR) && mkdir -p $(WEB_VENDOR)/maplibre-gl $(WEB_VENDOR)/swagger-ui
	cd $(WEB_BUILD)/node_modules/maplibre-gl && cp LICENSE.txt dist/maplibre-gl.mjs \
		dist/maplibre-gl-worker.mjs dist/maplibre-gl-shared.mjs dist/maplibre-gl.css \
		$(CURDIR)/$(WEB_VENDOR)/maplibre-gl/
	cd $(WEB_BUILD)/node_modules/swagger-ui-dist && cp LICENSE swagger-ui-bundle.js \
		swagger-ui.css $(CURDIR)/$(WEB_VENDOR)/swagger-ui/
	@touch $@

demo: $(STAMP) web
	$(BIN)/airpicture demo --out $(DEMO_OUT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

unit: $(STAMP) debs-test web
	$(BIN)/python -m pytest -n 2 -q

test: lint unit

bench: $(STAMP)
	$(BIN)/airpicture bench

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .mypy_cache .ruff_cache
