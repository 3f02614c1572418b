# Two commands for a new user (see README): `make lab` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Notebooks under nbval, run by the venv's own kernel; volatile text (timings) sanitized;
# a cell that hangs fails after 2 minutes (a lesson runs in well under one).
NBVAL := PYTHONHASHSEED=0 $(BIN)/python -m pytest -p no:cacheprovider --nbval --nbval-current-env \
	--nbval-cell-timeout=120 --nbval-sanitize-with notebooks/nbval_sanitize.cfg

.PHONY: lab test test-deep test-repeat notebooks bench clean browser-deps screenshot site student wheelhouse install

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[notebooks,test]'
	touch $(STAMP)

# The environment alone (a dev container runs it once; make lab and make test do it too).
install: $(STAMP)

# No news prompt: a fresh profile asks in a toast whether to fetch Jupyter news (it covers
# the lesson, and the answer needs the internet). JupyterLab 4 asks whatever news_url is,
# so the venv's JupyterLab gets fetchNews "false" as its default (an overrides.d file in
# its application settings; a learner's own setting still wins), and news_url=None keeps
# the server from fetching the feed at all. tests/browser/ does the same in its profile.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.d/serverless-lab.json

$(LAB_OVERRIDES): | $(BIN)/python
	mkdir -p $(dir $@)
	printf '%s\n' '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}}' > $@

# On 127.0.0.1 only, with JupyterLab's own token (it prints the URL that carries it).
# JupyterLab refuses to run as root unless told; containers and CI machines often are root.
lab: $(STAMP) $(LAB_OVERRIDES)
	$(BIN)/jupyter lab --ip=127.0.0.1 --notebook-dir=notebooks --LabApp.news_url=None \
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
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium'; fi

# Regenerate the README's picture of a lesson panel with the browser test (fails, rather
# than skips, without Chromium).
screenshot: $(STAMP)
	SERVERLESS_LAB_SCREENSHOT=docs/lesson-panel.png $(BIN)/python -m pytest -q -rs tests/browser
	@echo "wrote docs/lesson-panel.png"

# The property tests' deep hunt: 10,000 random scenarios (or mutated templates, for the
# what-if fuzz test) per property, freshly random each time (make test runs the
# derandomized ci profile). Run before closing a model issue;
# whatever it finds becomes an explicit @example in tests/test_properties.py.
test-deep: $(STAMP)
	SIMLIB_HYPOTHESIS_PROFILE=deep $(BIN)/python -m pytest -q -p no:cacheprovider \
		--durations=0 tests/test_properties.py tests/test_application_properties.py \
		tests/test_whatif_fuzz.py

# The suite again and again from a clean state: the property tests 30 times, then
# make test in 3 fresh clones of HEAD (scripts/test_repeat.sh; log in test-repeat.log).
test-repeat: $(STAMP)
	scripts/test_repeat.sh 30 3

bench: $(STAMP)
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf $(VENV)

# The rendered site of the lessons, from their stored outputs (nothing is executed), offline:
# Sphinx with MyST-NB (site/conf.py). Reveals and solutions are collapsed <details>; each
# panel shows its stored default figure. Open build/site/index.html in a browser.
site: $(STAMP)
	rm -rf build/site-src build/site
	$(BIN)/python -m simlib.lessons.handout site notebooks build/site-src \
		--extra site/index.md notebooks/README.md
	$(BIN)/sphinx-build -q -b html -c site build/site-src build/site
	@echo "the site: build/site/index.html"

# The learner's handout: the lessons with solutions emptied and reveals cleared, for a host
# to hand out (the lessons in notebooks/ stay the facilitator's answer key).
student: $(STAMP)
	rm -rf build/student
	$(BIN)/python -m simlib.lessons.handout student notebooks build/student
	@echo "hand out build/student/ (its notebooks/ and the data they read; keep notebooks/ as the answer key)"

# Every wheel the lessons need, for a room without network: copy build/wheelhouse/ to each
# machine and install with
#   python -m pip install --no-index --find-links wheelhouse 'serverless-lab[notebooks]'
# Wheels are built for this machine's platform and Python; build the wheelhouse on the
# kind of machine the room has (the same OS and Python minor version).
wheelhouse: $(STAMP)
	rm -rf build/wheelhouse
	$(BIN)/python -m pip wheel --quiet --wheel-dir build/wheelhouse '.[notebooks]'
	@echo "wrote $$(ls build/wheelhouse | wc -l) wheels to build/wheelhouse"
