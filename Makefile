# Two commands for a new user (see README): `make lab` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Notebooks under nbval, run by the venv's own kernel; volatile text (timings) sanitized;
# a cell that hangs fails after 2 minutes (a lesson runs in well under one).
NBVAL := PYTHONHASHSEED=0 $(BIN)/python -m pytest -p no:cacheprovider --nbval --nbval-current-env \
	--nbval-cell-timeout=120 --nbval-sanitize-with notebooks/nbval_sanitize.cfg

.PHONY: lab test notebooks bench clean browser-deps screenshot

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[notebooks,test]'
	touch $(STAMP)

# JupyterLab refuses to run as root unless told; containers and CI machines often are root.
lab: $(STAMP)
	$(BIN)/jupyter lab --ip=127.0.0.1 --notebook-dir=notebooks \
		$(if $(filter 0,$(shell id -u)),--allow-root)

# Unit, property, theory and behaviour tests, the README example, a real-browser run of a
# lesson (tests/browser/; needs Debian's chromium, see browser-deps; -rs prints why it was
# skipped if it was), then every notebook under nbval (stored outputs are the golden record).
test: $(STAMP)
	$(BIN)/python -m pytest -rs
	@if ls notebooks/*.ipynb >/dev/null 2>&1; then $(NBVAL) notebooks; fi

# Re-execute every lesson in place and keep its outputs (after a deliberate model change);
# the kernel is the venv's own Python; cell timings are not stored (widget state is, so
# a static viewer shows each panel with its default plot).
notebooks: $(STAMP)
	PYTHONHASHSEED=0 $(BIN)/python -m jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.kernel_name=python3 --ExecutePreprocessor.timeout=120 \
		--ExecutePreprocessor.record_timing=False \
		notebooks/*.ipynb

# Debian's Chromium for the browser test (Playwright drives it; its own browser download
# is not used). apt-get needs root: sudo is used when not root.
browser-deps:
	@if [ -x /usr/bin/chromium ]; then echo "chromium is installed: /usr/bin/chromium"; else \
		$(if $(filter 0,$(shell id -u)),,sudo) sh -c 'apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'; fi

# Regenerate the README's picture of a lesson panel with the browser test (fails, rather
# than skips, without Chromium).
screenshot: $(STAMP)
	SERVERLESS_LAB_SCREENSHOT=docs/lesson-panel.png $(BIN)/python -m pytest -q -rs tests/browser
	@echo "wrote docs/lesson-panel.png"

bench: $(STAMP)
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf $(VENV)
