/* SPDX-License-Identifier: MIT */
/* sanitizer.h: whether a test suite is built with a sanitizer, and which.
 * A sanitizer brings an allocator of its own (no header store, no block of
 * glibc's) and a runtime that takes resources of its own (a thread-specific
 * key); ThreadSanitizer also slows every thread's step. The tests that
 * depend on it ask here, once, rather than each spelling out the compilers'
 * two ways of saying it. */
#ifndef LC_TESTS_SANITIZER_H
#define LC_TESTS_SANITIZER_H

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LC_TEST_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||                         \
    __has_feature(memory_sanitizer) || __has_feature(leak_sanitizer)
#define LC_TEST_SANITIZER 1
#endif
#endif
#ifndef LC_TEST_SANITIZER
#define LC_TEST_SANITIZER 0
#endif

#if defined(__SANITIZE_THREAD__)
#define LC_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LC_TEST_TSAN 1
#endif
#endif
#ifndef LC_TEST_TSAN
#define LC_TEST_TSAN 0
#endif

#endif
