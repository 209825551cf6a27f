# SPDX-License-Identifier: MIT
# cxx.mk: the C++ tests (run by tests/cli_cxx.sh).
#
#   make cxx-tests   tests/cxx_api.cc with g++ and clang++ in C++11, C++17
#                    and C++20 (the public headers must compile as C++ with
#                    -Wall -Wextra -Werror in each), and the GoogleTest
#                    listener's test, tests/cxx_gtest.cc
#
# Part of `make tests` for the native build; the sanitizer trees leave
# them out.

CXX_STDS := 11 17 20
CXX_API_PROGS := $(foreach std,$(CXX_STDS),$(BUILD)/tests/cxx_api_gxx_$(std) \
                   $(BUILD)/tests/cxx_api_clangxx_$(std))
CXX_GTEST_PROG := $(BUILD)/tests/cxx_gtest
CXX_TEST_FLAGS = $(WARN) -g -O0 -fno-omit-frame-pointer -pthread -Iinclude $(CHECK_CFLAGS)

$(BUILD)/tests/cxx_api_gxx_%: tests/cxx_api.cc $(BUILD)/libleakcheck.so $(wildcard include/*.h)
	@mkdir -p $(dir $@)
	g++ -std=c++$* $(CXX_TEST_FLAGS) -o $@ $< -L$(BUILD) -lleakcheck $(RPATH) $(CHECK_LIBS)

$(BUILD)/tests/cxx_api_clangxx_%: tests/cxx_api.cc $(BUILD)/libleakcheck.so $(wildcard include/*.h)
	@mkdir -p $(dir $@)
	clang++ -std=c++$* $(CXX_TEST_FLAGS) -o $@ $< -L$(BUILD) -lleakcheck $(RPATH) $(CHECK_LIBS)

# GoogleTest 1.12 (Debian's libgtest-dev) needs C++14.
$(CXX_GTEST_PROG): tests/cxx_gtest.cc $(BUILD)/libleakcheck.so $(wildcard include/*.h)
	@mkdir -p $(dir $@)
	g++ -std=c++14 $(CXX_TEST_FLAGS) -o $@ $< -L$(BUILD) -lleakcheck $(RPATH) -lgtest

.PHONY: cxx-tests
cxx-tests: $(CXX_API_PROGS) $(CXX_GTEST_PROG)

ifeq ($(LC_SANITIZE),)
tests: cxx-tests
# The command-line tests run the test programs (cli_cxx.sh, cli_check_logs.sh).
check-tools: tests
endif
