# sluice build. `make` builds build/sluice; `make check` installs what is missing and runs
# every test; `make demo` runs the demo. SANITIZE=address,undefined builds into build-san/.
CC       ?= gcc
SANITIZE ?=
BUILD    := build$(if $(SANITIZE),-san)
CFLAGS   := -std=gnu11 -O2 -g -D_GNU_SOURCE -Isrc -I. \
            -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror
LDLIBS   := -levent_openssl -levent_pthreads -levent_extra -levent_core -lssl -lcrypto -lunbound \
            -llmdb -lconfig -lcrypt -lpam -lpthread -lm
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
endif

LIB_SRC  := $(sort $(shell find src -name '*.c' ! -path src/main.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
TOOL_SRC := $(sort $(wildcard tools/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Fakes shared by unit tests (tests/unit/fake_*.c: clock, router, transport).
FAKE_SRC := $(sort $(wildcard tests/unit/fake_*.c))
FAKE_LIB := $(BUILD)/tests/libfake.a

.PHONY: all deps unit check check-layers check-unit check-san check-scenario demo clean fuzz fuzz-smoke bench-smoke
all: $(BUILD)/sluice

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libsluice.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/sluice: $(BUILD)/src/main.o $(TOOL_SRC:%.c=$(BUILD)/%.o) $(BUILD)/libsluice.a
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(BUILD)/libsluice.a $(LDLIBS)

$(FAKE_LIB): $(FAKE_SRC:%.c=$(BUILD)/%.o)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/%: tests/unit/%.c $(FAKE_LIB) $(BUILD)/libsluice.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(FAKE_LIB) $(BUILD)/libsluice.a $(LDLIBS) -lcmocka

unit: $(UNIT_BIN)

deps:
	@scripts/install-deps

# The layering check (include graph, under a second), unit and scenario tests on the plain
# build, the same again under ASan+UBSan (LSan on), then every fuzz harness for FUZZ_SECONDS
# (30), then the bench harness at 1 % scale (sluice and Postfix; it checks only that every
# message arrives). `make check SANITIZE=...` runs the first half with those sanitizers too.
check: deps
	$(MAKE) check-layers
	$(MAKE) check-unit check-scenario
	$(MAKE) check-san
	$(MAKE) fuzz-smoke
	$(MAKE) bench-smoke

# STYLE.md's layering, core <- proto <- everything else <- main.c: scripts/check-layers
# (its own self-test first, then the tree; the table of allowed middle edges is in it).
check-layers:
	@scripts/check-layers --self-test && scripts/check-layers

check-unit: $(UNIT_BIN) $(BUILD)/sluice
	@scripts/run-unit $(UNIT_BIN)

check-san:
	$(MAKE) SANITIZE=address,undefined check-unit check-scenario

check-scenario: $(BUILD)/sluice
	@SLUICE=$(CURDIR)/$(BUILD)/sluice tests/scenario/run $(SCENARIOS)

demo: deps $(BUILD)/sluice
	@scripts/demo

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

fuzz:
	$(MAKE) -C fuzz run FUZZ_SECONDS=$(or $(FUZZ_SECONDS),600)

fuzz-smoke:
	$(MAKE) -C fuzz smoke FUZZ_SECONDS=$(or $(FUZZ_SECONDS),30)

bench-smoke: $(BUILD)/sluice
	@bench/smoke
