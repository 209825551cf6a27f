# SPDX-License-Identifier: MIT
# leakcheck: build, tests, demo, install.
#
#   make              build/libleakcheck.so (+ .so.0), build/libleakcheck.a,
#                     build/leakcheck, build/leakcheck.pc (uninstalled: use
#                     PKG_CONFIG_PATH=build), the man pages in build/man/
#                     (and build/libleakcheck_internal.a: the same objects, for
#                     the tool and the tests that reach past the public API)
#   make deps         install the missing Debian packages (as root)
#   make check        install missing packages, build, run every test: both
#                     Check fork modes, under valgrind, the command-line tests,
#                     the suite under ASan and the thread tests under TSan, as
#                     parallel jobs (CHECK_JOBS, default: the number of CPUs)
#   make check-docs  fail when an output shown in README.md or docs/ is stale
#   make check-layers include lines follow the layer order, and the .so
#                     exports only the public API (docs/architecture.md)
#   make stress       the timing-sensitive suites ten times under a CPU hog
#   make demo         install missing packages, build, run the scenarios
#   make bench        the side-by-side benchmarks (bench/README.md)
#   make fuzz         fuzz the heap-profile reader (FUZZ_SECONDS, default 30)
#   make install      PREFIX=/usr/local [LIBDIR=$(PREFIX)/lib] [DESTDIR=]
#   make uninstall    the same variables as install
#
# Any target that compiles first checks the build dependencies and, when one
# is missing, stops with the list of packages and the command to install them.

.DEFAULT_GOAL := all

CC      ?= cc
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
BINDIR  ?= $(PREFIX)/bin
INCLUDEDIR ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share
MANDIR  ?= $(DATADIR)/man
BUILD   := build
VERSION := 0.1.0
SOVERSION := 0

WARN      := -Wall -Wextra -Werror
OPT       ?= -O2
BASE_CFLAGS := -std=gnu11 $(WARN) -g -fno-omit-frame-pointer -pthread -D_GNU_SOURCE
# Hidden by default: the .so exports only what include/leakcheck.h marks
# LC_API and the interposed libc and pthread names.
LIB_CFLAGS  := $(BASE_CFLAGS) $(OPT) -fPIC -fvisibility=hidden -Iinclude -Iharness -Iassertions
# libdw is not linked into the library: harness/symbolize.c loads it with
# dlopen at the first symbolization outside the supervisor
# (docs/dependencies.md), so neither the .so nor a program linking
# libleakcheck.a needs -ldw or -lelf. The tool links it: under `leakcheck
# run` the supervisor finds the files and lines of the processes' reports
# (tool/holes.c), never the checked program.
LIB_LIBS    := -lunwind -ldl -pthread
TOOL_LIBS   := -ldw -lelf

# The shared library is built under its full version and reached through
# the usual links: the SONAME (what programs record and load) and the
# development name (what -lleakcheck and LD_PRELOAD use).
LIB_SO      := $(BUILD)/libleakcheck.so
LIB_SO_MAJ  := $(LIB_SO).$(SOVERSION)
LIB_SO_REAL := $(LIB_SO).$(VERSION)

LIB_SRCS := $(wildcard harness/*.c) $(wildcard assertions/*.c)
LIB_PIC_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
INTERNAL_LIB := $(BUILD)/libleakcheck_internal.a

# The toolkit (channels, maps, wait groups: include/leakcheck_toolkit.h) is
# a library of its own above libleakcheck, installed for users who write
# Go-like reproductions; it uses the public API only. The built-in
# scenarios written with it belong to the tool (and the tests).
BUILTIN_SRCS := $(wildcard scenarios/sc_*.c) scenarios/registry.c
BUILTIN_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(BUILTIN_SRCS))
BUILTIN_LIB  := $(BUILD)/libleakcheck_builtin.a
TOOLKIT_SRCS := $(filter-out $(BUILTIN_SRCS),$(wildcard scenarios/*.c))
TOOLKIT_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(TOOLKIT_SRCS))
TOOLKIT_LIB  := $(BUILD)/libleakcheck_toolkit.a
TOOLKIT_SO      := $(BUILD)/libleakcheck_toolkit.so
TOOLKIT_SO_MAJ  := $(TOOLKIT_SO).$(SOVERSION)
TOOLKIT_SO_REAL := $(TOOLKIT_SO).$(VERSION)

# Profiles read and compared (`leakcheck diff`): linked into the tool and the
# tests that read profiles, never into the library a checked program loads.
# The wire decoder is generated from profiles/profile.proto by protoc-c.
PROFILES_GEN  := $(BUILD)/gen/profile.pb-c.c
PROFILES_SRCS := $(wildcard profiles/*.c)
PROFILES_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(PROFILES_SRCS)) $(BUILD)/obj/gen/profile.pb-c.o
PROFILES_LIB  := $(BUILD)/libleakcheck_profiles.a
PROFILES_LINK  = $(PROFILES_LIB) -lprotobuf-c -lz
PROFILE_TESTS := test_pprof

TOOL_SRCS := $(wildcard tool/*.c)
TOOL_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(TOOL_SRCS))

CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null)

TEST_SRCS  := $(wildcard tests/test_*.c)
TEST_PROGS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
# Tests that call internal functions link the internal archive and not the
# .so, so that a test process holds one copy of the library's state;
# test_scenarios does through the scenario runner (assertions/scenario_runner.c).
INTERNAL_TESTS := test_child test_elf_symbols test_fault test_heap test_pprof test_scenarios test_spans test_suppress test_threads test_unwind
# Tests are built without optimisation so that every static function keeps
# its own frame: they assert on the exact functions reports name.
TEST_CFLAGS = $(BASE_CFLAGS) -O0 -Iinclude -Iharness -Iassertions -Iscenarios -Iprofiles $(CHECK_CFLAGS)
RPATH := -Wl,-rpath,'$$ORIGIN/..' -Wl,-rpath,'$$ORIGIN' -Wl,-rpath,'$$ORIGIN/../lib'

# Build dependencies are checked once per make invocation, before any
# compiler runs (exported, so recursive makes do not ask again). `check`,
# `demo` and `deps` install them instead, and then recurse; the other goals
# here need nothing but a shell.
NODEPS_GOALS := deps check demo clean uninstall format help
ifneq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
ifndef LC_DEPS_CHECKED
DEPS_TIER := $(if $(filter-out all install $(BUILD)/%,$(or $(MAKECMDGOALS),all)),all,build)
_deps := $(shell bash scripts/install-deps.sh --check --for $(DEPS_TIER) >&2)
ifneq ($(.SHELLSTATUS),0)
$(error stopped before building: Debian packages are missing (listed above))
endif
export LC_DEPS_CHECKED := 1
endif
endif

# How the tool and the tests that call internals get the library: the
# internal archive, statically (the sanitizer builds override it).
INTERNAL_LINK = $(INTERNAL_LIB) $(LIB_LIBS)

.PHONY: fuzz all deps check check-all check-docs check-layers check-native check-valgrind check-tools \
        demo bench install uninstall clean format tests stress man

all: $(LIB_SO) $(LIB_SO_MAJ) $(BUILD)/libleakcheck.a $(INTERNAL_LIB) $(BUILD)/leakcheck \
     $(BUILD)/leakcheck.pc $(TOOLKIT_SO) $(TOOLKIT_SO_MAJ) $(TOOLKIT_LIB) \
     $(BUILD)/leakcheck-toolkit.pc

# Optional targets kept in their own files (sanitizer builds, C++ tests). Included after
# `all` is defined; .DEFAULT_GOAL above makes the order irrelevant anyway.
-include mk/*.mk

deps:
	@bash scripts/install-deps.sh --for all

$(BUILD)/obj/%.o: %.c $(wildcard include/*.h harness/*.h assertions/*.h scenarios/*.h tool/*.h profiles/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -Iscenarios -Itool -Iprofiles -I$(BUILD)/gen -c $< -o $@

$(PROFILES_GEN): profiles/profile.proto
	@mkdir -p $(dir $@)
	protoc-c --proto_path=profiles --c_out=$(dir $@) $<

$(BUILD)/gen/profile.pb-c.h: $(PROFILES_GEN)
$(patsubst %.c,$(BUILD)/obj/%.o,$(PROFILES_SRCS)): $(BUILD)/gen/profile.pb-c.h

# Generated code is compiled as it comes, without -Werror's opinions on it.
$(BUILD)/obj/gen/profile.pb-c.o: $(PROFILES_GEN)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Werror,$(LIB_CFLAGS)) -I$(BUILD)/gen -c $< -o $@

$(PROFILES_LIB): $(PROFILES_OBJS)
	rm -f $@ && ar rcs $@ $^

# The interposers must not be turned back into calls to the functions they
# define (calloc as malloc + memset, for instance).
$(BUILD)/obj/harness/alloc_hooks.o: LIB_CFLAGS += -fno-builtin

# -z now: every symbol bound at load, so that the capture signal's handler
# never runs the lazy binding resolver (and its stack appetite) mid-program.
# -fini names a function that does not exist, so the object has no DT_FINI:
# the C runtime's empty _fini sits at the far end of the code, and calling
# it at exit faulted in one more 64 KB window of code in every forked child
# (destructors run through .fini_array, which this leaves alone).
# -z noseparate-code: the headers, symbol tables and constants share one
# mapping with the code instead of two of their own, so a forked child's
# first 64 KB window of the library's code (its fork handlers) also brings
# in the .gnu.hash that each of its lazily bound calls looks at: a fault
# fewer per child, and two mappings fewer to copy at every fork. The price
# is that those read-only bytes are executable too, as they were by
# default before binutils 2.31; a test harness runs no untrusted input.
LIB_SO_LDFLAGS = -Wl,-z,now -Wl,-z,noseparate-code -Wl,-fini=lc_no_dt_fini
$(LIB_SO_REAL): $(LIB_PIC_OBJS)
	$(CC) -shared -Wl,-soname,libleakcheck.so.$(SOVERSION) $(LIB_SO_LDFLAGS) \
	  -o $@ $^ $(LIB_LIBS)

$(LIB_SO_MAJ) $(LIB_SO): $(LIB_SO_REAL)
	ln -sf $(notdir $<) $@

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

# The toolkit's functions are its public API: visible, unlike the
# library's internals.
$(TOOLKIT_OBJS): LIB_CFLAGS += -fvisibility=default

$(TOOLKIT_LIB): $(TOOLKIT_OBJS)
	rm -f $@ && ar rcs $@ $^

$(TOOLKIT_SO_REAL): $(TOOLKIT_OBJS) $(LIB_SO) $(LIB_SO_MAJ)
	$(CC) -shared -Wl,-soname,libleakcheck_toolkit.so.$(SOVERSION) -Wl,-z,now -o $@ \
	  $(TOOLKIT_OBJS) -L$(BUILD) -lleakcheck -pthread

$(TOOLKIT_SO_MAJ) $(TOOLKIT_SO): $(TOOLKIT_SO_REAL)
	ln -sf $(notdir $<) $@

$(BUILTIN_LIB): $(BUILTIN_OBJS)
	rm -f $@ && ar rcs $@ $^

# The tool holds the library itself (statically): `leakcheck run` preloads
# the .so into the program it starts, never into itself. The scenario
# runner finds the toolkit's probe counter by name (dlsym), as it does in a
# user's program linked with the toolkit's .so.
TOOL_EXPORTS := -Wl,--export-dynamic-symbol=lc_toolkit_probes_enabled
$(BUILD)/leakcheck: $(TOOL_OBJS) $(BUILTIN_LIB) $(TOOLKIT_LIB) $(PROFILES_LIB) $(INTERNAL_LIB) $(LIB_SO) $(LIB_SO_MAJ)
	$(CC) $(BASE_CFLAGS) $(TOOL_EXPORTS) -o $@ $(TOOL_OBJS) $(BUILTIN_LIB) $(TOOLKIT_LIB) \
	  $(PROFILES_LINK) $(INTERNAL_LINK) $(TOOL_LIBS)

# Manual pages, part of `all`: leakcheck(1) is help2man's reading of the
# tool's own --help (scripts/man-help.sh) and docs/man/leakcheck.1.h2m,
# leakcheck(3) is written by hand. A page groff warns about is an error.
all: $(BUILD)/man/leakcheck.1 $(BUILD)/man/leakcheck.3
MAN_CHECK = w=$$(groff -ww -man -z $@.tmp 2>&1); [ -z "$$w" ] || { echo "$$w" >&2; exit 1; }; mv $@.tmp $@

$(BUILD)/man/leakcheck.1: $(BUILD)/leakcheck scripts/man-help.sh docs/man/leakcheck.1.h2m
	@mkdir -p $(dir $@)
	LEAKCHECK=$(BUILD)/leakcheck help2man -N -s 1 -m 'leakcheck manual' -o $@.tmp \
	  -n 'leak checks for C programs and their test suites' -i docs/man/leakcheck.1.h2m \
	  scripts/man-help.sh
	@$(MAN_CHECK)

$(BUILD)/man/leakcheck.3: docs/man/leakcheck.3
	@mkdir -p $(dir $@)
	cp $< $@.tmp
	@$(MAN_CHECK)

$(BUILD)/tests/%: tests/%.c $(BUILTIN_LIB) $(TOOLKIT_LIB) $(PROFILES_LIB) $(LIB_SO) $(LIB_SO_MAJ) $(INTERNAL_LIB) $(wildcard include/*.h harness/*.h profiles/*.h tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(TOOL_EXPORTS) -o $@ $< $(BUILTIN_LIB) $(TOOLKIT_LIB) \
	  $(if $(filter $*,$(PROFILE_TESTS)),$(PROFILES_LINK)) \
	  $(if $(filter $*,$(INTERNAL_TESTS)),$(INTERNAL_LINK),-L$(BUILD) -lleakcheck $(RPATH)) \
	  $(if $(filter $*,test_unwind),$(BUILD)/tests/no_frame_pointers.o) \
	  $(CHECK_LIBS)

tests: $(TEST_PROGS)

# Code built as the C runtime is, without frame pointers, for test_unwind.
$(BUILD)/tests/test_unwind: $(BUILD)/tests/no_frame_pointers.o
$(BUILD)/tests/no_frame_pointers.o: tests/fixtures/no_frame_pointers.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O2 -fomit-frame-pointer -c -o $@ $<

# The shared library test_elf_symbols loads and unloads.
$(BUILD)/tests/test_elf_symbols: $(BUILD)/tests/libsymbols_plugin.so
$(BUILD)/tests/libsymbols_plugin.so: tests/fixtures/symbols_plugin.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O1 -fPIC -shared -o $@ $<

# pkg-config files: the uninstalled one points at this checkout (headers in
# include/, the library in build/, with an rpath so that a test compiled
# against it runs without LD_LIBRARY_PATH); the installed one at PREFIX.
# Both name the valgrind suppression file and, beside it, the stylesheet that
# turns Check's XML log into JUnit, for the CI recipes (docs/ci.md):
#   valgrind --suppressions=$(pkg-config --variable=suppressions leakcheck) ...
#   xsltproc $(pkg-config --variable=check_junit leakcheck) check.xml
define pc_file
prefix=$(1)
libdir=$(2)
includedir=$(3)
suppressions=$(4)
check_junit=$(dir $(4))check-junit.xsl

Name: leakcheck
Description: leak-detection harness for C tests (threads and heap)
Version: $(VERSION)
Libs: -L$${libdir} $(if $(5),$(5) )-lleakcheck
Libs.private: $(LIB_LIBS)
Cflags: -I$${includedir} -fno-omit-frame-pointer
endef

$(BUILD)/leakcheck.pc: export PC_TEXT = $(call pc_file,$(CURDIR),$${prefix}/$(BUILD),$${prefix}/include,$${prefix}/scripts/leakcheck.supp,-Wl$(comma)-rpath$(comma)$${libdir})
$(BUILD)/leakcheck.pc: Makefile
	@mkdir -p $(dir $@)
	@printf '%s\n' "$$PC_TEXT" >$@
	@echo "wrote $@ (use PKG_CONFIG_PATH=$(BUILD))"

$(BUILD)/install/leakcheck.pc: export PC_TEXT = $(call pc_file,$(PREFIX),$(call under_prefix,$(LIBDIR)),$(call under_prefix,$(INCLUDEDIR)),$(call under_prefix,$(DATADIR))/leakcheck/leakcheck.supp,)
$(BUILD)/install/leakcheck.pc: Makefile FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' "$$PC_TEXT" >$@

# The toolkit's: it requires leakcheck, whose flags pkg-config adds.
define toolkit_pc_file
prefix=$(1)
libdir=$(2)
includedir=$(3)

Name: leakcheck-toolkit
Description: Go-like channels, maps and wait groups for leak reproductions (leakcheck)
Version: $(VERSION)
Requires: leakcheck
Libs: -L$${libdir} $(if $(4),$(4) )-lleakcheck_toolkit
Cflags: -I$${includedir}
endef

$(BUILD)/leakcheck-toolkit.pc: export PC_TEXT = $(call toolkit_pc_file,$(CURDIR),$${prefix}/$(BUILD),$${prefix}/include,-Wl$(comma)-rpath$(comma)$${libdir})
$(BUILD)/leakcheck-toolkit.pc: Makefile
	@mkdir -p $(dir $@)
	@printf '%s\n' "$$PC_TEXT" >$@

$(BUILD)/install/leakcheck-toolkit.pc: export PC_TEXT = $(call toolkit_pc_file,$(PREFIX),$(call under_prefix,$(LIBDIR)),$(call under_prefix,$(INCLUDEDIR)),)
$(BUILD)/install/leakcheck-toolkit.pc: Makefile FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' "$$PC_TEXT" >$@

comma := ,
# A directory under PREFIX, written relative to ${prefix} as pkg-config files are.
under_prefix = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
FORCE:

# The test jobs of `make check`, run side by side by tests/run.sh (one
# progress line per test binary and mode). CHECK_JOBS defaults to the number
# of CPUs.
CHECK_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# The suites that allocate most, and the threads suite, again with glibc's
# malloc under the header store instead of the library's own allocator.
GLIBC_PROGS = $(addprefix $(BUILD)/tests/,test_heap test_check_integration test_reach test_threads)
CHECK_PLAN = native="$(TEST_PROGS)" glibc="$(GLIBC_PROGS)" valgrind="$(TEST_PROGS)" tools docs

check: deps
	@$(MAKE) --no-print-directory -j$(CHECK_JOBS) check-all

check-all: all tests $(SAN_BUILD_TARGETS)
	@bash tests/run.sh --jobs $(CHECK_JOBS) $(CHECK_PLAN) $(SAN_PLAN)

check-native: all tests
	@bash tests/run.sh --jobs $(CHECK_JOBS) native="$(TEST_PROGS)"

check-valgrind: all tests
	@bash tests/run.sh --jobs $(CHECK_JOBS) valgrind="$(TEST_PROGS)"

check-tools: all
	@bash tests/run.sh --jobs $(CHECK_JOBS) tools

stress: all tests $(SAN_BUILD_TARGETS)
	@bash tests/stress.sh

# Include lines and the objects' symbols follow the layers of
# docs/architecture.md; the .so exports only the public API and the
# interposed names (both also run, with their failure cases, in
# tests/cli_layers.sh).
check-layers: $(BUILD)/libleakcheck.so
	@bash scripts/check-layers.sh . $(BUILD)/obj && bash scripts/check-exports.sh $(BUILD)/libleakcheck.so && bash scripts/check-exports.sh $(TOOLKIT_SO)

# The suites that involve threads or timing, ten times each (STRESS_RUNS=N)
# with both cores kept busy: any verdict that changes between runs fails.
demo: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/leakcheck scenarios run -v

bench: all
	bash bench/run.sh

# Every output shown in README.md and docs/*.md must be what the current
# build prints (scripts/update-docs.sh regenerates them).
check-docs: all tests
	bash scripts/update-docs.sh --check

# Fuzz the heap-profile reader for FUZZ_SECONDS (default 30) with libFuzzer.
fuzz:
	bash tests/fuzz.sh

# Installation follows the library conventions: the real file, the SONAME
# link and the development link; headers, pkg-config file, tool, man pages,
# the valgrind suppression file and the Check-to-JUnit stylesheet. ldconfig
# runs when installing into the live system as root, so the library is found
# at once.
INSTALL_HEADERS := $(wildcard include/*.h)

install: all $(BUILD)/install/leakcheck.pc $(BUILD)/install/leakcheck-toolkit.pc
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(BINDIR) \
	  $(DESTDIR)$(DATADIR)/leakcheck
	install -m 644 $(INSTALL_HEADERS) $(DESTDIR)$(INCLUDEDIR)/
	install -m 755 $(LIB_SO_REAL) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(LIB_SO_REAL)) $(DESTDIR)$(LIBDIR)/libleakcheck.so.$(SOVERSION)
	ln -sf libleakcheck.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libleakcheck.so
	install -m 644 $(BUILD)/libleakcheck.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(TOOLKIT_SO_REAL) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(TOOLKIT_SO_REAL)) $(DESTDIR)$(LIBDIR)/libleakcheck_toolkit.so.$(SOVERSION)
	ln -sf libleakcheck_toolkit.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libleakcheck_toolkit.so
	install -m 644 $(TOOLKIT_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 644 $(BUILD)/install/leakcheck.pc $(BUILD)/install/leakcheck-toolkit.pc \
	  $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 755 $(BUILD)/leakcheck $(DESTDIR)$(BINDIR)/
	install -m 644 scripts/leakcheck.supp scripts/check-junit.xsl $(DESTDIR)$(DATADIR)/leakcheck/
	@set -e; for page in $(wildcard $(BUILD)/man/*.[0-9]); do \
	  sect=$${page##*.}; install -d $(DESTDIR)$(MANDIR)/man$$sect; \
	  install -m 644 $$page $(DESTDIR)$(MANDIR)/man$$sect/; done
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
	  echo ldconfig; ldconfig; fi

uninstall:
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/,$(notdir $(INSTALL_HEADERS)))
	rm -f $(DESTDIR)$(LIBDIR)/libleakcheck.so $(DESTDIR)$(LIBDIR)/libleakcheck.so.$(SOVERSION) \
	  $(DESTDIR)$(LIBDIR)/libleakcheck.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libleakcheck.a \
	  $(DESTDIR)$(LIBDIR)/pkgconfig/leakcheck.pc $(DESTDIR)$(BINDIR)/leakcheck \
	  $(DESTDIR)$(LIBDIR)/libleakcheck_toolkit.so $(DESTDIR)$(LIBDIR)/libleakcheck_toolkit.a \
	  $(DESTDIR)$(LIBDIR)/libleakcheck_toolkit.so.$(SOVERSION) \
	  $(DESTDIR)$(LIBDIR)/libleakcheck_toolkit.so.$(VERSION) \
	  $(DESTDIR)$(LIBDIR)/pkgconfig/leakcheck-toolkit.pc \
	  $(DESTDIR)$(MANDIR)/man1/leakcheck.1 $(DESTDIR)$(MANDIR)/man3/leakcheck.3
	rm -rf $(DESTDIR)$(DATADIR)/leakcheck
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
	  echo ldconfig; ldconfig; fi

format:
	clang-format -i include/*.h harness/*.[ch] assertions/*.[ch] scenarios/*.[ch] tool/*.[ch] tests/*.c bench/*.c

clean:
	rm -rf $(BUILD) leakcheck.pc
