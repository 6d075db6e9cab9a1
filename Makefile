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
	$(EDITABLE)
	touch $(STAMP)

# The project itself, editable (its code stays here): `python -m src.train` and `python -m data_tools.…` then work
# from any folder, not only from the checkout's root. --no-deps: the lock above already installed them.
EDITABLE := .venv/bin/pip install --quiet --no-deps --editable .

install: $(STAMP)  ## create .venv from requirements.lock and install the project into it (editable)
	@# again when .venv came from elsewhere (or points at another checkout); the check runs outside the checkout
	@cd / && $(CURDIR)/$(PY) -c "import src, sys; sys.exit(src.__path__[0] != '$(CURDIR)/src')" 2>/dev/null \
		|| (cd $(CURDIR) && $(EDITABLE))

demo: $(STAMP)  ## synthetic data + tiny models on CPU: trains video_coop, then a short header run
	$(PY) -m src.train experiment=demo $(ARGS)
	$(PY) -m src.train experiment=header_demo $(ARGS)

test: $(STAMP)  ## the fast test suite (CPU, no network), one worker per core (pytest-xdist)
	$(PY) -m pytest -q -n auto --dist worksteal $(ARGS)

test-all: $(STAMP)  ## every test, the slow ones too
	$(PY) -m pytest -q -n auto --dist worksteal -m "" $(ARGS)

lint: $(STAMP)  ## ruff
	$(PY) -m ruff check src data_tools tests benchmarks hydra_plugins

bench: $(STAMP)  ## the benchmarks in benchmarks/ (CPU, ~21 minutes on 2 quiet cores; not in `make test`)
	$(PY) -m benchmarks.loader
	$(PY) -m benchmarks.scale
	$(PY) -m benchmarks.header_loader
	$(PY) -m benchmarks.overhead
	$(PY) -m benchmarks.scaling
	$(PY) -m benchmarks.cache --epochs 2 --uncached-epochs 1 --diff-clips 4 --override dataset.k_train=4 --override dataset.num_frames=4
	$(PY) -m benchmarks.cache --task header --real-size
	$(PY) -m benchmarks.temporal --jobs 2

clean:  ## remove generated data, runs and caches (keeps .venv)
	rm -rf data/synthetic outputs multirun models report lightning_logs cache .pytest_cache
