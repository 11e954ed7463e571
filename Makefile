# Two commands do everything on a fresh machine:
#   make all    install, execute every notebook (papermill), build the book
#   make test   install, run the whole test suite
# The notebooks, their parameters and the book's contents are declared once, in pipeline.yml.
# Both install the exact, hash-checked versions of the lock file (LOCK); `make lock` refreshes it
# from pyproject.toml. `make all LOCK=` installs pyproject.toml's ranges instead (newest versions).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
JOBS   ?=
LOCK_FILE     := requirements/lock-py311.txt
LOCK          ?= $(LOCK_FILE)
PIP           := $(BIN)/python -m pip --disable-pip-version-check
# The lock is resolved for the CPython and platform that CI and the project's machines run.
LOCK_PYTHON   := 3.11
LOCK_PLATFORM := x86_64-manylinux_2_28
UV_VERSION    := 0.13.9
LOCK_TOOL     := build/.lock-tool

.PHONY: all install lock hooks run book pdf test lint lab bench strip status clean mutation

all: run book

install: $(STAMP)

# The stamp keeps a no-op `make all` fast: it reinstalls only when pyproject.toml or the lock
# changed. `pip check` fails when pyproject.toml asks for a package that the lock lacks.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
ifeq ($(strip $(LOCK)),)
	$(PIP) install --quiet -e ".[test]"
else
	$(PIP) install --quiet --require-hashes -r $(LOCK)
	$(PIP) install --quiet --no-deps -e .
	$(PIP) check
endif
	touch $(STAMP)

$(LOCK_FILE):
	@echo "$@ is missing: run 'make lock' to make it from pyproject.toml" >&2; exit 1

# Refresh the lock after editing the dependencies in pyproject.toml, then commit both files.
# Versions already in the lock are kept where they still fit (UPGRADE=1 takes the newest);
# after a merge conflict in the lock, take either side and run `make lock` again.
lock:
	$(LOCK_TOOL)/bin/uv --version 2>/dev/null | grep -q "^uv $(UV_VERSION) " || { \
	    $(PYTHON) -m venv $(LOCK_TOOL) && \
	    $(LOCK_TOOL)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"; }
	mkdir -p $(dir $(LOCK_FILE))
	if grep -q '^<<<<<<<' $(LOCK_FILE) 2>/dev/null; then rm $(LOCK_FILE); fi
	$(LOCK_TOOL)/bin/uv pip compile pyproject.toml --extra test --generate-hashes \
	    --python-version $(LOCK_PYTHON) --python-platform $(LOCK_PLATFORM) \
	    --custom-compile-command "make lock" --quiet $(if $(UPGRADE),--upgrade) -o $(LOCK_FILE)

run: install
	$(BIN)/compendium run $(if $(JOBS),--jobs $(JOBS))

book: install
	$(BIN)/compendium book

# The book as one PDF with bookmarks (its outline): a single-page HTML build of the same
# sources, printed by Debian's Chromium (apt-get install chromium) with
# --generate-pdf-document-outline; print styles in book/_static/compendium.css open every
# collapsed table and leave out download links (analysis/compendium/book/pdf.py).
# Written to build/book/book.pdf (the printed page: build/book/print/).
CHROMIUM ?= chromium
pdf: book
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m analysis.compendium.book.pdf

status: install
	$(BIN)/compendium status

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# The pre-commit hooks (.pre-commit-config.yaml), check only, on every file.
hooks: install
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pre-commit run --all-files

lab: install
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

bench: install
	$(BIN)/python -m analysis.bench

strip: install
	$(BIN)/compendium strip

clean:
	rm -rf build

# Mutation testing of every module that decides a number, a verdict or whether a run is fresh
# (tests/mutation_targets.py), each against the tests the layout finds for it (tests/mutation.py;
# slow, so not part of `make test`: CI runs it weekly). MODULES="stats qca cache:rest" limits it
# to some modules or parts; WORKERS=2 runs two mutants at once. Report: build/mutation/report.md.
WORKERS ?= 1
mutation: install
	$(PIP) install --quiet -e ".[mutation]"
	nice -n 15 $(BIN)/python tests/mutation.py --max-children $(WORKERS) $(MODULES)
