# ringflow — one non-recursive Makefile.
#
#   make [MODE=release|debug|asan|tsan]   build everything under build/<mode>/
#   make check                            unit tests + integration tests
#   make bench                            benchmarks (numbers go to docs/PERFORMANCE.md)
#   make demo                             the whole pipeline on generated traffic
#   make help                             this list
#
# Conventions that keep this file short:
#   - every .c under the module folders goes into one static library, except
#     files named *_main.c, each of which becomes an executable named after it
#     with '_' turned into '-' (supervisor/ringflow_main.c -> ringflow);
#   - tests/unit/test_X.c is one cmocka binary; tests/bench/bench_X.c one bench.

MODE    ?= release
WERROR  ?= 0
BUILD   := build/$(MODE)
# Release executables land in build/bin/ (the documented place); other modes
# keep theirs apart so a sanitizer build never replaces the release one.
ifeq ($(MODE),release)
BIN     := build/bin
else
BIN     := $(BUILD)/bin
endif

CC      ?= cc
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN    += -Werror
endif
PKG_INC := -I/usr/include/iniparser -I.

ifeq ($(MODE),release)
OPT     := -O2 -g
else ifeq ($(MODE),debug)
OPT     := -O0 -g3
else ifeq ($(MODE),asan)
OPT     := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(MODE),tsan)
OPT     := -O1 -g -fsanitize=thread
else
$(error unknown MODE=$(MODE): use release, debug, asan or tsan)
endif

CFLAGS  := $(CSTD) $(WARN) $(OPT) $(PKG_INC) -MMD -MP $(EXTRA_CFLAGS)
LDFLAGS := $(OPT) $(EXTRA_LDFLAGS)
LIBS    := -lrdkafka -llmdb -lcurl -lmaxminddb -liniparser -lz -lpthread -lm

MODULES   := common shm pipeline ingest transform aggregate writer analyze supervisor
ALL_SRCS  := $(foreach m,$(MODULES),$(wildcard $(m)/*.c)) $(wildcard tests/helpers/*.c)
MAIN_SRCS := $(filter %_main.c,$(ALL_SRCS))
LIB_SRCS  := $(filter-out %_main.c tests/helpers/%,$(ALL_SRCS))
HELPER_LIB_SRCS := $(filter-out %_main.c,$(wildcard tests/helpers/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
HELPER_OBJS := $(HELPER_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIB       := $(BUILD)/libringflow.a
# The analyzer-author library (docs/ANALYZERS.md): analyze/rfa.h and
# rfa_history.h with what they link against (nm: no common/ file). Its
# users add -lcurl -lpthread only if they call rfa_history_query().
RFA_LIB   := $(BUILD)/libringflow-analyzer.a
RFA_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard analyze/rfa_*.c) pipeline/lineproto.c pipeline/lineproto_parse.c)

exe_name   = $(subst _,-,$(patsubst %_main,%,$(notdir $(basename $(1)))))
EXES      := $(foreach s,$(MAIN_SRCS),$(BIN)/$(call exe_name,$(s)))

TEST_SRCS  := $(wildcard tests/unit/test_*.c)
TESTS      := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRCS := $(wildcard tests/bench/bench_*.c)
BENCHES    := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)

.PHONY: all help check unit integration bench demo deps clean install
all: $(EXES) $(TESTS) $(BENCHES) $(RFA_LIB)

help:
	@echo "targets: all check unit integration bench demo deps install clean"
	@echo "options: MODE=release|debug|asan|tsan  WERROR=1"

deps:
	@scripts/install-deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(RFA_LIB): $(RFA_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# One rule per executable: the main object plus the library.
define exe_rule
$(BIN)/$(call exe_name,$(1)): $(BUILD)/obj/$(1:.c=.o) $(LIB) $(HELPER_OBJS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$< $(HELPER_OBJS) $(LIB) $$(LIBS)
endef
$(foreach s,$(MAIN_SRCS),$(eval $(call exe_rule,$(s))))

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LIBS) -lcmocka

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LIBS)

unit: $(TESTS) $(EXES)
	@scripts/run-unit-tests.sh $(BUILD)/tests

integration: $(EXES)
	@BIN=$(abspath $(BIN)) scripts/run-integration-tests.sh

check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integration

bench: deps
	@$(MAKE) --no-print-directory MODE=release all
	@scripts/bench.sh

demo: deps
	@$(MAKE) --no-print-directory MODE=release all
	@scripts/demo.sh

PREFIX ?= /usr/local
install: $(EXES)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN)/ringflow $(BIN)/ringflowctl $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
