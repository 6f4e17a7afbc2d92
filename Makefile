# Two commands for the IT officer: `make run` and `make test`. Each does its own set-up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint screenshots i18n clean system-run system-test fuzz bench soak voices

run: system-run $(STAMP)
	$(BIN)/hailong demo $(DEMO_ARGS)

test: system-test $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

screenshots: system-test $(STAMP)
	$(BIN)/python -m hailong.kiosk.screenshots docs/screenshots
	$(BIN)/python -m hailong.sync.server.screenshots docs/screenshots

i18n: $(STAMP)
	$(BIN)/python -m hailong.i18n_tools update

# The optional spoken thank-you (kiosk/assets/thanks-*.wav), remade with espeak-ng
# (Debian package espeak-ng); the same words whatever the rating, so nobody learns it.
voices:
	espeak-ng -v vi -s 140 -w kiosk/assets/thanks-vi.wav "Xin cảm ơn Ông Bà"
	espeak-ng -v en -s 150 -w kiosk/assets/thanks-en.wav "Thank you"

# A longer fuzzing campaign of the rating-box frame parser (make test runs 100,000 streams).
fuzz: $(STAMP)
	HAILONG_FUZZ_STREAMS=2000000 $(BIN)/python -m pytest tests/device/test_parser_fuzz.py -q --timeout 3600

# The kill -9 fault test at length: 1,000 kills of the kiosk process (make test does 50).
soak: $(STAMP)
	HAILONG_FAULT_KILLS=1000 $(BIN)/python -m pytest tests/faults/test_kill_kiosk.py -q -s --timeout 7200

# Benchmarks: each command measures one thing and rewrites its section of docs/benchmarks.md.
bench: system-test $(STAMP)
	$(BIN)/python -m hailong.device.bench --presses 1000 --update docs/benchmarks.md
	$(BIN)/python -m hailong.sync.bench --update docs/benchmarks.md
	$(BIN)/python -m hailong.kiosk.bench --update docs/benchmarks.md
	$(BIN)/python -m hailong.sync.server.bench_scores --ratings 10000000 --update docs/benchmarks.md

system-run:
	@bash deploy/dev/ensure-system-packages.sh run

system-test:
	@bash deploy/dev/ensure-system-packages.sh test

$(STAMP):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
