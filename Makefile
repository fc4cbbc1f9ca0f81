# make demo   - install everything and tell the story of the incident ovnguard was built for
# make test   - install everything, lint, type-check and run the whole test suite
# make bench  - benchmarks (by hand, not CI)
# make fuzz   - the big fuzz run (docs/security.md; by hand, not CI)
.PHONY: demo test lint pytest bench fuzz
PY := .venv/bin/python

demo:
	./install.sh
	.venv/bin/ovnguard demo

test:
	./install.sh
	$(MAKE) lint
	$(MAKE) pytest

lint:
	.venv/bin/ruff check src tests bench
	.venv/bin/mypy

# pytest exits 5 when it collected no test: that is a failure here, never a pass.
pytest:
	$(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

bench:
	./install.sh
	$(PY) bench/lab_startup.py
	$(PY) bench/check_scale.py
	$(PY) bench/collect_fanout.py 50

# The big fuzz run (docs/security.md): about ten minutes, by hand, not CI.
fuzz:
	./install.sh
	$(PY) bench/fuzz.py --cases 10000
