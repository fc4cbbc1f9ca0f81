# make demo   - install everything and tell the story of the incident ovnguard was built for
# make test   - install everything, lint, type-check and run the whole test suite
# make bench  - benchmarks (by hand, not CI)
# make fuzz   - the big fuzz run (docs/security.md; by hand, not CI)
# make i18n   - re-extract the messages, merge them into the Korean catalog, compile the .mo
.PHONY: demo test lint pytest bench fuzz i18n
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

# check_scale at three sizes shows how the cost grows with the fleet (docs/performance.md);
# the goal size, `$(PY) bench/check_scale.py 1000 200`, builds its cloud from real
# ovsdb-server + ovn-northd in 11-20 minutes and needs ~18 GB of memory at its peak.
bench:
	./install.sh
	$(PY) bench/cli_startup.py
	$(PY) bench/lab_startup.py
	$(PY) bench/check_scale.py 1000 20
	$(PY) bench/check_scale.py 1000 50
	$(PY) bench/check_scale.py 1000 200
	$(PY) bench/collect_fanout.py 50

# The big fuzz run (docs/security.md): about ten minutes, by hand, not CI.
fuzz:
	./install.sh
	$(PY) bench/fuzz.py --cases 10000

# Messages (docs/i18n.md): extract every _()/N_()/ngettext() and the template's {% trans %}
# into a fresh .pot, merge it into locale/ko/.../ovnguard.po (new messages arrive empty, changed
# ones fuzzy: translate them), and compile the .mo that is committed and shipped.
# tests/i18n fails while a message lacks its translation or the .mo is stale.
LOCALE := src/ovnguard/locale
i18n:
	./install.sh
	mkdir -p build/i18n
	.venv/bin/pybabel -q extract -F babel.cfg --no-location --sort-output --no-wrap \
	  --project ovnguard --version 0.1.0 -o build/i18n/ovnguard.pot .
	.venv/bin/pybabel -q update -i build/i18n/ovnguard.pot -d $(LOCALE) -D ovnguard -l ko --no-wrap \
	  --ignore-obsolete
	.venv/bin/pybabel -q compile -d $(LOCALE) -D ovnguard -l ko
