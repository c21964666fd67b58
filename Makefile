# Every target creates .venv and installs the project on first use, so a fresh clone needs only Python.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROFILE ?= smoke
LOAD_ARGS ?=
BENCH_ARGS ?=

.PHONY: install demo test lint bench bench-matching load soak conformance clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/callsim run scenarios/ --html reports/demo.html --junit reports/demo.xml --json reports/demo.json

test: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy booking_core mock_calcom harness load replay callsim
	$(BIN)/lint-imports --no-cache

bench: $(STAMP)
	$(BIN)/python -m load.bench $(BENCH_ARGS)

bench-matching: $(STAMP)
	$(BIN)/python -m booking_core.language.bench

load: $(STAMP)
	$(BIN)/python -m load.run $(PROFILE) $(LOAD_ARGS)

# Cal.com's rules against mock_calcom, and against a real Cal.com account when CALCOM_CONFORMANCE_URL,
# CALCOM_CONFORMANCE_API_KEY and CALCOM_CONFORMANCE_EVENT_TYPE_ID are set (skips say what is missing).
conformance: $(STAMP)
	$(BIN)/pytest -q -rs -p no:cacheprovider tests/mock_calcom/conformance

# The soak always draws the opt-in rules too (tests/reliability/README.md); SOAK_RULES narrows them.
SOAK_RULES ?= all

soak: $(STAMP)
	CALLSIM_SOAK=1 CALLSIM_STATEFUL_NEW_RULES=$(SOAK_RULES) $(BIN)/pytest -q -p no:cacheprovider -m soak tests/reliability

clean:
	rm -rf $(VENV) reports .pytest_cache
