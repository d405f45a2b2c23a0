# Regulens: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
UV      = $(BIN)/uv
DEMO_ENTERPRISES ?= 20000

.PHONY: setup demo chicago test test-fast lint lock audit clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==0.13.9
	# Bytecode compiled at install: with PYTHONDONTWRITEBYTECODE set, every CLI start would
	# otherwise recompile GX, MLflow and pandas (4.4 s -> 1.0 s to import them).
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

## The main job on the embedded default data: generate the demo city, ingest it against the
## contracts, build profiles and labels quarterly (2022-01-01 .. 2025-07-01), train the violation
## model, promote it through the gate, score and grade every enterprise, and compare the two.
AS_OF = $(foreach y,2022 2023 2024,$(foreach m,01 04 07 10,--as-of $(y)-$(m)-01)) --as-of 2025-01-01 --as-of 2025-04-01 --as-of 2025-07-01
demo: setup
	$(BIN)/regulens generate --enterprises $(DEMO_ENTERPRISES)
	$(BIN)/regulens ingest
	$(BIN)/regulens profile $(AS_OF)
	$(BIN)/regulens train
	-$(BIN)/regulens model promote  # refuses (exit 1) when a champion from an earlier run is better
	$(BIN)/regulens score --as-of 2025-07-01
	$(BIN)/regulens grade --as-of 2025-07-01
	$(BIN)/regulens grade fit --holdout-as-of 2025-07-01 $(foreach d,2023-07-01 2023-10-01 2024-01-01 2024-04-01 2024-07-01,--train-as-of $(d))
	$(BIN)/regulens compare --as-of 2025-07-01

## Real data: the City of Chicago's food inspections under the second jurisdiction's config
## (data/jurisdictions/chicago/): ingest against its contracts, the event-keyed profile, training
## before 2014-09-02, the benchmark against the City's own score on the 1,637 Test rows, and the gate.
CHICAGO = $(BIN)/regulens --config data/jurisdictions/chicago/regulens.yaml
chicago: setup
	$(CHICAGO) ingest
	$(CHICAGO) profile
	$(CHICAGO) train
	-$(CHICAGO) model promote  # refuses (exit 1) when the champion from an earlier run is better

## The whole test suite, every marker included.
test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow and not spark and not postgres and not browser and not realdata"

# A crash inside mypy prints its traceback (CI once stopped on an INTERNAL ERROR with no more said).
lint: setup
	$(BIN)/ruff check pipelines features models serving tests
	$(BIN)/mypy --show-traceback

lock:
	$(UV) pip compile pyproject.toml --extra dev --extra spark --python-version 3.11 -o requirements.lock --custom-compile-command "make lock"

## Known vulnerabilities in requirements.lock: pip-audit (pinned; run through uv), judged by
## .ci/audit.py, which fails (exit 3) instead of passing when any package could not be checked
## (no route to PyPI's per-version JSON API or to OSV), and exits 1 listing any vulnerability.
## AUDIT_SERVICE=osv to ask OSV instead of PyPI. Not part of `make test`: it needs the network.
PIP_AUDIT ?= $(UV) tool run --from pip-audit==2.10.1 pip-audit
AUDIT_SERVICE ?= pypi
audit: setup
	$(BIN)/python .ci/audit.py --lock requirements.lock --service $(AUDIT_SERVICE) --pip-audit "$(PIP_AUDIT)"

clean:
	rm -rf data/raw data/lake data/ground_truth data/mlflow data/chicago
