# leakcheck: build, tests, demo, install.
#
#   make            build/libleakcheck.so, build/libleakcheck.a, build/leakcheck
#   make check      install missing Debian packages, build, run every test
#                   (both Check fork modes, under valgrind, the command-line
#                   tests, then the suite under ASan and the thread tests
#                   under TSan: mk/sanitizers.mk)
#   make demo       install missing packages, build, run the scenarios
#   make bench      the side-by-side benchmarks (bench/README.md)
#   make fuzz       fuzz the heap-profile reader (FUZZ_SECONDS, default 30)
#   make stress     the thread and timing suites ten times each under a CPU
#                   hog (tests/stress.sh, STRESS_RUNS=N)
#   make install PREFIX=/usr/local

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   := build
VERSION := 0.1.0

WARN      := -Wall -Wextra -Werror
OPT       ?= -O2
BASE_CFLAGS := -std=gnu11 $(WARN) -g -fno-omit-frame-pointer -pthread -D_GNU_SOURCE
LIB_CFLAGS  := $(BASE_CFLAGS) $(OPT) -fPIC -fvisibility=default -Iinclude -Iharness
LIB_LIBS    := -ldw -lelf -lunwind -lz -ldl -pthread

LIB_SRCS := $(wildcard harness/*.c) $(wildcard assertions/*.c)
LIB_PIC_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))

TOOLKIT_SRCS := $(wildcard scenarios/*.c)
TOOLKIT_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(TOOLKIT_SRCS))
TOOLKIT_LIB  := $(BUILD)/liblctoolkit.a

TOOL_SRCS := $(wildcard tool/*.c)
TOOL_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(TOOL_SRCS))

CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null)

TEST_SRCS  := $(wildcard tests/test_*.c)
TEST_PROGS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
# Tests are built without optimisation so that every static function keeps
# its own frame: they assert on the exact functions reports name.
TEST_CFLAGS = $(BASE_CFLAGS) -O0 -Iinclude -Iharness -Iscenarios $(CHECK_CFLAGS)
RPATH := -Wl,-rpath,'$$ORIGIN/..' -Wl,-rpath,'$$ORIGIN' -Wl,-rpath,'$$ORIGIN/../lib'

# Optional targets kept in their own files (sanitizer builds).
-include mk/*.mk

.PHONY: leakcheck.pc fuzz all deps check check-native check-valgrind check-tools stress demo bench install clean format

all: $(BUILD)/libleakcheck.so $(BUILD)/libleakcheck.a $(BUILD)/leakcheck

deps:
	@bash scripts/install-deps.sh

$(BUILD)/obj/%.o: %.c $(wildcard include/*.h harness/*.h scenarios/*.h tool/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -Iscenarios -Itool -c $< -o $@

# The interposers must not be turned back into calls to the functions they
# define (calloc as malloc + memset, for instance).
$(BUILD)/obj/harness/alloc_hooks.o: LIB_CFLAGS += -fno-builtin

$(BUILD)/libleakcheck.so: $(LIB_PIC_OBJS)
	$(CC) -shared -Wl,-soname,libleakcheck.so -o $@ $^ $(LIB_LIBS)

$(BUILD)/libleakcheck.a: $(LIB_PIC_OBJS)
	rm -f $@ && ar rcs $@ $^

$(TOOLKIT_LIB): $(TOOLKIT_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/leakcheck: $(TOOL_OBJS) $(TOOLKIT_LIB) $(BUILD)/libleakcheck.so
	$(CC) $(BASE_CFLAGS) -o $@ $(TOOL_OBJS) $(TOOLKIT_LIB) -L$(BUILD) -lleakcheck $(RPATH) -lz

$(BUILD)/tests/%: tests/%.c $(TOOLKIT_LIB) $(BUILD)/libleakcheck.so $(wildcard include/*.h tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(TOOLKIT_LIB) -L$(BUILD) -lleakcheck $(RPATH) $(CHECK_LIBS) -lz

tests: $(TEST_PROGS)

check: deps
	@$(MAKE) --no-print-directory check-native check-valgrind check-tools check-sanitizers

check-native: all tests
	@bash tests/run.sh native $(TEST_PROGS)

check-valgrind: all tests
	@bash tests/run.sh valgrind $(TEST_PROGS)

check-tools: all
	@bash tests/run.sh tools

# The suites that involve threads or timing, ten times each (STRESS_RUNS=N)
# with both cores kept busy: any verdict that changes between runs fails.
stress: all tests tsan-build
	@bash tests/stress.sh

demo: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/leakcheck scenarios run -v

bench: all
	bash bench/run.sh

# Fuzz the heap-profile reader for FUZZ_SECONDS (default 30) with libFuzzer.
fuzz:
	bash tests/fuzz.sh

leakcheck.pc: Makefile
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: leakcheck' 'Description: leak-detection harness for C tests (threads and heap)' \
	  'Version: $(VERSION)' 'Libs: -L$${libdir} -lleakcheck' \
	  'Libs.private: $(LIB_LIBS)' 'Cflags: -I$${includedir} -fno-omit-frame-pointer' > $@

install: all leakcheck.pc
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/leakcheck.h include/leakcheck_check.h $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(BUILD)/libleakcheck.so $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(BUILD)/libleakcheck.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 leakcheck.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -m 755 $(BUILD)/leakcheck $(DESTDIR)$(PREFIX)/bin/

format:
	clang-format -i include/*.h harness/*.[ch] assertions/*.c scenarios/*.[ch] tool/*.[ch] tests/*.c bench/*.c

clean:
	rm -rf $(BUILD) leakcheck.pc
