# porter - plain Makefile over pkg-config.
#
#   make              build ./porter (and ./pmsim once it exists)
#   make check        build and run every test; ends with "N passed, N failed"
#   make asan|tsan    sanitizer builds under build/asan, build/tsan
#   make check-asan   the test suite against the ASan+UBSan build
#   make demo         run porter (see README)
#   make deps         install the Debian build dependencies (root), or print the command
#   make install PREFIX=/usr/local DESTDIR=   /   make uninstall
#   make install-demo also installs the simulator and fixtures for porter --demo
#   make WERROR=1     warnings are errors

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/porter
LIBEXECDIR ?= $(PREFIX)/libexec/porter
CC      ?= cc
CFLAGS  ?= -O2 -g
BUILD   ?= build
SAN     ?=
VERSION := 0.1.0

PKGS      = ncursesw libcurl libcjson sqlite3 libmicrohttpd inih libcrypto
TEST_PKGS = cmocka
DEB_PKGS  = build-essential pkg-config libncurses-dev libcurl4-openssl-dev libcjson-dev \
            libsqlite3-dev libmicrohttpd-dev libinih-dev libssl-dev libcmocka-dev \
            tmux curl sqlite3 python3

WARN = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wformat=2 -Wcast-qual -Wwrite-strings -Wpointer-arith -Wundef \
       -Wimplicit-fallthrough -Wnull-dereference -Wvla
ifeq ($(WERROR),1)
WARN += -Werror
endif

# Recursive (=) so that pkg-config only runs when a recipe needs it: `make deps` must work
# on a machine where pkg-config or the libraries are still missing.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -lpthread
TEST_LIBS  = $(shell pkg-config --libs $(TEST_PKGS))
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DPORTER_VERSION='"$(VERSION)"' \
             -DPORTER_DATADIR='"$(DATADIR)"' \
             $(WARN) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -Isrc -Isrc/sync -Iadapters -Iui -I$(BUILD)/gen -MMD -MP

CORE_SRC    = $(filter-out src/main.c,$(wildcard src/*.c)) $(wildcard src/sync/*.c)
ADAPTER_SRC = $(wildcard adapters/*.c)
UI_SRC      = $(wildcard ui/*.c)
LIB_SRC     = $(CORE_SRC) $(ADAPTER_SRC) $(UI_SRC)
LIB_OBJ     = $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/schema.o $(BUILD)/gen/ownership.o
PMSIM_SRC   = $(wildcard tests/pmsim/*.c)
PMSIM_OBJ   = $(PMSIM_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC    = $(wildcard tests/unit/test_*.c)
UNIT_BIN    = $(UNIT_SRC:%.c=$(BUILD)/%)
INTEG_SRC   = $(wildcard tests/integration/test_*.c)
INTEG_BIN   = $(INTEG_SRC:%.c=$(BUILD)/%)

PORTER_BIN = $(if $(filter build,$(BUILD)),porter,$(BUILD)/porter)
PMSIM_BIN  = $(if $(filter build,$(BUILD)),pmsim,$(BUILD)/pmsim)

.PHONY: bench bench-deps long-deps all check check-asan check-tsan check-long asan tsan demo deps deps-if-missing \
        install install-demo uninstall clean tests fmt fuzz fuzz-build

all: $(PORTER_BIN) $(if $(PMSIM_SRC),$(PMSIM_BIN))

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# data/schema.sql is compiled into the binary as one C string.
$(BUILD)/gen/schema.c: data/schema.sql tests/gen-cstring.sh
	@mkdir -p $(dir $@)
	sh tests/gen-cstring.sh porter_schema_sql < data/schema.sql > $@

$(BUILD)/gen/ownership.c: data/ownership.conf tests/gen-cstring.sh
	@mkdir -p $(dir $@)
	sh tests/gen-cstring.sh porter_ownership_conf < data/ownership.conf > $@

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(ALL_CFLAGS) -Wno-overlength-strings -c -o $@ $<

$(BUILD)/libporter.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(PORTER_BIN): $(BUILD)/src/main.o $(BUILD)/libporter.a
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(PKG_LIBS)

$(PMSIM_BIN): $(PMSIM_OBJ) $(BUILD)/libporter.a
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libporter.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(shell pkg-config --cflags $(TEST_PKGS)) -o $@ $< \
	    $(BUILD)/libporter.a $(PKG_LIBS) $(TEST_LIBS)

$(BUILD)/tests/integration/%: tests/integration/%.c tests/integration/simctl.c \
		tests/integration/simctl.h $(BUILD)/libporter.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/integration $(shell pkg-config --cflags $(TEST_PKGS)) -o $@ $< \
	    tests/integration/simctl.c $(BUILD)/libporter.a $(PKG_LIBS) $(TEST_LIBS)

tests: all $(UNIT_BIN) $(INTEG_BIN)

# Runs make deps first only when something is missing.
deps-if-missing:
	@sh tests/check-deps.sh "$(PKGS) $(TEST_PKGS)" >/dev/null 2>&1 || $(MAKE) --no-print-directory deps

deps:
	@if sh tests/check-deps.sh "$(PKGS) $(TEST_PKGS)"; then \
	    echo "deps: everything is installed"; \
	elif [ "$$(id -u)" = 0 ]; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(DEB_PKGS); \
	else \
	    echo "deps: missing build dependencies; run:"; \
	    echo "  sudo apt-get install -y $(DEB_PKGS)"; \
	    echo "(other platforms: see INSTALL)"; exit 1; \
	fi

check: deps-if-missing
	@$(MAKE) --no-print-directory tests
	@sh tests/run.sh $(BUILD) $(PORTER_BIN)

asan:
	@$(MAKE) --no-print-directory BUILD=build/asan \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" tests

tsan:
	@$(MAKE) --no-print-directory BUILD=build/tsan SAN="-fsanitize=thread" CFLAGS="-O1 -g" tests

check-asan: deps-if-missing asan
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	    sh tests/run.sh build/asan build/asan/porter

check-tsan: deps-if-missing tsan
	@sh tests/run.sh build/tsan build/tsan/porter

# The long reliability tests (docs/RELIABILITY.md, about 20 minutes): crash at every durable
# step of a scripted scenario, kill -9 during a 10,000-event two-way run, and the sync tests
# against the ThreadSanitizer build. LONG_QUICK=1: a sample in a few minutes; LONG_TSAN=0:
# without the TSan part.
check-long: deps-if-missing long-deps
	@$(MAKE) --no-print-directory all
	@mkdir -p $(BUILD)/tests/long
	@for t in crash_steps kill9 chaos procs; do \
	    $(CC) $(ALL_CFLAGS) -Itests/integration -o $(BUILD)/tests/long/$$t tests/long/$$t.c \
	        tests/long/longlib.c tests/integration/simctl.c $(BUILD)/libporter.a $(PKG_LIBS) \
	        || exit 1; \
	done
	@if [ "$(LONG_QUICK)" != 1 ] && [ "$(LONG_TSAN)" != 0 ]; then \
	    $(MAKE) --no-print-directory tsan; fi
	@LONG_QUICK=$(LONG_QUICK) LONG_TSAN=$(LONG_TSAN) sh tests/long/run.sh $(BUILD) $(PORTER_BIN)

$(BUILD)/tests/bench/%: tests/bench/%.c tests/integration/simctl.c $(BUILD)/libporter.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/integration -o $@ $< tests/integration/simctl.c \
	    $(BUILD)/libporter.a $(PKG_LIBS)

# The UI benchmark drives porter on a pseudo-terminal (forkpty: -lutil).
$(BUILD)/tests/bench/bench_ui: tests/bench/bench_ui.c $(BUILD)/libporter.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libporter.a $(PKG_LIBS) -lutil

# porter side by side with neomutt on the same 100k messages (forkpty: -lutil).
$(BUILD)/tests/bench/bench_peer: tests/bench/bench_peer.c $(BUILD)/libporter.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libporter.a $(PKG_LIBS) -lutil

# The peer benchmark needs neomutt (Debian package): installed as root, else the command
# is printed and make bench skips that part.
# check-long runs the terminal tests under valgrind too.
long-deps:
	@if command -v valgrind >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y valgrind; \
	else \
	    echo "long-deps: valgrind is missing (check-long runs the terminal tests under it); run:"; \
	    echo "  sudo apt-get install -y valgrind"; \
	fi

bench-deps:
	@if command -v neomutt >/dev/null 2>&1; then \
	    echo "bench-deps: neomutt is installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y neomutt) || \
	    echo "bench-deps: could not install neomutt; the peer benchmark will be skipped"; \
	else \
	    echo "bench-deps: neomutt is missing (bench_peer compares porter with it); run:"; \
	    echo "  sudo apt-get install -y neomutt"; \
	fi

# Benchmarks: optimised build, medians of several runs. Not part of make check. Each program
# prints its own table and details, and appends its rows to $(BENCH_ROWS_FILE); the run
# ends with those rows as one table (tests/bench/table.sh) and "N passed, M failed". Every
# program runs even when one fails; the status is non-zero when a run failed its check.
# bench_ui caches its generated databases in $(BUILD)/bench (delete them to regenerate).
BENCH_ROWS_FILE = $(BUILD)/bench/rows.tsv
bench: deps-if-missing bench-deps
	@$(MAKE) --no-print-directory all $(BUILD)/tests/bench/bench_sync $(BUILD)/tests/bench/bench_ui \
	    $(BUILD)/tests/bench/bench_peer $(BUILD)/tests/bench/bench_rules
	@mkdir -p $(BUILD)/bench && rm -f $(BENCH_ROWS_FILE); \
	export BENCH_ROWS=$(CURDIR)/$(BENCH_ROWS_FILE) PORTER_BIN=$(CURDIR)/$(PORTER_BIN) \
	    PMSIM_BIN=$(CURDIR)/$(PMSIM_BIN) BENCH_DIR=$(CURDIR)/$(BUILD)/bench; \
	status=0; \
	$(BUILD)/tests/bench/bench_sync || status=1; \
	$(BUILD)/tests/bench/bench_rules || status=1; \
	$(BUILD)/tests/bench/bench_ui || status=1; \
	if command -v neomutt >/dev/null 2>&1; then \
	    $(BUILD)/tests/bench/bench_peer || status=1; \
	else \
	    echo "bench: neomutt is not installed: skipping the side-by-side benchmark" \
	        "(make bench-deps, or: sudo apt-get install -y neomutt)"; \
	fi; \
	echo; echo "make bench: all programs, one table"; \
	sh tests/bench/table.sh $(BENCH_ROWS_FILE) || status=1; \
	exit $$status

demo: deps-if-missing
	@$(MAKE) --no-print-directory all
	@sh tests/demo.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 755 porter $(DESTDIR)$(BINDIR)/porter
	install -m 644 docs/porter.1 $(DESTDIR)$(MANDIR)/man1/porter.1
	install -m 644 docs/porter.conf.5 $(DESTDIR)$(MANDIR)/man5/porter.conf.5

# porter --demo from an installed porter: the simulator and its fixtures, where --demo
# looks for them (../libexec/porter/pmsim and ../share/porter/demo beside the binary).
install-demo: install
	install -d $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(DATADIR)/demo
	install -m 755 pmsim $(DESTDIR)$(LIBEXECDIR)/pmsim
	install -m 644 data/demo/*.json $(DESTDIR)$(DATADIR)/demo/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/porter $(DESTDIR)$(MANDIR)/man1/porter.1 \
	    $(DESTDIR)$(MANDIR)/man5/porter.conf.5 $(DESTDIR)$(LIBEXECDIR)/pmsim
	rm -rf $(DESTDIR)$(DATADIR)/demo

# libFuzzer targets (clang, ASan+UBSan) under build/fuzz/; see tests/fuzz/fuzz.mk. make fuzz
# runs each FUZZ_SECONDS (default 60) and fails when one crashes (artifacts: build/fuzz/artifacts).
fuzz-build: deps-if-missing
	@$(MAKE) --no-print-directory -f tests/fuzz/fuzz.mk VERSION=$(VERSION) DATADIR=$(DATADIR) \
	    PKG_CFLAGS="$(PKG_CFLAGS)" PKG_LIBS="$(PKG_LIBS)" fuzz-build

fuzz: deps-if-missing
	@$(MAKE) --no-print-directory -f tests/fuzz/fuzz.mk VERSION=$(VERSION) DATADIR=$(DATADIR) \
	    PKG_CFLAGS="$(PKG_CFLAGS)" PKG_LIBS="$(PKG_LIBS)" FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60) \
	    FUZZ_RSS_MB=$(or $(FUZZ_RSS_MB),2048) fuzz-run

fmt:
	clang-format -i $(LIB_SRC) src/main.c $(wildcard src/*.h src/sync/*.h adapters/*.h ui/*.h) \
	    $(UNIT_SRC) $(PMSIM_SRC)

clean:
	rm -rf build porter pmsim

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
