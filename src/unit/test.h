/* test.h -- the tiny unit-test framework every src/unit/test_<module>.c uses.
 *
 * A test is a static function declared with TEST(name) and run with RUN(name)
 * from main(). EXPECT(cond) records a failure (file, line, expression) and
 * lets the test go on; ASSERT(cond) records it and returns from the test.
 * A test passes when none of its checks failed. TEST_REPORT() prints the
 * closing line "N passed, N failed" that CI reads and returns the exit code.
 *
 * Naming: the macros are upper case; state lives in file-static variables,
 * so each test binary includes this header exactly once. */
#ifndef PHENIX_UNIT_TEST_H
#define PHENIX_UNIT_TEST_H

#include <stdio.h>
#include <string.h>

static int test_passed_count, test_failed_count, test_current_failed;
static const char *test_current_name;

#define TEST(name) static void name(void)

#define EXPECT(cond)                                                         \
    do {                                                                     \
        if (!(cond)) {                                                       \
            test_current_failed = 1;                                         \
            fprintf(stderr, "  FAIL %s (%s:%d): %s\n", test_current_name,    \
                    __FILE__, __LINE__, #cond);                              \
        }                                                                    \
    } while (0)

#define ASSERT(cond)                                                         \
    do {                                                                     \
        if (!(cond)) {                                                       \
            EXPECT(cond);                                                    \
            return;                                                          \
        }                                                                    \
    } while (0)

#define RUN(name)                                                            \
    do {                                                                     \
        test_current_name = #name;                                           \
        test_current_failed = 0;                                             \
        name();                                                              \
        if (test_current_failed) test_failed_count++;                        \
        else test_passed_count++;                                            \
        printf("[%s] %s\n", test_current_failed ? "err" : "ok", #name);      \
    } while (0)

#define TEST_REPORT()                                                        \
    (printf("%d passed, %d failed\n", test_passed_count, test_failed_count), \
     test_failed_count ? 1 : 0)

#endif
