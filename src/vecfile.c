/* vecfile.c -- fixed-size vector records in an anonymous file.
 *
 * What it is: the store of exact vectors for QUANT ... ONDISK collections
 * (vecfile.h gives the contract). One file per collection, opened with
 * O_TMPFILE in the server's directory (or created and unlinked at once), so
 * it never outlives the process and never needs cleaning up; snapshots and
 * the log carry the vectors, the file is only their working copy.
 *
 * Invariants: records 1..nrecords exist in the file (nrecords * size
 * bytes); a record is in use, on the free list, or on the pending list,
 * never two of these; a record on the free list is not read by any forked
 * child (it was freed while none ran, or released after).
 *
 * Complexity: put, get and free are one pwrite/pread or O(1) list work
 * (the lists grow by doubling). Memory: 4 bytes per free or pending record.
 *
 * Naming: vecfile_*; "rec" is a record number (1-based, 0 means none). */
#include "vecfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zmalloc.h"

typedef struct reclist {
    uint32_t *r;
    size_t n, cap;
} reclist;

struct vecfile {
    int fd;
    uint32_t dim;
    size_t size;       /* bytes per record */
    uint32_t nrecords; /* records the file holds */
    reclist freel, pending;
};

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
    return f;
}

void vecfile_close(vecfile *f) {
    if (!f) return;
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

uint32_t vecfile_put(vecfile *f, const float *v) {
    int reuse = f->freel.n > 0;
    if (!reuse && f->nrecords == UINT32_MAX - 1) {
        errno = EFBIG;
        return 0;
    }
    uint32_t rec = reuse ? f->freel.r[f->freel.n - 1] : f->nrecords + 1;
    if (write_all(f->fd, v, f->size, (off_t)(rec - 1) * (off_t)f->size) != 0) {
        /* a failed append may have extended the file: cut it back */
        if (!reuse && ftruncate(f->fd, (off_t)f->nrecords * (off_t)f->size) != 0) errno = EIO;
        return 0;
    }
    if (reuse) f->freel.n--;
    else f->nrecords++;
    return rec;
}

int vecfile_get(const vecfile *f, uint32_t rec, float *out) {
    if (rec == 0 || rec > f->nrecords) return -1;
    char *b = (char *)out;
    size_t n = f->size;
    off_t off = (off_t)(rec - 1) * (off_t)f->size;
    while (n) {
        ssize_t r = pread(f->fd, b, n, off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        b += r;
        n -= (size_t)r;
        off += r;
    }
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
                  (f->pending.r ? zmalloc_size(f->pending.r) : 0);
}
