# Lianxin: the two commands (README): `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint unit integration e2e faults soak bench docs broker chromium demo-2018 keys clean

$(STAMP): requirements.txt pyproject.toml
	@echo "== setting up $(VENV) (first run takes a minute)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	@# The project itself is used in place: a .pth puts shared/ (package lianxin)
	@# and the repo root (package services) on the venv's path.
	@printf '%s\n' "$(CURDIR)/shared" "$(CURDIR)" > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/lianxin-dev.pth"
	@rm -f $(VENV)/.installed-* && touch $@

broker:
	@scripts/ensure-broker

# the dashboard's end-to-end test drives headless Chromium
chromium:
	@scripts/ensure-chromium

## make run: the whole system on the embedded store, seeded with the demo
run: $(STAMP) broker
	@$(BIN)/python -m scripts.run

## make test: every test (unit, integration, e2e, faults) against the real broker
test: $(STAMP) broker chromium lint
	@$(BIN)/nameko test --suppress-nameko-eventlet-notification tests

lint: $(STAMP)
	@$(BIN)/ruff check --quiet --select F shared services scripts bench tests

unit: $(STAMP)
	@$(BIN)/nameko test --suppress-nameko-eventlet-notification tests/unit

integration e2e faults: $(STAMP) broker
	@$(BIN)/nameko test --suppress-nameko-eventlet-notification tests/$@

e2e: chromium

## make soak: the deployed system for 10 minutes at 1,000 events/s with a fault every minute
## (tests/faults/test_soak.py); writes test-output/soak-<time>.md. SOAK_MINUTES, SOAK_RATE to change
SOAK_MINUTES ?= 10
SOAK_RATE ?= 1000
soak: $(STAMP) broker
	@LIANXIN_SOAK_MINUTES=$(SOAK_MINUTES) LIANXIN_SOAK_RATE=$(SOAK_RATE) $(BIN)/nameko test \
		--suppress-nameko-eventlet-notification -s -p no:cacheprovider tests/faults/test_soak.py

## make demo-2018: load the 2018 acceptance data set (the article's figures) into a running
## system (`make run` in another terminal); GATEWAY_PORT and AMQP_URI as for make run
demo-2018: $(STAMP)
	@$(BIN)/python -m scripts.demo2018 $(DEMO_ARGS)

## make bench: the benchmark harness (raw broker vs Lianxin, same run): one hop sustained
## for 60 s, latency at 1,000/s, and the 1,000,000-event backlog, rebuild and queries
## (~20 min, ~12 GB). Quicker: make bench BENCH_ARGS="--count 20000"
BENCH_ARGS ?= --seconds 60 --count 400000 --scale 1000000
bench: $(STAMP) broker
	@$(BIN)/python -m bench $(BENCH_ARGS)

## make keys ARGS="issue --name N --role secretary --scope UNIT" | "list" | "revoke ID" | "audit ...":
## API keys and the audit log of a running gateway, as LIANXIN_TOKEN or LIANXIN_ADMIN_TOKEN
keys: $(STAMP)
	@$(BIN)/python -m scripts.keys $(ARGS)

## make docs: regenerate docs/events.md and deploy/rabbitmq/definitions.json
docs: $(STAMP)
	@$(BIN)/python -m scripts.generate_docs

clean:
	rm -rf $(VENV) .pytest_cache test-output
