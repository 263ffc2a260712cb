# loyaltyd — the two commands:
#   make run    install what is missing, build, start the server on http://127.0.0.1:8080
#   make test   install what is missing, build, run every test (SQLite, PostgreSQL, sanitizers, fuzz)
.PHONY: run test deps build build-debug clean format

BUILD_DIR ?= build
JOBS ?= 2
DB ?= sqlite:$(CURDIR)/var/loyaltyd.db
LISTEN ?= 127.0.0.1:8080
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD_DIR) -j$(JOBS) --target loyaltyd

run: build
	@mkdir -p var
	@echo "store: $(DB)"
	@$(BUILD_DIR)/loyaltyd serve --db $(DB) --listen $(LISTEN) --demo

test: deps
	@bash scripts/run-tests.sh

format:
	@find src tests bench -name '*.cpp' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf build build-asan build-fuzz
