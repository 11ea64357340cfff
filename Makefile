# Two entry points (see README):
#   make book   build the executed book into _build/html (full CPU sizes)
#   make test   run every test, the chapters included (quick mode)
# Each creates .venv first when it is missing.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test venv sync clean bench

$(STAMP): pyproject.toml constraints/ci.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints/ci.txt -e ".[book,test,bench]"
	touch $(STAMP)

venv: $(STAMP)

book: $(STAMP)
	$(BIN)/jupytext --sync book/*.py >/dev/null
	# TQDM_DISABLE: no progress bars in the built pages (they stay for people running
	# the notebooks themselves)
	TQDM_DISABLE=1 $(BIN)/jupyter-book build . --path-output . --builder html
	@echo "Book: $(CURDIR)/_build/html/index.html"

test: $(STAMP)
	$(BIN)/ruff check robotpose_lib tests scripts book
	ROBOTPOSE_QUICK=1 MPLBACKEND=Agg $(BIN)/python -m pytest tests -q -p no:cacheprovider
	ROBOTPOSE_QUICK=1 $(BIN)/python -m pytest --nbmake --nbmake-timeout=300 --durations=0 -q -p no:cacheprovider book/

sync: $(STAMP)
	$(BIN)/jupytext --sync book/*.py

bench: $(STAMP)
	$(BIN)/robotpose bench

clean:
	rm -rf _build
