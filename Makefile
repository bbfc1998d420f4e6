# icpfit: `make demo` and `make test` each build .venv themselves on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
DEMO_DIR ?= demo
DEMO_ACCOUNTS ?= 20000

.DEFAULT_GOAL := help
.PHONY: help setup system demo test lint format bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $@

setup: $(STAMP) ## Create .venv and install icpfit with its dev tools

demo: setup ## Sample export -> validate -> two quarterly retrains (compare, promote) -> score -> work queue
	rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	cd $(DEMO_DIR) && ../$(BIN)/icpfit sample-data --out data --accounts $(DEMO_ACCOUNTS) --seed 7
	cd $(DEMO_DIR) && ../$(BIN)/icpfit validate --config data/icpfit.yaml
	cd $(DEMO_DIR) && ../$(BIN)/icpfit train --config data/icpfit.yaml --as-of 2026-06-30 \
		--report reports/2026Q2.html
	cd $(DEMO_DIR) && ../$(BIN)/icpfit train --config data/icpfit.yaml --as-of 2026-09-30 \
		--report reports/2026Q3.html
	cd $(DEMO_DIR) && ../$(BIN)/icpfit score --input data/accounts.csv \
		--technologies data/technologies.csv --signals data/signals.csv --as-of 2026-09-30 \
		--output scored/accounts.csv
	cd $(DEMO_DIR) && ../$(BIN)/icpfit compare --model-a models:/icp-fit/1 \
		--model-b models:/icp-fit/2 --input data/accounts.csv \
		--technologies data/technologies.csv --signals data/signals.csv --as-of 2026-09-30 \
		--output compare
	cd $(DEMO_DIR) && ../$(BIN)/icpfit queue --config data/icpfit.yaml --capacity 50 \
		--output queue/today.csv --html queue/today.html
	@echo "Demo done. Open the latest run's report: $(DEMO_DIR)/reports/2026Q3.html"
	@echo "Scored accounts with reasons: $(DEMO_DIR)/scored/accounts.csv"
	@echo "Today's work queue (fit x timing, why now): $(DEMO_DIR)/queue/today.csv and $(DEMO_DIR)/queue/today.html"
	@echo "v1 against v2 on every account: $(DEMO_DIR)/compare/compare.html"
	@echo "Runs, models, plots and the ICP filter are in $(DEMO_DIR)/mlflow.db;"
	@echo "browse them with: cd $(DEMO_DIR) && ../$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db"

system: ## Install the Debian packages the tests drive (chromium, postgresql) if missing
	@scripts/system-packages

TEST_WORKERS ?= 2

test: setup system ## Run the whole test suite (installs chromium and postgresql if missing)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

lint: setup ## ruff format --check and ruff check
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: setup ## Apply ruff's formatting and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup ## Benchmarks, run by hand (numbers go to bench/results/)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/serving.py
	$(BIN)/python bench/treeshap.py
	$(BIN)/python bench/defaults.py --sizes 20000

.PHONY: team-server
team-server: setup ## MLflow server for a team: PostgreSQL, proxied artifacts (TEAM_ARGS="--help")
	$(BIN)/python -m team.server $(TEAM_ARGS)

clean: ## Remove .venv, demo output and caches
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .ruff_cache .hypothesis
