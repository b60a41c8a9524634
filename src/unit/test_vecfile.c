/* test_vecfile.c -- unit tests for the exact-vector file (vecfile.c).
 *
 * Records round-trip; freed records are reused, deferred ones only after
 * vecfile_release_pending; a forked child reading a record the parent
 * freed (deferred) and then overwrote the free slots of still sees the old
 * vector; bad record numbers and a missing directory fail. */
#include "test.h"
#include "vecfile.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void fill(float *v, uint32_t dim, float base) {
    for (uint32_t i = 0; i < dim; i++) v[i] = base + (float)i;
}

TEST(test_round_trip_and_reuse) {
    vecfile *f = vecfile_open("/tmp", 16);
    ASSERT(f);
    float v[16], out[16];
    uint32_t recs[100];
    for (int i = 0; i < 100; i++) {
        fill(v, 16, (float)i * 100);
        recs[i] = vecfile_put(f, v);
        ASSERT(recs[i] == (uint32_t)i + 1);
    }
    for (int i = 0; i < 100; i += 7) {
        EXPECT(vecfile_get(f, recs[i], out) == 0);
        fill(v, 16, (float)i * 100);
        EXPECT(memcmp(v, out, sizeof(v)) == 0);
    }
    vecfile_free(f, recs[10], 0);
    vecfile_free(f, recs[20], 1); /* deferred: not reused yet */
    fill(v, 16, -1);
    EXPECT(vecfile_put(f, v) == recs[10]);
    EXPECT(vecfile_put(f, v) == 101);
    vecfile_release_pending(f);
    EXPECT(vecfile_put(f, v) == recs[20]);
    vecfile_stats st;
    vecfile_get_stats(f, &st);
    EXPECT(st.records == 101 && st.free == 0 && st.file_bytes == 101 * 64);
    EXPECT(vecfile_get(f, 0, out) == -1 && vecfile_get(f, 102, out) == -1);
    vecfile_free(f, 500, 0); /* ignored */
    vecfile_get_stats(f, &st);
    EXPECT(st.free == 0);
    vecfile_close(f);
    EXPECT(vecfile_open("/nonexistent-dir-phenix", 4) == NULL);
    EXPECT(vecfile_open("/tmp", 0) == NULL);
}

TEST(test_child_sees_its_records) {
    vecfile *f = vecfile_open("/tmp", 8);
    ASSERT(f);
    float v[8], out[8];
    fill(v, 8, 1);
    uint32_t r = vecfile_put(f, v);
    int pipefd[2];
    ASSERT(pipe(pipefd) == 0);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) { /* the child waits for the parent's writes, then reads r */
        char c;
        if (read(pipefd[0], &c, 1) != 1) _exit(2);
        float want[8];
        fill(want, 8, 1);
        _exit(vecfile_get(f, r, out) == 0 && memcmp(out, want, sizeof(want)) == 0 ? 0 : 1);
    }
    vecfile_free(f, r, 1); /* a child runs: deferred */
    fill(v, 8, 99);
    uint32_t r2 = vecfile_put(f, v);
    EXPECT(r2 != r);
    ASSERT(write(pipefd[1], "x", 1) == 1);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(pipefd[0]);
    close(pipefd[1]);
    vecfile_close(f);
}

TEST(test_records_across_chunks) {
    /* 256 KB records: 256 per 64 MB chunk, so 260 records need two chunks */
    uint32_t dim = 65536;
    vecfile *f = vecfile_open("/tmp", dim);
    ASSERT(f);
    float *v = malloc(sizeof(float) * dim), *out = malloc(sizeof(float) * dim);
    for (uint32_t r = 1; r <= 260; r++) {
        fill(v, 8, (float)r); /* the first 8 values tell records apart */
        v[dim - 1] = (float)r;
        if (vecfile_put(f, v) != r) break;
    }
    int ok = 1;
    for (uint32_t r = 250; r <= 260; r++)
        ok &= vecfile_get(f, r, out) == 0 && out[0] == (float)r && out[dim - 1] == (float)r;
    EXPECT(ok);
    vecfile_stats st;
    vecfile_get_stats(f, &st);
    EXPECT(st.records == 260 && st.file_bytes == 260ull * dim * 4);
    free(v);
    free(out);
    vecfile_close(f);
}

int main(void) {
    RUN(test_round_trip_and_reuse);
    RUN(test_child_sees_its_records);
    RUN(test_records_across_chunks);
    return TEST_REPORT();
}
