# Every target that runs code installs first (once; again when requirements.lock changes).
PY      := .venv/bin/python
STAMP   := .venv/.installed
ARGS    ?=

.PHONY: help install demo test test-all lint bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(STAMP): requirements.lock
	python3 -m venv .venv
	.venv/bin/pip install --quiet --upgrade pip
	.venv/bin/pip install --quiet -r requirements.lock
	touch $(STAMP)

install: $(STAMP)  ## create .venv from requirements.lock

demo: $(STAMP)  ## synthetic data + tiny models on CPU: trains video_coop, then a short header run
	$(PY) -m src.train experiment=demo $(ARGS)
	$(PY) -m src.train experiment=header_demo $(ARGS)

test: $(STAMP)  ## the fast test suite (CPU, no network)
	$(PY) -m pytest -q $(ARGS)

test-all: $(STAMP)  ## every test, the slow ones too
	$(PY) -m pytest -q -m "" $(ARGS)

lint: $(STAMP)  ## ruff
	$(PY) -m ruff check src data_tools tests benchmarks

bench: $(STAMP)  ## the benchmarks in benchmarks/ (CPU, ~25 minutes; not part of `make test`)
	$(PY) -m benchmarks.loader
	$(PY) -m benchmarks.header_loader
	$(PY) -m benchmarks.overhead
	$(PY) -m benchmarks.scaling
	$(PY) -m benchmarks.cache --epochs 2
	$(PY) -m benchmarks.cache --task header --real-size
	$(PY) -m benchmarks.temporal

clean:  ## remove generated data, runs and caches (keeps .venv)
	rm -rf data/synthetic outputs multirun models report lightning_logs cache .pytest_cache
