/* walrec.c -- record framing of the write-ahead log (see walrec.h).
 *
 * Invariants: a record is accepted only when its magic, length and checksum
 * all agree; the checksum is seeded with the sequence number, so a record
 * copied to another position of the sequence does not pass. A damaged
 * record is "torn" only when nothing but zeros can follow it: an append
 * that was cut short can leave a partial record and zero-filled blocks,
 * never valid data after the cut. Anything else is corruption, which the
 * loader refuses instead of silently dropping the rest of the log.
 *
 * Complexity: O(record) per check; O(rest of the file) for the zero scan of
 * a damaged record. Checksums: XXH3-64 from Debian's libxxhash. */
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include "walrec.h"

#include <xxhash.h>

static uint64_t rd64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint32_t rd32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t record_sum(uint64_t seq, const unsigned char *lenbytes, const void *payload, uint32_t len) {
    XXH3_state_t st;
    XXH3_64bits_reset_withSeed(&st, seq);
    XXH3_64bits_update(&st, lenbytes, 4);
    XXH3_64bits_update(&st, payload, len);
    return XXH3_64bits_digest(&st);
}

void walrec_append(ds *out, uint64_t seq, const void *payload, uint32_t len) {
    unsigned char h[WALREC_HDR];
    for (int i = 0; i < 4; i++) {
        h[i] = (unsigned char)(WALREC_MAGIC >> (8 * i));
        h[4 + i] = (unsigned char)(len >> (8 * i));
    }
    for (int i = 0; i < 8; i++) h[8 + i] = (unsigned char)(seq >> (8 * i));
    uint64_t sum = record_sum(seq, h + 4, payload, len);
    for (int i = 0; i < 8; i++) h[16 + i] = (unsigned char)(sum >> (8 * i));
    *out = ds_cat(*out, h, WALREC_HDR);
    *out = ds_cat(*out, payload, len);
}

static int all_zero(const unsigned char *p, size_t from, size_t to) {
    for (size_t i = from; i < to; i++)
        if (p[i]) return 0;
    return 1;
}

walrec_status walrec_check(const unsigned char *data, size_t size, size_t off, walrec *rec) {
    size_t left = size - off;
    const unsigned char *h = data + off;
    rec->size = 0;
    if (left < WALREC_HDR) {
        rec->why = "partial record header";
        return WALREC_TORN;
    }
    uint32_t magic = rd32(h), len = rd32(h + 4);
    if (magic != WALREC_MAGIC || len > WALREC_MAX_PAYLOAD) {
        rec->why = magic != WALREC_MAGIC ? "bad record marker" : "impossible record length";
        return all_zero(data, off, size) ? WALREC_TORN : WALREC_CORRUPT;
    }
    if (len > left - WALREC_HDR) {
        rec->why = "record longer than the file";
        return WALREC_TORN;
    }
    rec->seq = rd64(h + 8);
    rec->payload = h + WALREC_HDR;
    rec->len = len;
    if (record_sum(rec->seq, h + 4, rec->payload, len) != rd64(h + 16)) {
        rec->why = "checksum mismatch";
        return all_zero(data, off + WALREC_HDR + len, size) ? WALREC_TORN : WALREC_CORRUPT;
    }
    rec->size = WALREC_HDR + (size_t)len;
    rec->why = NULL;
    return WALREC_OK;
}
