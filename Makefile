# leakcheck: build, tests, demo, install.
#
#   make            build/libleakcheck.so, build/libleakcheck.a, build/leakcheck
#                   (and build/libleakcheck_internal.a: the same objects, for
#                   the tool and the tests that reach past the public API)
#   make check      install missing Debian packages, build, run every test
#                   (both Check fork modes, under valgrind, the command-line
#                   tests, then the suite under ASan and the thread tests
#                   under TSan: mk/sanitizers.mk)
#   make demo       install missing packages, build, run the scenarios
#   make bench      the side-by-side benchmarks (bench/README.md)
#   make fuzz       fuzz the heap-profile reader (FUZZ_SECONDS, default 30)
#   make check-layers  include lines follow the layer order, and the .so
#                   exports only the public API (docs/architecture.md)
#   make install PREFIX=/usr/local

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   := build
VERSION := 0.1.0

WARN      := -Wall -Wextra -Werror
OPT       ?= -O2
BASE_CFLAGS := -std=gnu11 $(WARN) -g -fno-omit-frame-pointer -pthread -D_GNU_SOURCE
# Hidden by default: the .so exports only what include/leakcheck.h marks
# LC_API and the interposed libc and pthread names.
LIB_CFLAGS  := $(BASE_CFLAGS) $(OPT) -fPIC -fvisibility=hidden -Iinclude -Iharness -Iassertions
LIB_LIBS    := -ldw -lelf -lunwind -lz -ldl -pthread

LIB_SRCS := $(wildcard harness/*.c) $(wildcard assertions/*.c)
LIB_PIC_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
INTERNAL_LIB := $(BUILD)/libleakcheck_internal.a

TOOLKIT_SRCS := $(wildcard scenarios/*.c)
TOOLKIT_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(TOOLKIT_SRCS))
TOOLKIT_LIB  := $(BUILD)/liblctoolkit.a

TOOL_SRCS := $(wildcard tool/*.c)
TOOL_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(TOOL_SRCS))

CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null)

TEST_SRCS  := $(wildcard tests/test_*.c)
TEST_PROGS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
# Tests that call internal functions link the internal archive and not the
# .so, so that a test process holds one copy of the library's state.
INTERNAL_TESTS := test_fault test_heap test_pprof test_suppress
# Tests are built without optimisation so that every static function keeps
# its own frame: they assert on the exact functions reports name.
TEST_CFLAGS = $(BASE_CFLAGS) -O0 -Iinclude -Iharness -Iscenarios $(CHECK_CFLAGS)
RPATH := -Wl,-rpath,'$$ORIGIN/..' -Wl,-rpath,'$$ORIGIN' -Wl,-rpath,'$$ORIGIN/../lib'

# How the tool and the tests that call internals get the library: the
# internal archive, statically (the sanitizer builds override it).
INTERNAL_LINK = $(INTERNAL_LIB) $(LIB_LIBS)

# Optional targets kept in their own files (sanitizer builds).
-include mk/*.mk

.PHONY: leakcheck.pc fuzz all deps check check-native check-valgrind check-tools check-layers demo bench install clean format

all: $(BUILD)/libleakcheck.so $(BUILD)/libleakcheck.a $(INTERNAL_LIB) $(BUILD)/leakcheck

deps:
	@bash scripts/install-deps.sh

$(BUILD)/obj/%.o: %.c $(wildcard include/*.h harness/*.h assertions/*.h scenarios/*.h tool/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -Iscenarios -Itool -c $< -o $@

# The interposers must not be turned back into calls to the functions they
# define (calloc as malloc + memset, for instance).
$(BUILD)/obj/harness/alloc_hooks.o: LIB_CFLAGS += -fno-builtin

$(BUILD)/libleakcheck.so: $(LIB_PIC_OBJS)
	$(CC) -shared -Wl,-soname,libleakcheck.so -o $@ $^ $(LIB_LIBS)

# The static archives hold the library as one relocatable object, so that a
# program that links them gets it whole, as loading the .so gives it:
# start-up, fork handlers and interposers, whichever function it calls.
# libleakcheck.a keeps only the exported names global (as the .so exports
# them); libleakcheck_internal.a keeps every name, for the tool and the tests
# that reach past the public API, which link it instead of the .so.
$(BUILD)/obj/libleakcheck.o: $(LIB_PIC_OBJS)
	$(LD) -r -o $@ $^

$(BUILD)/libleakcheck.a: $(BUILD)/obj/libleakcheck.o
	objcopy --localize-hidden $< $(BUILD)/obj/libleakcheck_public.o
	rm -f $@ && ar rcs $@ $(BUILD)/obj/libleakcheck_public.o

$(INTERNAL_LIB): $(BUILD)/obj/libleakcheck.o
	rm -f $@ && ar rcs $@ $<

$(TOOLKIT_LIB): $(TOOLKIT_OBJS)
	rm -f $@ && ar rcs $@ $^

# The tool holds the library itself (statically): `leakcheck run` preloads
# the .so into the program it starts, never into itself.
$(BUILD)/leakcheck: $(TOOL_OBJS) $(TOOLKIT_LIB) $(INTERNAL_LIB) $(BUILD)/libleakcheck.so
	$(CC) $(BASE_CFLAGS) -o $@ $(TOOL_OBJS) $(TOOLKIT_LIB) $(INTERNAL_LINK) -lz

$(BUILD)/tests/%: tests/%.c $(TOOLKIT_LIB) $(BUILD)/libleakcheck.so $(INTERNAL_LIB) $(wildcard include/*.h harness/*.h tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(TOOLKIT_LIB) \
	  $(if $(filter $*,$(INTERNAL_TESTS)),$(INTERNAL_LINK),-L$(BUILD) -lleakcheck $(RPATH)) \
	  $(CHECK_LIBS) -lz

tests: $(TEST_PROGS)

check: deps
	@$(MAKE) --no-print-directory check-native check-valgrind check-tools check-sanitizers

check-native: all tests
	@bash tests/run.sh native $(TEST_PROGS)

check-valgrind: all tests
	@bash tests/run.sh valgrind $(TEST_PROGS)

check-tools: all
	@bash tests/run.sh tools

# Include lines and the objects' symbols follow the layers of
# docs/architecture.md; the .so exports only the public API and the
# interposed names (both also run, with their failure cases, in
# tests/cli_layers.sh).
check-layers: $(BUILD)/libleakcheck.so
	@bash scripts/check-layers.sh . $(BUILD)/obj && bash scripts/check-exports.sh $(BUILD)/libleakcheck.so

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
	clang-format -i include/*.h harness/*.[ch] assertions/*.[ch] scenarios/*.[ch] tool/*.[ch] tests/*.c bench/*.c

clean:
	rm -rf $(BUILD) leakcheck.pc
