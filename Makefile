# Two entry points (see README):
#   make book   build the executed book into _build/html (full CPU sizes)
#   make test   run every test, the chapters included (quick mode)
# Each creates .venv first when it is missing.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test book-check venv sync clean bench

$(STAMP): pyproject.toml constraints/ci.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# --no-cache-dir: torch's CUDA wheels are several GB; a second copy in pip's cache once
	# filled CI's disk (OSError 28 during install)
	$(BIN)/python -m pip install -q --no-cache-dir --upgrade pip
	$(BIN)/python -m pip install -q --no-cache-dir -c constraints/ci.txt -e ".[book,test,bench]"
	touch $(STAMP)

venv: $(STAMP)

book: $(STAMP)
	$(BIN)/jupytext --sync book/*.py >/dev/null
	# TQDM_DISABLE: no progress bars in the built pages (they stay for people running
	# the notebooks themselves)
	TQDM_DISABLE=1 $(BIN)/jupyter-book build . --path-output . --builder html
	@echo "Book: $(CURDIR)/_build/html/index.html"

# make test: lint, library tests, then the book built in quick mode (executing every
# chapter; a cell that raises fails the build) and every page opened in headless Chromium.
test: $(STAMP)
	$(BIN)/ruff check robotpose_lib tests scripts book
	ROBOTPOSE_QUICK=1 MPLBACKEND=Agg $(BIN)/python -m pytest tests -q -p no:cacheprovider --ignore=tests/test_book_html.py \
	  --deselect tests/test_colab.py::test_launch_links_in_the_built_book
	$(MAKE) book-check

book-check: $(STAMP)
	rm -rf _build/html _build/.doctrees _build/jupyter_execute _build/screenshots
	ROBOTPOSE_QUICK=1 TQDM_DISABLE=1 $(BIN)/jupyter-book build . --path-output . --builder html > _build.log 2>&1 \
	  || (tail -n 60 _build.log; exit 1)
	grep -h "Executing\|Executed" _build.log | sed 's/\x1b\[[0-9;]*m//g' || true
	# the tests that read the built pages (in the first pytest run there is no book yet)
	$(BIN)/python -m pytest tests/test_book_html.py tests/test_colab.py::test_launch_links_in_the_built_book \
	  -q -p no:cacheprovider -rs

sync: $(STAMP)
	$(BIN)/jupytext --sync book/*.py

bench: $(STAMP)
	$(BIN)/robotpose bench

clean:
	rm -rf _build
