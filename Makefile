# The two commands a new user needs: `make demo` and `make test`. Both set everything up.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE ?= 1
export PYTHONUNBUFFERED := 1
# UMAP's numba kernels compile once and are reused by every later notebook run.
export NUMBA_CACHE_DIR ?= $(CURDIR)/outputs/.numba-cache

.PHONY: demo test student site setup browser-deps notebooks-clean check-notebooks benchmarks ablation clean help

help:
	@echo "make demo   - set up .venv and run the notebook series at demo size (outputs/demo)"
	@echo "make test   - set up .venv and run the whole test suite (notebooks in smoke mode)"
	@echo "make student - the notebooks without exercise solutions or outputs (build/student)"
	@echo "make site   - the executed notebooks and the API reference as a website (build/site)"

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c "import sys; sys.exit(0 if sys.version_info >= (3, 10) else 'sbka-lite needs Python 3.10 or newer; found ' + sys.version.split()[0] + '. Run: make PYTHON=python3.11 ...')"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The drawing-pad browser test needs a Chromium; install Debian's where we can (root + apt),
# otherwise that one test skips and says why.
browser-deps:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser test"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "could not install chromium; the browser test will skip"; \
	else echo "no chromium and no root apt-get: the browser test will skip"; fi

demo: setup
	$(PY) -m sbka_lite.tutorial.notebooks --mode demo --out outputs/demo

test: setup browser-deps
	SBKA_SMOKE=1 OMP_NUM_THREADS=1 $(PY) -m pytest -ra --durations=20 -n 2 --dist loadfile tests

# For teachers: the notebooks with the exercises' solutions removed (nbgrader's markers) and no outputs.
student: setup
	$(PY) -m sbka_lite.tutorial.student --out build/student

# The series as a website, from the executed notebooks of `make demo` (else of the smoke tests).
site: setup
	$(PY) -m sbka_lite.tutorial.site --out build/site
	@echo "open build/site/index.html"

# Strip outputs from committed notebooks (also checked by tests/test_notebook_hygiene.py).
notebooks-clean: setup
	$(PY) -m sbka_lite.tutorial.notebooks --strip notebooks/*.ipynb

benchmarks: setup
	$(PY) benchmarks/eval_speed.py
	$(PY) benchmarks/train_speed.py

# Hours on 2 cores, resumable (finished rows are kept: run it again after an interruption): the converged grid
# (8 trained arms x 3 seeds + the 2x convergence check), the few-seen-classes setting's core arms, then what the
# teachers know. Two lanes on 2 cores: make ablation ABLATION_ARGS="--executor submitit-local --array-parallelism 2"
# (with OMP_NUM_THREADS=1, so the two do not fight over the cores).
ABLATION_ARGS ?=
FEW_SEEN_ARMS := frozen finetune finetune+gaussian one_way one_way+gaussian bidirectional bidirectional+gaussian
ablation: setup
	$(PY) -m sbka_lite.ablation --setting converged $(ABLATION_ARGS)
	$(PY) -m sbka_lite.ablation --setting few_seen --arms $(FEW_SEEN_ARMS) $(ABLATION_ARGS)
	$(PY) -m sbka_lite.teacher_knowledge --out results/teacher_knowledge_synthetic.json

clean:
	rm -rf outputs .pytest_cache
