# wardwatch developer commands. `make test` is what CI runs (.ci/run).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# pip install runs again whenever pyproject.toml is newer than this file.
STAMP := $(VENV)/.installed

# The real services tests and `make run` start (wardwatch.collector.devstack.services);
# libfaketime, which gives a test agent a clock 10 years off; dmidecode, the real peer the SMBIOS
# parser is checked against; nftables, which drops packets at random between test network
# namespaces, and fping, the real peer the link probes' figures are checked against; systemd's
# systemd-analyze, which scores the hardening of the units in deploy/systemd (no running systemd
# is needed). Mosquitto brings its dynamic security plugin, which `wardwatch broker init` uses.
# wixl and msitools build the agent's Windows installers (`make windows`, deploy/windows), and
# Wine runs them in the wine tier; osslsigncode signs them when asked. Chromium prints
# `wardwatch report --format pdf` and renders its web page in the tests, which read the PDF back
# with poppler's pdftotext and pdftoppm; DejaVu fonts carry every Vietnamese diacritic.
DEB_BINARIES := /usr/sbin/mosquitto /usr/bin/influxd /usr/bin/victoria-metrics /usr/bin/faketime \
	/usr/sbin/dmidecode /usr/sbin/nft /usr/bin/fping /usr/bin/systemd-analyze /usr/bin/wixl \
	/usr/bin/msiinfo /usr/bin/wine /usr/bin/osslsigncode /usr/bin/chromium /usr/bin/pdftoppm \
	/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
DEB_PACKAGES := mosquitto influxdb victoria-metrics faketime dmidecode nftables fping systemd \
	wixl msitools wine wine64 osslsigncode chromium poppler-utils fonts-dejavu-core
MISSING_BINARIES := $(filter-out $(wildcard $(DEB_BINARIES)),$(DEB_BINARIES))
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# Extra arguments, e.g. make test PYTEST_ARGS='-k end_to_end -x'
PYTEST_ARGS ?=
# e.g. make run RUN_ARGS='--mqtt-port 11884 --interval-s 5'
RUN_ARGS ?=

.PHONY: venv deps test test-fast run bench lint fmt schema clean windows

# windows: the agent's MSIs in dist/ (deploy/windows/build_msi.py), from pinned inputs; the same
# bytes at every build. make windows SIGN_CERT=cert.pem SIGN_KEY=key.pem signs them.
SIGN_CERT ?=
SIGN_KEY ?=
windows: deps venv
	$(BIN)/python deploy/windows/build_msi.py \
		$(if $(SIGN_CERT),--sign-cert $(SIGN_CERT) --sign-key $(SIGN_KEY))

# venv: create .venv and install wardwatch editable with its test tools.
venv: $(STAMP)

$(BIN)/python:
	@# Debian's python3 splits venv support into python3-venv; a fresh machine may lack it.
	$(PYTHON) -c 'import ensurepip' 2>/dev/null || { $(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test]'
	touch $@

# deps: install the Debian packages above, only if one of their binaries is missing.
deps:
ifneq ($(MISSING_BINARIES),)
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		$(DEB_PACKAGES)
else
	@echo "deps: $(DEB_PACKAGES) are installed"
endif

# test: the whole test suite against real local services (every tier; root for the network
# namespaces of the link tests and the Wine tier's mount namespace). The wine tier, mostly
# waiting on Wine's start-ups, runs in a second pytest beside the others (its output follows
# theirs, also in build/wine-tier.log); with PYTEST_ARGS, one pytest runs what they select.
test: deps venv
ifeq ($(strip $(PYTEST_ARGS)),)
	@mkdir -p build
	@$(BIN)/python -m pytest -q -m wine -p no:cacheprovider >build/wine-tier.log 2>&1 & wine=$$!; \
	$(BIN)/python -m pytest -q -m "not wine"; rest=$$?; \
	wait $$wine; tier=$$?; \
	echo "--- the wine tier (build/wine-tier.log):"; cat build/wine-tier.log; \
	test $$rest -eq 0 && test $$tier -eq 0
else
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)
endif

# test-fast: the unit tier only, in seconds: no root, no service, no program started
# (tests/conftest.py enforces it). The other tiers: -m services, -m process, -m netns.
test-fast: venv
	$(BIN)/python -m pytest -q -m unit $(PYTEST_ARGS)

# run: broker, database, collector and an agent for this machine, all under .run/ (Ctrl-C stops).
run: deps venv
	$(BIN)/python -m wardwatch.collector.devstack.localrun --dir .run $(RUN_ARGS)

# bench: InfluxDB's ceiling, the collector's throughput and latency with the fleet simulator, and
# the agent's footprint, in one run (~5 min); a table, also in bench-results/latest.md.
# Never part of `make test`. e.g. make bench BENCH_ARGS=--quick
BENCH_ARGS ?=
bench: deps venv
	$(BIN)/python -m tests.benchmarks.run_all $(BENCH_ARGS)

# lint: style, formatting and types; changes nothing.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# fmt: format and apply safe lint fixes.
fmt: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# schema: regenerate the JSON Schema of the wire format. Written to a temporary file first so a
# failing generator does not leave an empty schema behind.
schema: venv
	$(BIN)/python -m wardwatch.contract.schema > agent/wardwatch/contract/wire.schema.json.tmp
	mv agent/wardwatch/contract/wire.schema.json.tmp agent/wardwatch/contract/wire.schema.json

# clean: local run data and tool caches (keeps .venv).
clean:
	rm -rf .run build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
