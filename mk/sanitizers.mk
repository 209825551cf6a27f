# SPDX-License-Identifier: MIT
# sanitizers.mk: the suite under AddressSanitizer (with LeakSanitizer) and
# the thread tests under ThreadSanitizer.
#
#   make asan-check        library, toolkit and Check suites built with
#                          -fsanitize=address into build-asan/, run in both
#                          Check fork modes: the verdicts must not change
#   make tsan-check        tests/test_threads.c under -fsanitize=thread
#   make check-sanitizers  both
#
# A program built with a sanitizer calls the sanitizer's malloc, not the
# library's interposers; the library then tracks allocations through the
# sanitizer's hooks (harness/sanitizer.c). These targets show that the
# verdicts are the same either way.

SAN_CC ?= clang
ASAN_BUILD := build-asan
TSAN_BUILD := build-tsan

# Set by the recursive make below: the tests and the tool are built with
# the sanitizer, and the library too unless LC_SANITIZE_LIB=no. Under TSan
# it must not be: the library's thread trampoline runs first in every new
# thread, before the TSan runtime has set the thread up, and instrumented
# code there crashes in __tsan_func_entry. (An installed, uninstrumented
# library is also what a project's TSan build links against.)
LC_SANITIZE_LIB ?= yes
ifneq ($(LC_SANITIZE),)
BASE_CFLAGS += -fsanitize=$(LC_SANITIZE)
TEST_CFLAGS += -fsanitize=$(LC_SANITIZE)
ifeq ($(LC_SANITIZE_LIB),yes)
LIB_CFLAGS += -fsanitize=$(LC_SANITIZE)
endif
# The sanitizer runtime linked into an executable defines malloc there, and
# only a library loaded after it, a shared object, leaves that malloc the
# program's. So in these builds the tool and every test link the .so, as a
# program built with a sanitizer does, and the .so keeps every name visible
# for the tests that call internals.
LIB_CFLAGS += -fvisibility=default
INTERNAL_LINK = -L$(BUILD) -lleakcheck $(RPATH)
endif

# The conservative scanner reads globals, stacks and heap blocks word by
# word, through the redzones ASan puts around them; those reads are the
# point of a scan, not overflows. (Until the scanning functions carry
# __attribute__((no_sanitize("address"))) themselves.)
ifeq ($(LC_SANITIZE),address)
$(BUILD)/obj/harness/runtime_owned.o $(BUILD)/obj/harness/reach.o: LIB_CFLAGS += -fno-sanitize=address
endif

# Excluded from the ASan run, each for a reason of principle:
#  - test_fault: allocation-failure injection happens in the interposers,
#    which never run when the sanitizer's malloc is the program's (its hooks
#    observe allocations, they cannot make one fail).
#  - test_reach: its lost-block tests need the checking thread's dead stack
#    to hold no stale copy of the blocks they lose; ASan's instrumented
#    frames are laid out differently and keep such copies in the check's
#    caller frame (the reports show the path "stack of frame check_now_"),
#    which the tests' stack scrubbing does not reach. The scan itself runs
#    under ASan in test_heap's classification tests and cli_sanitizer.sh.
#  - test_elf_symbols: the ASan runtime linked into the test program
#    intercepts dlclose itself (sanitizer_common's dlopen/dlclose
#    interceptors), so the library's dlclose interposer, which the test
#    specifies, never sees an unload; and its comparison with libdw runs
#    over an executable that carries the runtime's code, where libdw names
#    the crt and ASan thunks at the head of .text differently (84 of the
#    compared addresses). The reader runs under ASan in every suite that
#    reports frames, and this suite runs natively and under valgrind.
ASAN_EXCLUDE := test_fault test_reach test_elf_symbols
# Run in Check's no-fork mode only:
#  - test_heap: its fork-in-a-threaded-program tests fork 20 children while
#    four threads allocate; in Check's fork mode (the test itself a forked
#    child) some of those children hang inside ASan's allocator (clang 14
#    runtime: SizeClassAllocator64::GetFromAllocator waiting on a size-class
#    lock that a thread fork did not copy held), until their alarm kills the
#    test. glibc's malloc takes its locks around fork; ASan 14's does not.
ASAN_NOFORK_ONLY := test_heap
ASAN_ALL_PROGS := $(filter-out $(addprefix $(ASAN_BUILD)/tests/,$(ASAN_EXCLUDE)), \
                    $(patsubst tests/%.c,$(ASAN_BUILD)/tests/%,$(TEST_SRCS)))
ASAN_NOFORK_PROGS := $(filter $(addprefix $(ASAN_BUILD)/tests/,$(ASAN_NOFORK_ONLY)),$(ASAN_ALL_PROGS))
ASAN_TEST_PROGS := $(filter-out $(ASAN_NOFORK_PROGS),$(ASAN_ALL_PROGS))

# LeakSanitizer is off for the suite (detect_leaks=0). Its search at exit
# would fail every suite that leaks on purpose, and its recoverable search
# at each check stops the world with ptrace, which in the children a
# threaded test forks (test_heap's fork tests) ends with the whole test
# program killed. The LSan check at collection points is exercised on its
# own by tests/cli_sanitizer.sh; with it off, reports say so ("lsan":
# {"ran": false}). ASan's handlers for crash signals are off as well: the
# scenario runner's tests crash a child on purpose and check that it is
# reported as killed by its signal, which ASan would turn into exit status 1.
ASAN_RUN_OPTIONS := detect_leaks=0:handle_segv=0:handle_sigbus=0:handle_sigfpe=0

# The sanitizer jobs of `make check` (see CHECK_PLAN in the Makefile).
SAN_BUILD_TARGETS := asan-build tsan-build
SAN_PLAN = asan="$(ASAN_TEST_PROGS)" asan-nofork="$(ASAN_NOFORK_PROGS)" \
           tsan-nofork="$(TSAN_BUILD)/tests/test_threads"
export ASAN_RUN_OPTIONS

.PHONY: asan-check tsan-check check-sanitizers asan-build tsan-build

asan-build:
	@command -v $(SAN_CC) >/dev/null || { echo "asan-build: $(SAN_CC) not found (run make deps)" >&2; exit 1; }
	@$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) CC=$(SAN_CC) LC_SANITIZE=address all tests

asan-check: asan-build
	@echo "== ASan build (excluded: $(ASAN_EXCLUDE); no-fork mode only: $(ASAN_NOFORK_ONLY))"
	@bash tests/run.sh --jobs $(CHECK_JOBS) asan="$(ASAN_TEST_PROGS)" asan-nofork="$(ASAN_NOFORK_PROGS)"

tsan-build:
	@command -v $(SAN_CC) >/dev/null || { echo "tsan-build: $(SAN_CC) not found (run make deps)" >&2; exit 1; }
	@$(MAKE) --no-print-directory BUILD=$(TSAN_BUILD) CC=$(SAN_CC) LC_SANITIZE=thread \
	  LC_SANITIZE_LIB=no $(TSAN_BUILD)/tests/test_threads

# No-fork mode only: in Check's fork mode the TSan build of test_threads
# hangs (clang 14; not yet understood), while no-fork mode finishes in
# seconds.
tsan-check: tsan-build
	@bash tests/run.sh --jobs 1 tsan-nofork="$(TSAN_BUILD)/tests/test_threads"

check-sanitizers:
	@$(MAKE) --no-print-directory asan-check tsan-check
