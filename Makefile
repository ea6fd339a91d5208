# One command each on a fresh machine: `make demo`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two installs in one venv: the tool's runtime set (make demo) and, for the tests and checks, the dev extra on top.
RUNTIME := $(VENV)/.runtime
STAMP := $(VENV)/.installed

TOOLS := .tools
SAM := $(TOOLS)/sam/bin/sam
CHECKOV := $(TOOLS)/checkov/bin/checkov
SAM_CLI_VERSION := 1.170.0
CHECKOV_VERSION := 3.3.30
# The Lambda functions' runtime (template.yaml: python3.12 on arm64): wheels are chosen for it, not for this machine.
LAMBDA_PYTHON := 3.12
LAMBDA_WHEELS := --only-binary=:all: --implementation cp --python-version $(LAMBDA_PYTHON) \
	--platform manylinux2014_aarch64 --platform manylinux_2_28_aarch64
BUILD := out/lambda
export SAM_CLI_TELEMETRY := 0

.PHONY: setup demo test lint typecheck imports unit integration e2e browser sample alerts-replay bench clean tools template-check build lambda-artifact deploy \
	fuzz mutants sample-week notebook figures strip-notebooks spreadsheet

setup: $(STAMP)

$(RUNTIME): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME)

$(STAMP): $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(RUNTIME)
	$(BIN)/apprunner-audit demo --out out/demo

test: lint typecheck imports tools
	$(BIN)/python -m pytest -q

# The type checker over the library and the handlers (settings in pyproject.toml's [tool.mypy]).
typecheck: $(STAMP)
	$(BIN)/mypy

# The layers of analysis/: no module imports one above it (pyproject.toml's [tool.importlinter]).
imports: $(STAMP)
	$(BIN)/lint-imports --no-cache

unit: $(STAMP)
	$(BIN)/python -m pytest -q -m unit

integration: $(STAMP)
	$(BIN)/python -m pytest -q -m integration

e2e: $(STAMP)
	$(BIN)/python -m pytest -q -m e2e

# `make fuzz`: FUZZ_INPUTS generated records (good denials, bad records, in every container shape) through the readers,
# the message parser, the report path, every renderer, explain, the alert path and query rows, against an oracle
# (scripts/fuzz.py, tests/fuzz/); prints crashes, hangs (a case over 10 s), silent losses and peak memory; failing
# cases are saved under out/fuzz. About 20 minutes on two free cores. Then the property tests with longer, fresh random
# exploration (HYPOTHESIS_PROFILE=fuzz; tests/conftest.py: CI=true derandomises them instead).
FUZZ_INPUTS ?= 100000
FUZZ_SEED ?= 0
fuzz: $(STAMP)
	$(BIN)/python scripts/fuzz.py --inputs $(FUZZ_INPUTS) --seed $(FUZZ_SEED) --out out/fuzz
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q -p no:cacheprovider tests/unit/test_messages_properties.py

# Mutation testing of the pure core (mutmut, configured in pyproject.toml): slow (about 15 minutes on two free cores);
# MODULES=messages runs one. Prints each module's score; tests/MUTATION.md has the last table and the equivalent mutants.
MODULES ?= messages principals denials windows $(REMEDIES) policies ledger explore.day explore.history
REMEDIES = remedies.rules remedies.grants remedies.notes remedies.cross_account remedies.identity_center \
	remedies.commands remedies.reconnaissance remedies.engine remedies.situation
mutants: $(STAMP)
	rm -rf mutants && mkdir mutants
	CI=true $(BIN)/mutmut run $(foreach m,$(MODULES),'analysis.$(m).*') >mutants/run.log 2>&1 \
		|| { tail -n 40 mutants/run.log; exit 1; }
	$(BIN)/python scripts/mutation_score.py $(MODULES)

# Debian's chromium, for the HTML report's headless-browser test (tests/e2e/test_html_browser.py skips without it).
browser:
	@if command -v chromium >/dev/null 2>&1; then echo "chromium: $$(command -v chromium)"; else \
		SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null \
		&& echo "chromium installed: $$(command -v chromium)"; fi

# Debian's LibreOffice Calc (no GUI), for the CSV files' spreadsheet test (tests/e2e/test_csv_spreadsheet.py skips
# without it).
spreadsheet:
	@if command -v soffice >/dev/null 2>&1; then echo "soffice: $$(command -v soffice)"; else \
		SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
		libreoffice-calc-nogui >/dev/null && echo "LibreOffice installed: $$(command -v soffice)"; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check analysis functions tests scripts

# aws-sam-cli and checkov pin their own boto3 and packaging: each lives in its own environment.
tools: $(SAM) $(CHECKOV)

$(SAM):
	$(PYTHON) -m venv $(TOOLS)/sam
	$(TOOLS)/sam/bin/python -m pip install --quiet --disable-pip-version-check aws-sam-cli==$(SAM_CLI_VERSION)

$(CHECKOV):
	$(PYTHON) -m venv $(TOOLS)/checkov
	$(TOOLS)/checkov/bin/python -m pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION)

# The template's own checks (the tests run them too, and lint the expanded template).
template-check: $(STAMP) tools
	$(BIN)/cfn-lint template.yaml forwarder.yaml
	$(SAM) validate --lint --template template.yaml --region us-east-1
	$(CHECKOV) --file template.yaml --framework cloudformation --skip-download --compact --quiet
	$(CHECKOV) --file forwarder.yaml --framework cloudformation --skip-download --compact --quiet

# Both functions' code as Lambda runs it, without Docker or sam: out/lambda/<Function>/ (sizes printed).
build:
	$(MAKE) lambda-artifact FUNCTION=daily_report ARTIFACTS_DIR="$(CURDIR)/$(BUILD)/DailyReportFunction"
	$(MAKE) lambda-artifact FUNCTION=denial_alert ARTIFACTS_DIR="$(CURDIR)/$(BUILD)/DenialAlertFunction"
	@du -sh $(BUILD)/*

# One function's artefact: its requirements as arm64 wheels for Python $(LAMBDA_PYTHON), the analysis package
# (without the bundled sample day) and the handler as app.py. `sam build` reaches it through functions/*/Makefile.
lambda-artifact:
	@test -n "$(FUNCTION)" && test -n "$(ARTIFACTS_DIR)" || { echo "FUNCTION and ARTIFACTS_DIR are required"; exit 2; }
	rm -rf "$(ARTIFACTS_DIR)" && mkdir -p "$(ARTIFACTS_DIR)"
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-compile $(LAMBDA_WHEELS) \
		--target "$(ARTIFACTS_DIR)" -r functions/$(FUNCTION)/requirements.txt
	cp -R analysis "$(ARTIFACTS_DIR)/analysis"
	rm -rf "$(ARTIFACTS_DIR)/analysis/data/sample" "$(ARTIFACTS_DIR)/pandas/tests" "$(ARTIFACTS_DIR)"/numpy/*/tests
	find "$(ARTIFACTS_DIR)" -name __pycache__ -type d -prune -exec rm -rf {} +
	cp functions/$(FUNCTION)/app.py "$(ARTIFACTS_DIR)/app.py"

# Deploy to the account and region of your AWS credentials (see the README's Deploy section).
deploy: tools
	$(SAM) build --build-in-source --template template.yaml
	$(SAM) deploy --guided

# Regenerate the bundled sample day (deterministic: the output is byte-identical each time).
sample: $(STAMP)
	rm -rf analysis/data/sample
	$(BIN)/python scripts/generate_sample_day.py --out analysis/data/sample

# Replay the sample day through the alert handler (moto in-process) in time order, and again with each event
# delivered twice: docs/alerts-replay.md, the alerts with the rules that fired and the totals (about 10 s).
alerts-replay: $(STAMP)
	$(BIN)/python scripts/replay_alerts.py --redeliver

# Every shape of an organization trail's day (concentrated, spread, storm, pretty, large, 3x: benchmarks/README.md),
# generated once under out/bench/SHAPE (BENCH_RECORDS=N scales them, BENCH_SHAPES=a,b picks some), then timed in
# fresh processes: one-thread gzip decompression (the floor), the whole `apprunner-audit report` process as users
# run it, in one process too, its memory, and peers (DuckDB, orjson, json.load); then cold imports. The last line
# is ratio_to_limit=X.XX, the worst shape's whole run over the floor (target 1.25). About 12 minutes the first time
# on 2 cores (generation), less after.
bench: $(STAMP)
	$(BIN)/python scripts/bench_day.py

# The week of stored daily reports the history notebook reads by default (2026-11-22 .. 2026-11-28 of the sample
# organization, scripts/SAMPLE_WEEK.md): OUT/trail/DAY/AWSLogs/… and OUT/reports/YYYY/MM/DD/report.json (about 10 s).
WEEK := out/sample-week
sample-week: $(RUNTIME)
	$(BIN)/python scripts/generate_sample_week.py --out $(WEEK)

$(WEEK)/reports: | $(RUNTIME)
	$(BIN)/python scripts/generate_sample_week.py --out $(WEEK)

# JupyterLab on notebooks/ (the notebook extra: matplotlib, JupyterLab, nbstripout, the IAM evaluator), with the
# sample week made first (as root, e.g. in a container, with --allow-root). JUPYTER_ARGS="--no-browser --port 8899"
# to change how it starts.
NOTEBOOK := $(VENV)/.notebook
$(NOTEBOOK): $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e '.[notebook]'
	touch $(NOTEBOOK)

notebook: $(NOTEBOOK) $(WEEK)/reports
	$(BIN)/jupyter lab $$([ "$$(id -u)" -eq 0 ] && echo --allow-root) $(JUPYTER_ARGS) \
		notebooks/explore_denials.ipynb notebooks/report_history.ipynb

# The README's figures, drawn by the notebooks themselves (cells tagged readme-figure:NAME): docs/figures/NAME.png,
# over a sample week made anew (a stale one would draw stale figures).
figures: $(NOTEBOOK) sample-week
	$(BIN)/python scripts/notebook_figures.py --out docs/figures --week $(WEEK)

# Notebooks are committed without outputs (tests/e2e/test_notebooks.py fails otherwise).
strip-notebooks: $(NOTEBOOK)
	$(BIN)/nbstripout notebooks/*.ipynb

clean:
	rm -rf $(VENV) $(TOOLS) out .aws-sam .pytest_cache .ruff_cache
