# Two commands do everything on a fresh machine:
#   make all    install, execute every notebook (papermill), build the book
#   make test   install, run the whole test suite
# The notebooks, their parameters and the book's contents are declared once, in pipeline.yml.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
JOBS   ?=

.PHONY: all install run book test lint lab bench strip status clean mutation

all: run book

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

run: install
	$(BIN)/compendium run $(if $(JOBS),--jobs $(JOBS))

book: install
	$(BIN)/compendium book

status: install
	$(BIN)/compendium status

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

lab: install
	$(BIN)/jupyter lab notebooks/

bench: install
	$(BIN)/python -m analysis.compendium.bench

strip: install
	$(BIN)/compendium strip

clean:
	rm -rf build

# Mutation testing of the cache, pipeline validation, statistics, disclosure control and QCA,
# each module against its own tests only (tests/mutation.py; slow, so not part of `make test`).
# MODULES="stats qca" limits it to some modules.
mutation: install
	nice -n 15 $(BIN)/python tests/mutation.py $(MODULES)
