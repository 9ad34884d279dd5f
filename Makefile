# Enact: build the preload shim and the CLI, run the tests, run the demo.
#   make            build/libenact_shim.so and build/enact (installing the
#                   Debian packages the build needs when they are missing,
#                   as make demo, make bench and make install do theirs)
#   make test       install missing dependencies, build, check the floors, run
#                   every test (unit, config corpus, integration), then the
#                   sanitizer pass (fuzz corpora, asan-linked, asan-integration,
#                   ubsan)
#   make demo       run the example agent governed, show what was blocked
#   make bench      measure the shim against the bare calls and peer tools;
#                   rewrites BENCHMARKS.md (BENCH_QUICK=1: a smoke run)
#   make asan       ASan+UBSan: the unit tests, the fuzz corpora, an agent with
#                   the hooks linked in, the CLI on the config corpus and on
#                   each command, and the integration tests that can take a
#                   preloaded ASan runtime (build/asan)
#   make ubsan      every integration test against the shim and the CLI
#                   built with UBSan (build/ubsan)
#   make tsan       ThreadSanitizer: the unit tests and the linked agent
#   make valgrind   the CLI under valgrind memcheck: the config corpus and
#                   each command
#   make fuzz       libFuzzer targets (clang); make fuzz-regress replays the
#                   corpora and every crash found so far
#   make install    PREFIX=/usr/local (bin/enact, LIBDIR/enact/libenact_shim.so
#                   with LIBDIR=PREFIX/lib, share/man/man1/enact.1,
#                   share/man/man5/enact.ini.5, the bash completion in
#                   share/bash-completion/completions/enact)
#   make deb        build/deb/enact_VERSION_ARCH.deb, by dpkg-buildpackage
#                   from debian/ on a copy of the tree (scripts/deb.sh)

CC       ?= cc
PREFIX   ?= /usr/local
# Where make install puts the shim (LIBDIR/enact/); enact run looks there
# too (shim/cli/run.c), so the CLI is built with it (build/obj/libdir).
LIBDIR   ?= $(PREFIX)/lib
BUILD    := build

PKGS     := inih
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fPIC -fvisibility=hidden $(SANFLAGS) \
            -ffunction-sections \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -linih) -lm

SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

FLOORS      := pure store policy
CORE_SRC    := $(foreach f,$(FLOORS),$(wildcard shim/$(f)/*.c))
CORE_HDR    := $(foreach f,$(FLOORS),$(wildcard shim/$(f)/*.h))
CORE_INC    := $(foreach f,$(FLOORS),-Ishim/$(f))
PRELOAD_SRC := $(wildcard shim/preload/*.c)
CLI_SRC     := $(wildcard shim/cli/*.c)
UNIT_SRC    := $(wildcard tests/unit/test_*.c)

CORE_OBJ    := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
# The shim brings its own store/sys.h (preload/sys_real.c: libc's functions
# through real.*, never its own hooks); everything else links sys_libc.c.
# enact learn's model (pure/learn_*) is the CLI's alone.
SHIM_CORE_SRC := $(filter-out shim/store/sys_libc.c shim/pure/learn_%.c,$(CORE_SRC))
SHIM_CORE_OBJ := $(SHIM_CORE_SRC:%.c=$(BUILD)/obj/%.o)
PRELOAD_OBJ := $(PRELOAD_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ     := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all binaries build-deps deps test unit config-tests integration demo bench install \
        deb clean FORCE asan asan-linked asan-integration ubsan tsan valgrind check-floors
# Building first installs what the build needs when it is missing
# (scripts/deps.sh build), then reads this file again, so that pkg-config
# sees what was just installed.
all: build-deps
	@$(MAKE) --no-print-directory binaries
binaries: $(BUILD)/libenact_shim.so $(BUILD)/enact
build-deps:
	@scripts/deps.sh build

# The limits script Redis runs, as a C string (README "Running a fleet").
shim/store/redis_limits_lua.h: shim/store/redis_limits.lua scripts/lua-to-c.sh
	scripts/lua-to-c.sh $< >$@

# CPPFLAGS and LDFLAGS, empty here, are the builder's: a Debian package's
# hardening flags (dpkg-buildflags: _FORTIFY_SOURCE, -z relro).
$(BUILD)/obj/%.o: %.c $(wildcard shim/*/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# run.o holds LIBDIR: build/obj/libdir records the one it was built with,
# rewritten (and run.o rebuilt) only when LIBDIR changes.
$(BUILD)/obj/shim/cli/run.o: CFLAGS += -DENACT_LIBDIR='"$(LIBDIR)"'
$(BUILD)/obj/shim/cli/run.o: $(BUILD)/obj/libdir
$(BUILD)/obj/libdir: FORCE
	@mkdir -p $(dir $@)
	@echo '$(LIBDIR)' | cmp -s - $@ || echo '$(LIBDIR)' >$@

# The shim links inih statically (its symbols hidden) and needs no libm:
# every library it depends on is found and relocated at each program start.
# Lazy binding (no -z now): resolving its ~100 libc imports up front cost
# 43,000 instructions and about 40 us at every exec (callgrind, perf stat);
# a first call through the PLT is safe in a vfork child, as in any program.
SHIM_LIBS := -Wl,--exclude-libs,ALL $(shell [ -f "$$(pkg-config --variable=libdir inih 2>/dev/null)/libinih.a" ] && echo -l:libinih.a || echo -linih)

# The shim links copies of its objects whose start-up functions come first
# in its text (scripts/start-sections.sh, shim/preload/start.list; every
# object is built with -ffunction-sections for it): the kernel maps a
# library's text around each page fault, and start-up code spread over all
# of it mapped all of it in every governed process.
SHIM_START_LIST := shim/preload/start.list
SHIM_LINK_OBJ := $(patsubst $(BUILD)/obj/%,$(BUILD)/shim-obj/%,$(PRELOAD_OBJ) $(SHIM_CORE_OBJ))
$(BUILD)/shim-obj/%.o: $(BUILD)/obj/%.o $(SHIM_START_LIST) scripts/start-sections.sh
	@mkdir -p $(dir $@)
	scripts/start-sections.sh $(SHIM_START_LIST) $< $@

# -fini: the loader's call at exit goes to the shim's own enact_fini (its
# start-up pages) instead of .fini at the text's far end (preload/init.c).
$(BUILD)/libenact_shim.so: $(SHIM_LINK_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-z,defs -Wl,-fini=enact_fini -o $@ $^ $(SHIM_LIBS) -ldl

# The CLI binds every symbol at start (-z now, as hardening asks); only the
# shim, loaded into every program an agent starts, binds lazily.
$(BUILD)/enact: $(CLI_OBJ) $(CORE_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,-z,now -o $@ $^ $(LDLIBS) $(shell pkg-config --libs libelf 2>/dev/null || echo -lelf) -ldl

# Unit tests: each core module with cmocka, under ASan and UBSan. The core
# is compiled once into an archive that every test links (a test takes the
# modules it calls), not once per test.
UNIT_CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/unit/obj/%.o)
UNIT_CORE_LIB := $(BUILD)/unit/libenact_core.a
$(BUILD)/unit/obj/%.o: %.c $(wildcard shim/*/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(CORE_INC) -c $< -o $@
$(UNIT_CORE_LIB): $(UNIT_CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^
$(BUILD)/tests/%: tests/unit/%.c $(UNIT_CORE_LIB) $(CORE_HDR) $(wildcard tests/unit/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(CORE_INC) -o $@ $< $(UNIT_CORE_LIB) $(LDLIBS) -lcmocka -lpthread

deps:
	@scripts/deps.sh

unit: $(UNIT_BIN)
	@scripts/run-unit.sh $(UNIT_BIN)

config-tests: all
	@scripts/run-config-tests.sh

integration: all
	@tests/integration/run.sh

# The floors of shim/ keep to what they may include and call (README "How a
# call flows").
check-floors: all
	@scripts/check-floors.sh $(BUILD)

# Then the sanitizer pass: the fuzz corpora replayed and each target fuzzed
# for FUZZ_CI_SECONDS, the linked agent under ASan+UBSan, the integration
# tests that can run under a preloaded ASan runtime against the ASan build,
# every integration test against the UBSan build.
FUZZ_CI_SECONDS ?= 10
test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN)
	@scripts/check-floors.sh $(BUILD) && scripts/run-unit.sh $(UNIT_BIN) && \
	    { scripts/run-config-tests.sh; c=$$?; tests/integration/run.sh && [ $$c -eq 0 ]; } && \
	    $(MAKE) --no-print-directory fuzz-regress asan-linked asan-integration ubsan && \
	    $(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_CI_SECONDS)

# Sanitizers. UBSan checks the shim under the integration suite. An
# ASan shim needs the ASan runtime first in every process: the tests
# preload it everywhere (ENACT_TEST_PRELOAD) and the ASan build of the shim
# hands it on to children. That leaves out the tests that run curl (it
# deadlocks in setlocale with the ASan runtime preloaded, Enact or not) and
# those that assert a process looks exactly as with no preload at all (the
# runtime is one, with signal handlers of its own), and test_demo, which
# runs the plain build through make demo, and test_own_calls: the runtime,
# first in lookup, interposes the same libc names, so calls to them bind
# to it rather than to the shim and its auditor sees none. test_dry_run_postgres
# stays in but leaves out its governed psql runs there (psql hangs with the
# runtime preloaded, Enact or not; psycopg2 runs libpq under it), and starts
# its server without the runtime (initdb hangs under it). ASan+UBSan and TSan
# also check the hooks linked into a threaded agent (tests/linked), the
# core (unit tests, fuzz corpora) and the CLI (config corpus, commands).
SAN_ENV := UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=87
# The agent gets the shim's exit call as the shim has it (-fini, preload/init.c).
LINKED_SRC := tests/linked/threaded_agent.c $(PRELOAD_SRC) $(SHIM_CORE_SRC)
$(BUILD)/asan/threaded_agent: $(LINKED_SRC) $(wildcard shim/*/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -pthread -Wl,-fini=enact_fini -o $@ $(LINKED_SRC) $(SHIM_LIBS) -ldl
asan-linked: $(BUILD)/asan/threaded_agent
	@ASAN_OPTIONS=detect_leaks=1:exitcode=86 $(SAN_ENV) tests/linked/run.sh $<

ASAN_LEFT_OUT := test_env_scrub test_transparency_process test_transparency_suites \
                 test_threat_bypasses test_man_pages test_examples test_demo test_own_calls
ASAN_TESTS = $(filter-out $(ASAN_LEFT_OUT), \
               $(basename $(notdir $(shell grep -L curl tests/integration/test_*.sh))))
asan: $(UNIT_BIN) asan-linked fuzz-regress
	@scripts/run-unit.sh $(UNIT_BIN)
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan SANFLAGS="$(SAN)" all
	@ENACT=$(CURDIR)/$(BUILD)/asan/enact ASAN_OPTIONS=detect_leaks=1 $(SAN_ENV) \
	    scripts/run-config-tests.sh
	@ENACT_BIN=$(CURDIR)/$(BUILD)/asan/enact ASAN_OPTIONS=detect_leaks=1 $(SAN_ENV) \
	    ENACT_TEST_PRELOAD=$$($(CC) -print-file-name=libasan.so) scripts/cli-commands.sh
	@$(MAKE) --no-print-directory asan-integration

# The integration tests that can take a preloaded ASan runtime, against the
# ASan shim and CLI: what only a real program under the shim reaches (an
# exec's dry-run record, say) is checked for memory errors too.
asan-integration:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan SANFLAGS="$(SAN)" all
	@ENACT_BUILD=$(CURDIR)/$(BUILD)/asan ENACT_TEST_PRELOAD=$$($(CC) -print-file-name=libasan.so) \
	    ASAN_OPTIONS=detect_leaks=0:exitcode=86 $(SAN_ENV) tests/integration/run.sh $(ASAN_TESTS)

# Every integration test but test_deb, which checks the package make deb
# builds (its own plain build), never the UBSan one.
UBSAN_TESTS = $(filter-out test_deb,$(basename $(notdir $(wildcard tests/integration/test_*.sh))))
ubsan:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/ubsan \
	    SANFLAGS="-fsanitize=undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" all
	@ENACT=$(CURDIR)/$(BUILD)/ubsan/enact $(SAN_ENV) scripts/run-config-tests.sh
	@ENACT_BUILD=$(CURDIR)/$(BUILD)/ubsan $(SAN_ENV) tests/integration/run.sh $(UBSAN_TESTS)

TSAN := -fsanitize=thread -fno-omit-frame-pointer
TSAN_UNIT := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tsan/tests/%)
$(BUILD)/tsan/tests/%: tests/unit/%.c $(CORE_SRC) $(CORE_HDR) $(wildcard tests/unit/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TSAN) $(CORE_INC) -o $@ $< $(CORE_SRC) $(LDLIBS) -lcmocka
$(BUILD)/tsan/threaded_agent: $(LINKED_SRC) $(wildcard shim/*/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TSAN) -pthread -Wl,-fini=enact_fini -o $@ $(LINKED_SRC) $(SHIM_LIBS) -ldl
tsan: $(TSAN_UNIT) $(BUILD)/tsan/threaded_agent
	@TSAN_OPTIONS=halt_on_error=1:exitcode=88 scripts/run-unit.sh $(TSAN_UNIT)
	@TSAN_OPTIONS=halt_on_error=1:exitcode=88 tests/linked/run.sh $(BUILD)/tsan/threaded_agent

valgrind: all
	@scripts/valgrind-cli.sh

demo: all
	@scripts/deps.sh demo
	@scripts/demo.sh

bench: all
	@scripts/deps.sh bench
	@scripts/bench.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR)/enact
	install -m 0755 $(BUILD)/enact $(DESTDIR)$(PREFIX)/bin/enact
	install -m 0644 $(BUILD)/libenact_shim.so $(DESTDIR)$(LIBDIR)/enact/libenact_shim.so
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 0644 man/enact.1 $(DESTDIR)$(PREFIX)/share/man/man1/enact.1
	install -m 0644 man/enact.ini.5 $(DESTDIR)$(PREFIX)/share/man/man5/enact.ini.5
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0644 config/bash-completion/enact $(DESTDIR)$(PREFIX)/share/bash-completion/completions/enact

# The Debian package (scripts/deb.sh; sudo apt install ./build/deb/enact_*.deb).
deb:
	@scripts/deps.sh deb
	@scripts/deb.sh

clean:
	rm -rf $(BUILD)

# Fuzzing (libFuzzer, clang): see fuzz/fuzz.mk.
-include fuzz/fuzz.mk
