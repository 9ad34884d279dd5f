# libFuzzer targets for the core modules (shim/pure, shim/store, shim/policy). Included by the
# Makefile; see fuzz/README.md.
#   make fuzz-build     build/fuzz/<name> for every target
#   make fuzz           fuzz each target FUZZ_SECONDS (30) on a copy of its
#                       corpus, at most FUZZ_JOBS (2) at a time
#   make fuzz-regress   run each target once over its corpus and regressions
#                       (fast and deterministic: part of `make test`)
# FUZZ_TARGETS="match config" picks targets; FUZZ_IGNORE (see the README)
# steps over known, reported bugs.

FUZZ_CC      ?= clang
FUZZ_AR      ?= ar
FUZZ_SECONDS ?= 30
FUZZ_JOBS    ?= 2
FUZZ_TARGETS := config match impact jsonw audit_read tls_frame shell_words binfmt resp redis_url

FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := -g -O1 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(FUZZ_SAN) $(CORE_INC) \
                $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# The static inih, as the shim links it; only the config target pulls it in.
FUZZ_LIBS    := $(shell [ -f "$$(pkg-config --variable=libdir inih 2>/dev/null)/libinih.a" ] && \
                  echo -l:libinih.a || pkg-config --libs inih 2>/dev/null || echo -linih) -lm

# The core, instrumented, as an archive: each target links only the
# modules it calls (config: config*, rule, glob, impact, bucket, ...).
FUZZ_CORE_OBJ := $(CORE_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_CORE_LIB := $(FUZZ_DIR)/libenact_core.a
FUZZ_BINS     := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)
FUZZ_CC_OK    := $(FUZZ_DIR)/.cc-ok-$(notdir $(FUZZ_CC))

.PHONY: fuzz-build fuzz fuzz-regress fuzz-clang
fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) fuzz/run.sh fuzz $(FUZZ_TARGETS)

fuzz-regress: fuzz-build
	@fuzz/run.sh regress $(FUZZ_TARGETS)

# A clear message instead of a compiler error when clang (with libFuzzer)
# is missing; checked once per compiler, remembered in a stamp.
$(FUZZ_CC_OK):
	@mkdir -p $(dir $@)
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || { \
	    echo "fuzz: '$(FUZZ_CC)' not found: the fuzz targets need clang with libFuzzer" \
	         "(Debian: apt-get install clang; 'make deps' installs it)" >&2; exit 1; }
	@printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' | \
	    $(FUZZ_CC) -fsanitize=fuzzer,address,undefined -x c - -o $(FUZZ_DIR)/.clang-probe 2>/dev/null || { \
	    echo "fuzz: '$(FUZZ_CC)' cannot build with -fsanitize=fuzzer,address,undefined" \
	         "(install clang with its compiler-rt: Debian 'apt-get install clang')" >&2; exit 1; }
	@rm -f $(FUZZ_DIR)/.clang-probe
	@touch $@

$(FUZZ_DIR)/obj/%.o: %.c $(CORE_HDR) fuzz/fuzz.mk | $(FUZZ_CC_OK)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_CORE_LIB): $(FUZZ_CORE_OBJ)
	@rm -f $@
	$(FUZZ_AR) rcs $@ $^

$(FUZZ_DIR)/%: fuzz/fuzz_%.c $(FUZZ_CORE_LIB) $(wildcard fuzz/*.h $(CORE_HDR)) fuzz/fuzz.mk \
               | $(FUZZ_CC_OK)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_CORE_LIB) $(FUZZ_LIBS)
