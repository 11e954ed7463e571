# Two commands do everything on a fresh machine:
#   make all    install, execute every notebook (papermill), build the book
#   make test   install, run the whole test suite
# The notebooks, their parameters and the book's contents are declared once, in pipeline.yml.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
JOBS   ?=

.PHONY: all install run book pdf test lint lab bench strip status clean

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

# The book as one PDF: a single-page HTML build of the same sources, printed by Debian's
# Chromium (apt-get install chromium); print styles in book/_static/compendium.css keep
# every table whole. Written to build/book/book.pdf (the printed page: build/book/print/).
CHROMIUM ?= chromium
PRINT := build/book/print
pdf: book
	rm -rf $(PRINT)
	$(BIN)/jupyter-book build build/book-src --builder singlehtml --path-output $(PRINT) --quiet
	$(CHROMIUM) --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --no-pdf-header-footer --virtual-time-budget=30000 \
		--print-to-pdf=build/book/book.pdf $(PRINT)/_build/singlehtml/index.html
	@echo "PDF written: build/book/book.pdf"

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
