/* test_walrec.c -- unit tests of the write-ahead log's record framing:
 * round trips, every byte of a record damaged in turn, every cut of a
 * record (torn) against damage followed by data (corrupt), zero-filled
 * tails, and a sequence number copied into another position. */
#include "test.h"
#include "walrec.h"
#include "zmalloc.h"

static ds three_records(void) {
    ds s = ds_empty(0);
    walrec_append(&s, 1, "SET a 1", 7);
    walrec_append(&s, 2, "", 0);
    walrec_append(&s, 3, "a longer payload with some bytes \x00\x01\x02", 36);
    return s;
}

TEST(round_trip) {
    ds s = three_records();
    const unsigned char *d = (const unsigned char *)s;
    size_t off = 0;
    uint64_t want = 1;
    walrec r;
    while (off < ds_len(s)) {
        ASSERT(walrec_check(d, ds_len(s), off, &r) == WALREC_OK);
        EXPECT(r.seq == want);
        off += r.size;
        want++;
    }
    EXPECT(want == 4);
    EXPECT(off == ds_len(s));
    ASSERT(walrec_check(d, ds_len(s), 0, &r) == WALREC_OK);
    EXPECT(r.len == 7 && memcmp(r.payload, "SET a 1", 7) == 0);
    ds_free(s);
}

/* A flipped byte anywhere in the first record is caught; with records after
 * it that is corruption, never a torn tail. */
TEST(every_flipped_byte_is_caught) {
    ds s = three_records();
    size_t first = WALREC_HDR + 7;
    for (size_t i = 0; i < first; i++) {
        ds c = ds_dup(s);
        c[i] ^= 0x40;
        walrec r;
        walrec_status st = walrec_check((const unsigned char *)c, ds_len(c), 0, &r);
        if (st == WALREC_OK) {
            /* only a changed sequence number still frames a record; its
             * checksum (seeded with it) must then fail */
            EXPECT(0);
        } else if (i >= 4 && i < 8) {
            /* a damaged length may make the record run past the end */
            EXPECT(st == WALREC_CORRUPT || st == WALREC_TORN);
        } else {
            EXPECT(st == WALREC_CORRUPT);
        }
        EXPECT(r.why != NULL);
        ds_free(c);
    }
    ds_free(s);
}

/* Every prefix of the last record is torn, and so is a bad last record. */
TEST(every_cut_of_the_last_record_is_torn) {
    ds s = three_records();
    size_t last_off = 2 * WALREC_HDR + 7;
    for (size_t cut = last_off + 1; cut < ds_len(s); cut++) {
        walrec r;
        EXPECT(walrec_check((const unsigned char *)s, cut, last_off, &r) == WALREC_TORN);
    }
    ds c = ds_dup(s);
    c[ds_len(c) - 1] ^= 1;
    walrec r;
    EXPECT(walrec_check((const unsigned char *)c, ds_len(c), last_off, &r) == WALREC_TORN);
    EXPECT(strcmp(r.why, "checksum mismatch") == 0);
    ds_free(c);
    ds_free(s);
}

TEST(zero_filled_tail_is_torn_garbage_is_corrupt) {
    ds s = three_records();
    size_t end = ds_len(s);
    s = ds_cat(s, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 32);
    walrec r;
    EXPECT(walrec_check((const unsigned char *)s, ds_len(s), end, &r) == WALREC_TORN);
    s[ds_len(s) - 1] = 'x';
    EXPECT(walrec_check((const unsigned char *)s, ds_len(s), end, &r) == WALREC_CORRUPT);
    ds_free(s);
}

/* A valid record moved to another sequence position fails its checksum. */
TEST(sequence_is_bound_to_the_checksum) {
    ds s = ds_empty(0);
    walrec_append(&s, 7, "payload", 7);
    s[8] = 8; /* sequence 7 -> 8 */
    walrec r;
    EXPECT(walrec_check((const unsigned char *)s, ds_len(s), 0, &r) != WALREC_OK);
    ds_free(s);
}

int main(void) {
    RUN(round_trip);
    RUN(every_flipped_byte_is_caught);
    RUN(every_cut_of_the_last_record_is_torn);
    RUN(zero_filled_tail_is_torn_garbage_is_corrupt);
    RUN(sequence_is_bound_to_the_checksum);
    return TEST_REPORT();
}
