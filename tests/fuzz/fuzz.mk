# tests/fuzz/fuzz.mk - the libFuzzer build, driven by the top Makefile's `fuzz-build` and
# `fuzz` targets (which pass PKG_CFLAGS, PKG_LIBS and VERSION down):
#
#   make fuzz-build                  build every target under build/fuzz/
#   make fuzz [FUZZ_SECONDS=60]      build, then run each target FUZZ_SECONDS (tests/fuzz/run.sh)
#   make fuzz FUZZ_TARGETS="text config"   only some of them
#
# The whole library is compiled again with clang and -fsanitize=fuzzer-no-link,address,
# undefined into build/fuzz/lib/ (the gcc objects of build/ are not instrumented); each
# target tests/fuzz/fuzz_<name>.c is linked with -fsanitize=fuzzer. Link-time --wrap
# replaces what must not happen while fuzzing (see each target's top comment):
#   http_request  the adapters' network: answers come from the fuzz input (no socket)
#   nanosleep     Hostaway's 1 s token delay
#   popen/pclose  config's secret_cmd: no shell ever runs a fuzzed command
FUZZ_CC    ?= clang
FUZZ_BUILD ?= build/fuzz
VERSION    ?= 0.1.0
DATADIR    ?= /usr/local/share/porter

FUZZ_SAN   = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_FLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DPORTER_VERSION='"$(VERSION)"' \
             -DPORTER_DATADIR='"$(DATADIR)"' -O1 -g -Wall -Wextra -Wno-unused-parameter \
             $(FUZZ_SAN) $(PKG_CFLAGS) -Isrc -Isrc/sync -Iadapters -Iui -I$(FUZZ_BUILD)/gen

FUZZ_LIB_SRC = $(filter-out src/main.c,$(wildcard src/*.c)) $(wildcard src/sync/*.c) \
               $(wildcard adapters/*.c) $(wildcard ui/*.c)
FUZZ_LIB_OBJ = $(FUZZ_LIB_SRC:%.c=$(FUZZ_BUILD)/lib/%.o) $(FUZZ_BUILD)/lib/gen/schema.o \
               $(FUZZ_BUILD)/lib/gen/ownership.o
FUZZ_LIB     = $(FUZZ_BUILD)/libporter-fuzz.a

FUZZ_ALL     = text config verify hostaway guesty buildium webhook
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_BINS    = $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

.PHONY: fuzz-build fuzz-run fuzz-cc
fuzz-build: fuzz-cc $(FUZZ_BINS)

fuzz-cc:
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || { echo "fuzz: $(FUZZ_CC) is missing: libFuzzer" \
	    "needs clang (Debian: apt-get install clang)"; exit 1; }

fuzz-run: fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_RSS_MB=$(FUZZ_RSS_MB) \
	    sh tests/fuzz/run.sh $(FUZZ_TARGETS)

$(FUZZ_BUILD)/lib/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/gen/schema.c: data/schema.sql tests/gen-cstring.sh
	@mkdir -p $(dir $@)
	sh tests/gen-cstring.sh porter_schema_sql < data/schema.sql > $@

$(FUZZ_BUILD)/gen/ownership.c: data/ownership.conf tests/gen-cstring.sh
	@mkdir -p $(dir $@)
	sh tests/gen-cstring.sh porter_ownership_conf < data/ownership.conf > $@

$(FUZZ_BUILD)/lib/gen/%.o: $(FUZZ_BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Wno-overlength-strings -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

FUZZ_HDR = tests/fuzz/fuzz_common.h

# One adapter target per dialect, from the same source.
$(FUZZ_BUILD)/fuzz_hostaway $(FUZZ_BUILD)/fuzz_guesty $(FUZZ_BUILD)/fuzz_buildium: \
		$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_adapter.c $(FUZZ_HDR) $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -DFUZZ_DIALECT=$*_adapter -o $@ $< $(FUZZ_LIB) \
	    -Wl,--wrap=http_request -Wl,--wrap=nanosleep $(PKG_LIBS)

$(FUZZ_BUILD)/fuzz_webhook: tests/fuzz/fuzz_webhook.c $(FUZZ_HDR) $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) \
	    -Wl,--wrap=http_request -Wl,--wrap=nanosleep $(PKG_LIBS)

$(FUZZ_BUILD)/fuzz_config: tests/fuzz/fuzz_config.c $(FUZZ_HDR) $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) \
	    -Wl,--wrap=popen -Wl,--wrap=pclose $(PKG_LIBS)

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HDR) $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(PKG_LIBS)

-include $(shell find $(FUZZ_BUILD)/lib -name '*.d' 2>/dev/null)
