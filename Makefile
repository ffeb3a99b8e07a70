# The two commands: `make run` (the demo) and `make test` (the whole suite).
# Both install the Debian packages they need and build first.
BUILD ?= build
MESON_OPTS ?=

.PHONY: all deps build run test unit integration vm asan asan-all bench clean

# undefined behaviour fails a sanitized run instead of printing and going on
SAN_ENV = ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

all: build

deps:
	@./scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	./scripts/demo.sh $(BUILD)

test: build
	./scripts/test.sh $(BUILD)

unit: build
	meson test -C $(BUILD) --print-errorlogs

integration: build
	IPDK_BUILD=$(abspath $(BUILD)) /usr/bin/python3 -m pytest -v tests/integration

vm: build
	IPDK_BUILD=$(abspath $(BUILD)) /usr/bin/python3 -m pytest -v tests/vm

asan: deps
	[ -f build-asan/build.ninja ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C build-asan
	$(SAN_ENV) meson test -C build-asan --print-errorlogs

# the integration and VM tests against the sanitized daemons and tools
asan-all: asan
	$(SAN_ENV) IPDK_BUILD=$(abspath build-asan) /usr/bin/python3 -m pytest -q tests/integration
	$(SAN_ENV) IPDK_BUILD=$(abspath build-asan) /usr/bin/python3 -m pytest -q tests/vm

bench: build
	./scripts/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan
