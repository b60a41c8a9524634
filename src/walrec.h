/* walrec.h -- the write-ahead log's record framing (pure library).
 *
 * A record: u32 magic "PHXR", u32 payload length, u64 sequence number,
 * u64 XXH3-64 seeded with the sequence number over the length and the
 * payload, then the payload. Little-endian. walrec_check classifies what
 * starts at an offset of a log file: a valid record, a torn tail (what an
 * interrupted append leaves: a partial record, or zeros the file system
 * allocated but never filled, up to the end of the file), or corruption
 * (a damaged record with data after it). */
#ifndef PHENIX_WALREC_H
#define PHENIX_WALREC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define WALREC_MAGIC 0x52584850u /* "PHXR" little-endian */
#define WALREC_HDR 24
#define WALREC_MAX_PAYLOAD (1u << 30)

typedef enum walrec_status {
    WALREC_OK = 0,      /* a valid record */
    WALREC_TORN = 1,    /* an incomplete or damaged record with nothing valid after it */
    WALREC_CORRUPT = 2, /* a damaged record followed by data */
} walrec_status;

typedef struct walrec {
    uint64_t seq;
    const unsigned char *payload; /* borrowed from the buffer checked */
    uint32_t len;
    size_t size;     /* WALREC_HDR + len, for WALREC_OK */
    const char *why; /* what is wrong, for TORN and CORRUPT (static text) */
} walrec;

/* Appends one framed record holding payload[0..len) to *out. */
void walrec_append(ds *out, uint64_t seq, const void *payload, uint32_t len);
/* Classifies the bytes at data[off..size): fills *rec. off < size. */
walrec_status walrec_check(const unsigned char *data, size_t size, size_t off, walrec *rec);

#endif
