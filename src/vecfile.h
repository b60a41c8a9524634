/* vecfile.h -- fixed-size vector records in an anonymous file (pure library).
 *
 * The exact fp32 vectors of a collection created with QUANT ... ONDISK: the
 * HNSW graph walks on codes held in memory and only the few candidates it
 * rescores are read back from here (a shared read-only mapping), so the vectors cost disk and
 * page cache, which the kernel reclaims under memory pressure, instead of
 * heap. Records are numbered from 1; record r lives at byte (r - 1) * size.
 *
 * A record is never overwritten while a forked snapshot child may read it:
 * freeing a record with `deferred` puts it on a pending list that only
 * vecfile_release_pending (called when no child runs) moves to the free
 * list that vecfile_put reuses. A child therefore always reads the vectors
 * its copy of the keyspace points at.
 *
 * Errors: functions that can fail return -1 with errno set (ENOSPC, EIO...)
 * and change nothing. Allocation goes through zmalloc. */
#ifndef PHENIX_VECFILE_H
#define PHENIX_VECFILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct vecfile vecfile;

/* Opens an anonymous file in directory dir (O_TMPFILE, or a created and
 * at once unlinked name where O_TMPFILE is refused) for records of dim
 * floats. Returns NULL with errno set on failure. */
vecfile *vecfile_open(const char *dir, uint32_t dim);

/* Closes the file (its space is returned once no process holds it). */
void vecfile_close(vecfile *f);

/* Writes v (dim floats) into a free record or a new one at the end.
 * Returns the record number (>= 1), or 0 with errno set. */
uint32_t vecfile_put(vecfile *f, const float *v);

/* Copies record rec into out. Returns 0, or -1 for a bad record number.
 * (An I/O error of the disk under the mapping raises SIGBUS, as for any
 * mapped file.) */
int vecfile_get(const vecfile *f, uint32_t rec, float *out);

/* Frees record rec: for reuse at once, or with deferred (a snapshot child
 * may still read it) once vecfile_release_pending runs. */
void vecfile_free(vecfile *f, uint32_t rec, int deferred);

/* Makes the deferred records reusable (call when no child reads the file). */
void vecfile_release_pending(vecfile *f);

typedef struct vecfile_stats {
    uint64_t records;     /* records in use */
    uint64_t free;        /* reusable plus pending */
    uint64_t file_bytes;  /* bytes of the records (the file is sparse beyond) */
    uint64_t memory;      /* heap bytes held (lists, the struct) */
} vecfile_stats;

void vecfile_get_stats(const vecfile *f, vecfile_stats *out);

#endif
