# linli: `make run` serves the bot on embedded defaults, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install migrate chat bench lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) main.py migrate

run: migrate
	$(PY) main.py seed-demo --if-empty
	$(PY) main.py serve

chat: migrate
	$(PY) main.py chat

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# wrk is the load generator (the Python fallback shares the two cores and halves the
# baseline): installed with apt when missing and allowed, else the table says it was not used.
bench: install
	@.ci/ensure-apt wrk
	$(PY) bench/run_all.py

# Type-checked packages: everything but tests, bench and migrations.
TYPED := bot canteen community conversation craftsman_directory delivery family grid groups handlers \
	infra models places privacy push server wechat_api main.py settings.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy $(TYPED)

clean:
	rm -rf $(VENV) data
