/* serial.h -- the value codec shared by DUMP/RESTORE, snapshots and log
 * rewrites: a byte writer (appends to a ds), a bounds-checked reader, and
 * the encoding of one value of every type. See serial.c for the format. */
#ifndef PHENIX_SERIAL_H
#define PHENIX_SERIAL_H

#include "server.h"

/* Version of the value encoding (DUMP payloads and snapshot key records).
 * A reader accepts every version <= this one. */
#define SERIAL_VERSION 1

/* Value type tags on disk (independent of OBJ_* numbers in memory). */
enum { SER_STRING = 0, SER_LIST = 1, SER_SET = 2, SER_ZSET = 3, SER_HASH = 4, SER_ENTITY = 5 };

/* How entities are encoded: DUMP carries the vector as given and the
 * entity's edges; a snapshot leaves vectors of HNSW-indexed entities to
 * the graph section and edges to the edge section. */
enum { SER_MODE_DUMP = 0, SER_MODE_SNAPSHOT = 1 };

/* ---- writer: appends to *out (a ds the caller owns) ---- */
void ser_put_u8(ds *out, uint8_t v);
void ser_put_u32(ds *out, uint32_t v);
void ser_put_u64(ds *out, uint64_t v);
void ser_put_varint(ds *out, uint64_t v);
void ser_put_f64(ds *out, double v);
void ser_put_f32s(ds *out, const float *v, size_t n);
/* varint length, then the bytes */
void ser_put_bytes(ds *out, const void *p, size_t len);

/* ---- reader: every get fails (returns 0 and sets r->err) past the end;
 * once failed, later gets fail too, so callers may check once at the end
 * of a record, but must not use the values read after a failure ---- */
typedef struct ser_reader {
    const unsigned char *p, *end;
    int err;
} ser_reader;

void ser_reader_init(ser_reader *r, const void *p, size_t len);
int ser_get_u8(ser_reader *r, uint8_t *v);
int ser_get_u32(ser_reader *r, uint32_t *v);
int ser_get_u64(ser_reader *r, uint64_t *v);
int ser_get_varint(ser_reader *r, uint64_t *v);
int ser_get_f64(ser_reader *r, double *v);
/* n floats into out (unaligned source) */
int ser_get_f32s(ser_reader *r, float *out, size_t n);
/* Borrowed view of a length-prefixed byte string, valid as long as the
 * reader's buffer. */
int ser_get_bytes(ser_reader *r, const char **p, size_t *len);
static inline size_t ser_remaining(const ser_reader *r) { return r->err ? 0 : (size_t)(r->end - r->p); }

/* Appends the encoding of value o to *out (mode: SER_MODE_*). */
void serial_encode_value(ds *out, const pobj *o, int mode);
/* Decodes one value for key (in db d: entities attach to the collection
 * of their key's prefix). Returns a new object the caller stores or
 * frees, or NULL with *err set to a static message (r->err set when the
 * input was short or malformed). Entities decoded in SER_MODE_DUMP keep
 * their edges aside: entity_restore_edges adds them once the key is in the
 * keyspace. */
pobj *serial_decode_value(ser_reader *r, db *d, const char *key, size_t klen, int mode, const char **err);

/* DUMP payload: value || u16 SERIAL_VERSION || u64 XXH3-64 of the bytes
 * before it. */
ds serial_dump_payload(const pobj *o);
/* Checks a DUMP payload's footer. Returns 0 and the value's bytes in
 * *body and *blen, or -1. */
int serial_check_payload(const char *p, size_t len, const char **body, size_t *blen);
/* Tests only: accept payloads whatever their checksum, so that a fuzzer
 * reaches the decoder (the decoder alone must then refuse bad input). */
void serial_set_skip_checksum(int on);

/* ---- entities and collections (t_entity.c) ---- */
/* One entity value: encoding (t_entity.c's persistence section says the
 * format) and decoding for key in d (NULL + *err when refused). */
void entity_encode(ds *out, const pobj *o, int mode);
pobj *entity_decode(ser_reader *r, db *d, const char *key, size_t klen, int mode, const char **err);
/* Collections of d and the PH.CREATE arguments that recreate collection i. */
int entity_collection_count(db *d);
void entity_collection_args(db *d, int i, ds *out);
/* The HNSW graph of collection i of d, streamed: the header (returns the
 * node count, -1 without a graph) then nodes [from, to). */
long long entity_graph_export_begin(db *d, int i, ds *out);
void entity_graph_export_nodes(db *d, int i, uint32_t from, uint32_t to, ds *out);
/* Import of one graph: header, node blocks, finish (installs it); abort
 * drops a partial import. 0, or -1 with *err. */
int entity_graph_import_begin(db *d, ser_reader *r, const char **err);
int entity_graph_import_nodes(ser_reader *r, const char **err);
int entity_graph_import_finish(const char **err);
void entity_graph_import_abort(void);
/* After a snapshot load: attaches the entities that waited for their
 * graph, rebuilds field indexes, checks graph sizes (0 or -1); abort
 * forgets the waiting list after a failed load. */
int entity_load_finish(void);
void entity_load_abort(void);

#endif
