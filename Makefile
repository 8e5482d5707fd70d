# Yanxiu 研修 — `make run` serves the demo; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
# One BLAS/model thread per process: the target servers have few cores.
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: system-deps run test test-fast lint install install-dev init serve clean bench screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev,st]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

init: install
	$(BIN)/yanxiu init --demo

run: init
	$(BIN)/yanxiu index build
	$(BIN)/yanxiu demo-logins
	$(BIN)/yanxiu serve

serve: install
	$(BIN)/yanxiu serve

system-deps:
	bash scripts/system-deps.sh

# Two test processes (pytest-xdist): every test builds its own database or schema, and the
# session fixtures (seeded demo, live server) are built once per process.
test: install-dev system-deps
	$(BIN)/python -m pytest -n 2

test-fast: install-dev
	$(BIN)/python -m pytest -m "not slow and not browser"

lint: install-dev
	$(BIN)/ruff check platform tests research
	$(BIN)/ruff format --check platform tests research
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var/yanxiu.db var/yanxiu.db-wal var/yanxiu.db-shm

# Benchmarks print figures next to a baseline measured in the same run (see README).
bench: install-dev
	$(BIN)/yanxiu bench search
	$(BIN)/yanxiu bench recommend
	$(BIN)/yanxiu bench score
	$(BIN)/python -m yanxiu.lab.load_bench --users 50 --seconds 20

# The README's screenshots (1280×800 PNG): the browser suite writes every main page to
# var/screenshots; this copies the chosen ones to docs/screenshots.
SCREENSHOTS := login teacher-dashboard catalog-search course practice-diagnosis practice-charts review-queue \
	review-page studio-console push-wizard push-analytics inbox case admin-dashboard \
	admin-region trainer-home trainer-heatmap search-colloquial search-no-match admin-gaps admin-synonyms \
	study-text-unit study-pdf-unit study-video-unit study-quiz study-credited study-offline-refused \
	claim-new claim-review claim-ledger certificate-verify \
	program-editor program-register program-checkin-code program-checkin program-ledger program-report \
	onboard-roster-rejected onboard-roster-imported onboard-account-created onboard-password-change \
	onboard-program onboard-checkin onboard-ledger onboard-admin-teacher \
	contest-confirm contest-visible practice-trend practice-compare
screenshots: install-dev
	rm -rf var/screenshots
	YANXIU_SCREENSHOTS=$(CURDIR)/var/screenshots $(BIN)/python -m pytest tests/browser -q -p no:cacheprovider
	mkdir -p docs/screenshots
	for name in $(SCREENSHOTS); do cp var/screenshots/$$name.png docs/screenshots/; done
