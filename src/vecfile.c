/* vecfile.c -- fixed-size vector records in an anonymous file.
 *
 * What it is: the store of exact vectors for QUANT ... ONDISK collections
 * (vecfile.h gives the contract). One file per collection, opened with
 * O_TMPFILE in the server's directory (or created and unlinked at once), so
 * it never outlives the process and never needs cleaning up; snapshots and
 * the log carry the vectors, the file is only their working copy.
 *
 * Layout: the file is a sequence of 64 MB chunks, each holding
 * floor(64 MB / size) records from its start (the tail of a chunk is a
 * hole); a chunk is added by growing the file (sparse) and mapping the
 * chunk read-only and shared. Writes go through pwrite, so a full disk is
 * an error code; reads are memory copies from the mapping (a pread per
 * rescored candidate costs a system call, which on a virtual machine is
 * several times the distance computation). A forked child inherits the
 * mappings and reads the same pages.
 *
 * Invariants: records 1..nrecords lie in mapped chunks; a record is in
 * use, on the free list, or on the pending list, never two of these; a
 * record on the free list is not read by any forked child (it was freed
 * while none ran, or released after).
 *
 * Complexity: put is one pwrite (plus ftruncate and mmap every 64 MB), get
 * a memcpy, free O(1) list work (the lists grow by doubling). Memory: 4
 * bytes per free or pending record, one pointer per chunk.
 *
 * Naming: vecfile_*; "rec" is a record number (1-based, 0 means none). */
#include "vecfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zmalloc.h"

typedef struct reclist {
    uint32_t *r;
    size_t n, cap;
} reclist;

#define VF_CHUNK ((size_t)64 << 20)

struct vecfile {
    int fd;
    uint32_t dim;
    size_t size;        /* bytes per record */
    uint32_t per_chunk; /* records per chunk */
    uint32_t nrecords;  /* records the file holds */
    uint8_t **maps;     /* the mapped chunks */
    uint32_t nmaps;
    reclist freel, pending;
};

/* Where record rec (>= 1) lives: chunk and byte within it. */
static inline uint32_t rec_chunk(const vecfile *f, uint32_t rec) { return (rec - 1) / f->per_chunk; }
static inline size_t rec_within(const vecfile *f, uint32_t rec) { return (size_t)((rec - 1) % f->per_chunk) * f->size; }

static void list_push(reclist *l, uint32_t rec) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->r = zrealloc(l->r, l->cap * sizeof(uint32_t));
    }
    l->r[l->n++] = rec;
}

vecfile *vecfile_open(const char *dir, uint32_t dim) {
    if (dim == 0) {
        errno = EINVAL;
        return NULL;
    }
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) { /* filesystems without O_TMPFILE */
        char path[4096];
        snprintf(path, sizeof(path), "%s/phenix-vectors-XXXXXX", dir);
        fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0) return NULL;
        unlink(path);
    }
    vecfile *f = zcalloc(sizeof(*f));
    f->fd = fd;
    f->dim = dim;
    f->size = (size_t)dim * sizeof(float);
    f->per_chunk = (uint32_t)(VF_CHUNK / f->size);
    return f;
}

void vecfile_close(vecfile *f) {
    if (!f) return;
    for (uint32_t i = 0; i < f->nmaps; i++) munmap(f->maps[i], VF_CHUNK);
    zfree(f->maps);
    close(f->fd);
    zfree(f->freel.r);
    zfree(f->pending.r);
    zfree(f);
}

/* pwrite of all n bytes at off; -1 with errno on failure. */
static int write_all(int fd, const void *p, size_t n, off_t off) {
    const char *b = p;
    while (n) {
        ssize_t w = pwrite(fd, b, n, off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = EIO;
            return -1;
        }
        b += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

/* Grows the file by one (sparse) chunk and maps it. 0 or -1 with errno. */
static int add_chunk(vecfile *f) {
    off_t end = (off_t)(f->nmaps + 1) * (off_t)VF_CHUNK;
    if (ftruncate(f->fd, end) != 0) return -1;
    void *m = mmap(NULL, VF_CHUNK, PROT_READ, MAP_SHARED, f->fd, end - (off_t)VF_CHUNK);
    if (m == MAP_FAILED) return -1;
    madvise(m, VF_CHUNK, MADV_RANDOM); /* rescoring reads single records */
    f->maps = zrealloc(f->maps, sizeof(uint8_t *) * (f->nmaps + 1));
    f->maps[f->nmaps++] = m;
    return 0;
}

uint32_t vecfile_put(vecfile *f, const float *v) {
    int reuse = f->freel.n > 0;
    if (!reuse && f->nrecords == UINT32_MAX - 1) {
        errno = EFBIG;
        return 0;
    }
    uint32_t rec = reuse ? f->freel.r[f->freel.n - 1] : f->nrecords + 1;
    uint32_t c = rec_chunk(f, rec);
    if (c == f->nmaps && add_chunk(f) != 0) return 0;
    if (write_all(f->fd, v, f->size, (off_t)c * (off_t)VF_CHUNK + (off_t)rec_within(f, rec)) != 0) return 0;
    if (reuse) f->freel.n--;
    else f->nrecords++;
    return rec;
}

int vecfile_get(const vecfile *f, uint32_t rec, float *out) {
    if (rec == 0 || rec > f->nrecords) return -1;
    memcpy(out, f->maps[rec_chunk(f, rec)] + rec_within(f, rec), f->size);
    return 0;
}

void vecfile_free(vecfile *f, uint32_t rec, int deferred) {
    if (rec == 0 || rec > f->nrecords) return;
    list_push(deferred ? &f->pending : &f->freel, rec);
}

void vecfile_release_pending(vecfile *f) {
    for (size_t i = 0; i < f->pending.n; i++) list_push(&f->freel, f->pending.r[i]);
    f->pending.n = 0;
}

void vecfile_get_stats(const vecfile *f, vecfile_stats *out) {
    out->free = f->freel.n + f->pending.n;
    out->records = f->nrecords - out->free;
    out->file_bytes = (uint64_t)f->nrecords * f->size;
    out->memory = zmalloc_size((void *)f) + (f->freel.r ? zmalloc_size(f->freel.r) : 0) +
                  (f->pending.r ? zmalloc_size(f->pending.r) : 0) + (f->maps ? zmalloc_size(f->maps) : 0);
}
