/* script_libs.c -- the cmsgpack and struct libraries of the Lua sandbox:
 * the two libraries Redis scripts have that Debian does not package for
 * Lua 5.1 (cjson and bit come from Debian, see script.c). Pure: only Lua's
 * C API, no server header; script.c opens both as read-only globals.
 *
 * cmsgpack (MessagePack, spec: github.com/msgpack/msgpack spec.md).
 *   pack(v1, ...) returns the concatenated encodings of its arguments:
 *   nil; booleans; numbers that are integral and inside int64 as the
 *   smallest integer format (positive fixint / uint8..64 when >= 0,
 *   negative fixint / int8..64 below), other numbers as float32 when the
 *   value survives the round trip through a float, else float64; strings
 *   as fixstr / str8 / str16 / str32; tables as arrays when their keys are
 *   exactly 1..n (the empty table is an empty array), else maps in lua_next
 *   order; a table 16 levels down (MP_MAX_NESTING), functions, threads and
 *   userdata as nil. unpack(s) returns every value of s; unpack_one(s
 *   [, offset]) and unpack_limit(s, limit [, offset]) decode at most 1 or
 *   limit values from byte offset (0-based) and return first the offset of
 *   the next value, -1 when the input is used up. Errors, as Redis words
 *   them: "Missing bytes in input." (truncated), "Bad data format in
 *   input." (0xc1, ext types), "table index is nil/NaN" (a map key),
 *   "stack overflow (...)" when the values or the nesting exceed the Lua
 *   stack (LUAI_MAXCSTACK, 8000 slots: about 7999 top-level values or
 *   3999 nesting levels, as in Redis: each level holds its table and a key).
 *
 * struct (Roberto Ierusalimschy's struct library, the format Redis ships):
 *   pack(fmt, ...), unpack(fmt, s [, pos]) (values then the position after
 *   them, 1-based), size(fmt). Format: ' ' ignored, '<' little and '>' big
 *   endian (native, little on x86-64, by default), '!n' maximum alignment
 *   n (power of 2; '!' alone = the native 8; default 1: none), 'x' a zero
 *   byte, b B h H l L T (char, short, long, size_t: 1 2 8 8 bytes, signed
 *   lower case), i[n] I[n] (n bytes, 4 by default, at most 32), f d (float,
 *   double), s (zero-terminated string), c[n] (n bytes, 1 by default; c0:
 *   the whole string when packing, the previous unpacked number as the
 *   length when unpacking, that number not returned). An item of size k
 *   is aligned to min(k, n) bytes from the start of the data (strings and
 *   c never are). '=' is refused as by Redis's copy.
 *
 * Invariants: every read of the input is bounds-checked against the bytes
 * left (declared lengths are never trusted: an array of 2^32 elements
 * costs nothing until its elements are read); every Lua stack push is
 * covered by a luaL_checkstack; no C allocation outlives a Lua error (the
 * pack buffer is a userdata whose __gc frees it); no double-to-integer
 * conversion is undefined (out-of-range numbers are clamped to what
 * x86-64's conversion instruction gives, which is what Redis produces).
 *
 * Deviation from Redis 7.0 (the reference the tests compare with): bin
 * 8/16/32 decode as strings (Redis refuses them as bad format). Kept as
 * Redis, quirks included: uint64 values are decoded through int64 (0xcf
 * ff..ff gives -1); i[n] with n > 8 unpacks the low 8 bytes, sign-extended
 * from bit (8n-1) mod 64; 'c' "string too short" names the argument after
 * the string.
 *
 * Complexity: pack and unpack are linear in the encoded size (pack scans a
 * table twice: once to classify and count, once to encode).
 *
 * Naming: mp_* MessagePack, st_* struct; the two luaopen functions carry
 * the script_ prefix (script_libs.h). Origins: the MessagePack spec, the
 * struct library's manual (inf.puc-rio.br/~roberto/struct), and the
 * observed behaviour of Redis 7.0's sandbox; the code is this project's
 * own. */
#include "script_libs.h"

#include <limits.h>
#include <lua5.1/lauxlib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ================= cmsgpack ================= */

#define MP_MAX_NESTING 16 /* tables this deep are packed as nil */
#define MP_BUF_META "phenix.cmsgpack.buffer"

/* The growing output of pack, in memory from the state's allocator. */
typedef struct mp_buf {
    unsigned char *p;
    size_t len, cap;
} mp_buf;

static void mp_buf_release(lua_State *L, mp_buf *b) {
    if (!b->p) return;
    void *ud;
    lua_Alloc alloc = lua_getallocf(L, &ud);
    alloc(ud, b->p, b->cap, 0);
    b->p = NULL;
    b->len = b->cap = 0;
}

static int mp_buf_gc(lua_State *L) {
    mp_buf_release(L, lua_touserdata(L, 1));
    return 0;
}

/* Pushes a new empty buffer (a userdata freed by the collector if an error
 * unwinds pack). */
static mp_buf *mp_buf_new(lua_State *L) {
    mp_buf *b = lua_newuserdata(L, sizeof(*b));
    b->p = NULL;
    b->len = b->cap = 0;
    luaL_getmetatable(L, MP_BUF_META);
    lua_setmetatable(L, -2);
    return b;
}

static void mp_buf_append(lua_State *L, mp_buf *b, const void *data, size_t n) {
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2) luaL_error(L, "not enough memory");
            cap *= 2;
        }
        void *ud;
        lua_Alloc alloc = lua_getallocf(L, &ud);
        unsigned char *p = alloc(ud, b->p, b->cap, cap);
        if (!p) luaL_error(L, "not enough memory");
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

/* Appends tag followed by the nbytes low bytes of v, big-endian. */
static void mp_put(lua_State *L, mp_buf *b, unsigned tag, uint64_t v, int nbytes) {
    unsigned char out[9];
    out[0] = (unsigned char)tag;
    for (int i = 0; i < nbytes; i++) out[1 + i] = (unsigned char)(v >> (8 * (nbytes - 1 - i)));
    mp_buf_append(L, b, out, 1 + (size_t)nbytes);
}

/* Appends a header for a length: the fix form (fixtag | len) when len <=
 * fixmax, else tag8 / tag16 / tag32 (tag8 0 when the type has none). */
static void mp_put_len(lua_State *L, mp_buf *b, size_t len, unsigned fixtag, size_t fixmax, unsigned tag8,
                       unsigned tag16, unsigned tag32) {
    if (len <= fixmax)
        mp_put(L, b, fixtag | (unsigned)len, 0, 0);
    else if (tag8 && len <= 0xff)
        mp_put(L, b, tag8, len, 1);
    else if (len <= 0xffff)
        mp_put(L, b, tag16, len, 2);
    else if (len <= 0xffffffffu)
        mp_put(L, b, tag32, len, 4);
    else
        luaL_error(L, "MessagePack cannot encode more than 2^32-1 bytes or elements");
}

static void mp_encode_int(lua_State *L, mp_buf *b, int64_t v) {
    if (v >= 0) {
        uint64_t u = (uint64_t)v;
        if (u <= 0x7f)
            mp_put(L, b, (unsigned)u, 0, 0);
        else if (u <= 0xff)
            mp_put(L, b, 0xcc, u, 1);
        else if (u <= 0xffff)
            mp_put(L, b, 0xcd, u, 2);
        else if (u <= 0xffffffffu)
            mp_put(L, b, 0xce, u, 4);
        else
            mp_put(L, b, 0xcf, u, 8);
    } else if (v >= -32) {
        mp_put(L, b, (unsigned char)v, 0, 0);
    } else if (v >= INT8_MIN) {
        mp_put(L, b, 0xd0, (uint64_t)v, 1);
    } else if (v >= INT16_MIN) {
        mp_put(L, b, 0xd1, (uint64_t)v, 2);
    } else if (v >= INT32_MIN) {
        mp_put(L, b, 0xd2, (uint64_t)v, 4);
    } else {
        mp_put(L, b, 0xd3, (uint64_t)v, 8);
    }
}

static void mp_encode_number(lua_State *L, mp_buf *b, lua_Number n) {
    if (n >= -9223372036854775808.0 && n < 9223372036854775808.0 && n == (lua_Number)(int64_t)n) {
        mp_encode_int(L, b, (int64_t)n);
        return;
    }
    float f = (float)n; /* IEEE 754 conversion (Annex F): overflow gives inf */
    if ((lua_Number)f == n) {
        uint32_t bits;
        memcpy(&bits, &f, sizeof bits);
        mp_put(L, b, 0xca, bits, 4);
    } else {
        uint64_t bits;
        memcpy(&bits, &n, sizeof bits);
        mp_put(L, b, 0xcb, bits, 8);
    }
}

static void mp_encode_value(lua_State *L, mp_buf *b, int level);

/* Counts the pairs of the table on top and tells whether its keys are
 * exactly the integers 1..count. */
static size_t mp_table_count(lua_State *L, int *is_array) {
    size_t count = 0;
    lua_Number max = 0;
    int positive_ints = 1;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        count++;
        lua_Number k = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
        if (k >= 1 && k < 9007199254740992.0 && k == (lua_Number)(int64_t)k) {
            if (k > max) max = k;
        } else {
            positive_ints = 0;
        }
    }
    *is_array = positive_ints && max == (lua_Number)count;
    return count;
}

/* Encodes the table on top (left in place); its elements at level + 1. */
static void mp_encode_table(lua_State *L, mp_buf *b, int level) {
    luaL_checkstack(L, 3, "in function mp_encode_table");
    int is_array;
    size_t count = mp_table_count(L, &is_array);
    if (is_array) {
        mp_put_len(L, b, count, 0x90, 15, 0, 0xdc, 0xdd);
        for (size_t i = 1; i <= count; i++) {
            lua_pushnumber(L, (lua_Number)i);
            lua_rawget(L, -2);
            mp_encode_value(L, b, level + 1);
        }
        return;
    }
    mp_put_len(L, b, count, 0x80, 15, 0, 0xde, 0xdf);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pushvalue(L, -2);
        mp_encode_value(L, b, level + 1); /* the key copy */
        mp_encode_value(L, b, level + 1); /* the value */
    }
}

/* Encodes the value on top of the stack and pops it. */
static void mp_encode_value(lua_State *L, mp_buf *b, int level) {
    switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        mp_put_len(L, b, len, 0xa0, 31, 0xd9, 0xda, 0xdb);
        if (len) mp_buf_append(L, b, s, len);
        break;
    }
    case LUA_TBOOLEAN:
        mp_put(L, b, lua_toboolean(L, -1) ? 0xc3 : 0xc2, 0, 0);
        break;
    case LUA_TNUMBER:
        mp_encode_number(L, b, lua_tonumber(L, -1));
        break;
    case LUA_TTABLE:
        if (level < MP_MAX_NESTING)
            mp_encode_table(L, b, level);
        else
            mp_put(L, b, 0xc0, 0, 0);
        break;
    default: /* nil, functions, threads, userdata */
        mp_put(L, b, 0xc0, 0, 0);
        break;
    }
    lua_pop(L, 1);
}

static int mp_pack(lua_State *L) {
    int nargs = lua_gettop(L);
    if (nargs == 0) return luaL_argerror(L, 0, "MessagePack pack needs input.");
    mp_buf *b = mp_buf_new(L);
    for (int i = 1; i <= nargs; i++) {
        lua_pushvalue(L, i);
        mp_encode_value(L, b, 0);
    }
    lua_pushlstring(L, (const char *)b->p, b->len);
    mp_buf_release(L, b);
    return 1;
}

/* The unread part of the input. */
typedef struct mp_cur {
    const unsigned char *p;
    size_t left;
} mp_cur;

/* Consumes n bytes and returns where they start; raises the truncation
 * error when fewer are left. */
static const unsigned char *mp_take(lua_State *L, mp_cur *c, size_t n) {
    if (c->left < n) luaL_error(L, "Missing bytes in input.");
    const unsigned char *p = c->p;
    c->p += n;
    c->left -= n;
    return p;
}

/* Reads an n-byte big-endian unsigned integer (n <= 8). */
static uint64_t mp_read(lua_State *L, mp_cur *c, int n) {
    const unsigned char *p = mp_take(L, c, (size_t)n);
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}

/* Two's complement value of the n low bytes of u. */
static int64_t mp_signed(uint64_t u, int n) {
    if (n < 8) {
        uint64_t sign = (uint64_t)1 << (8 * n - 1);
        return (int64_t)(u ^ sign) - (int64_t)sign;
    }
    return u > (uint64_t)INT64_MAX ? -(int64_t)~u - 1 : (int64_t)u;
}

static void mp_decode_value(lua_State *L, mp_cur *c);

static void mp_decode_string(lua_State *L, mp_cur *c, size_t len) {
    const unsigned char *p = mp_take(L, c, len);
    lua_pushlstring(L, (const char *)p, len);
}

static void mp_decode_array(lua_State *L, mp_cur *c, uint64_t n) {
    luaL_checkstack(L, 2, "in function mp_decode_to_lua_array");
    lua_newtable(L);
    for (uint64_t i = 1; i <= n; i++) {
        lua_pushnumber(L, (lua_Number)i);
        mp_decode_value(L, c);
        lua_rawset(L, -3);
    }
}

static void mp_decode_map(lua_State *L, mp_cur *c, uint64_t n) {
    lua_newtable(L);
    for (uint64_t i = 0; i < n; i++) {
        mp_decode_value(L, c); /* key */
        mp_decode_value(L, c); /* value */
        lua_rawset(L, -3);     /* a nil or NaN key raises Lua's error */
    }
}

/* Decodes one value from c and pushes it. */
static void mp_decode_value(lua_State *L, mp_cur *c) {
    luaL_checkstack(L, 1, "too many return values at once; use unpack_one or unpack_limit instead.");
    unsigned t = *mp_take(L, c, 1);
    if (t <= 0x7f) {
        lua_pushnumber(L, (lua_Number)t);
    } else if (t >= 0xe0) {
        lua_pushnumber(L, (lua_Number)((int)t - 0x100));
    } else if ((t & 0xf0) == 0x80) {
        mp_decode_map(L, c, t & 0x0f);
    } else if ((t & 0xf0) == 0x90) {
        mp_decode_array(L, c, t & 0x0f);
    } else if ((t & 0xe0) == 0xa0) {
        mp_decode_string(L, c, t & 0x1f);
    } else {
        switch (t) {
        case 0xc0: lua_pushnil(L); break;
        case 0xc2: lua_pushboolean(L, 0); break;
        case 0xc3: lua_pushboolean(L, 1); break;
        case 0xc4: /* bin8..32: strings too */
        case 0xd9: mp_decode_string(L, c, mp_read(L, c, 1)); break;
        case 0xc5:
        case 0xda: mp_decode_string(L, c, mp_read(L, c, 2)); break;
        case 0xc6:
        case 0xdb: mp_decode_string(L, c, mp_read(L, c, 4)); break;
        case 0xca: {
            uint32_t bits = (uint32_t)mp_read(L, c, 4);
            float f;
            memcpy(&f, &bits, sizeof f);
            lua_pushnumber(L, (lua_Number)f);
            break;
        }
        case 0xcb: {
            uint64_t bits = mp_read(L, c, 8);
            double d;
            memcpy(&d, &bits, sizeof d);
            lua_pushnumber(L, (lua_Number)d);
            break;
        }
        case 0xcc: lua_pushnumber(L, (lua_Number)mp_read(L, c, 1)); break;
        case 0xcd: lua_pushnumber(L, (lua_Number)mp_read(L, c, 2)); break;
        case 0xce: lua_pushnumber(L, (lua_Number)mp_read(L, c, 4)); break;
        case 0xcf: /* through int64, as Redis */
        case 0xd3: lua_pushnumber(L, (lua_Number)mp_signed(mp_read(L, c, 8), 8)); break;
        case 0xd0: lua_pushnumber(L, (lua_Number)mp_signed(mp_read(L, c, 1), 1)); break;
        case 0xd1: lua_pushnumber(L, (lua_Number)mp_signed(mp_read(L, c, 2), 2)); break;
        case 0xd2: lua_pushnumber(L, (lua_Number)mp_signed(mp_read(L, c, 4), 4)); break;
        case 0xdc: mp_decode_array(L, c, mp_read(L, c, 2)); break;
        case 0xdd: mp_decode_array(L, c, mp_read(L, c, 4)); break;
        case 0xde: mp_decode_map(L, c, mp_read(L, c, 2)); break;
        case 0xdf: mp_decode_map(L, c, mp_read(L, c, 4)); break;
        default: luaL_error(L, "Bad data format in input."); /* 0xc1, ext types */
        }
    }
}

/* Decodes from byte offset of the string argument 1: every value when
 * limit and offset are both 0 (unpack), else at most limit values preceded
 * by the next offset (-1 at the end). Messages and their odd arguments
 * (the length printed as the limit) are Redis's. */
static int mp_unpack_full(lua_State *L, lua_Integer limit, lua_Integer offset) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    int all = limit == 0 && offset == 0;
    if (offset < 0 || limit < 0)
        return luaL_error(L, "Invalid request to unpack with offset of %d and limit of %d.", (int)offset, (int)len);
    if ((size_t)offset > len)
        return luaL_error(L, "Start offset %d greater than input length %d.", (int)offset, (int)len);
    mp_cur c = {(const unsigned char *)s + offset, len - (size_t)offset};
    int count = 0;
    while (c.left > 0 && (all || count < limit)) {
        mp_decode_value(L, &c);
        count++;
    }
    if (!all) {
        luaL_checkstack(L, 1, "in function mp_unpack_full");
        lua_pushinteger(L, c.left == 0 ? -1 : (lua_Integer)(len - c.left));
        lua_insert(L, 2);
        count++;
    }
    return count;
}

static int mp_unpack(lua_State *L) {
    return mp_unpack_full(L, 0, 0);
}

static int mp_unpack_one(lua_State *L) {
    lua_Integer offset = luaL_optinteger(L, 2, 0);
    if (lua_gettop(L) > 1) lua_settop(L, 1);
    return mp_unpack_full(L, 1, offset);
}

static int mp_unpack_limit(lua_State *L) {
    lua_Integer limit = luaL_checkinteger(L, 2);
    lua_Integer offset = luaL_optinteger(L, 3, 0);
    lua_settop(L, 1);
    return mp_unpack_full(L, limit, offset);
}

int script_luaopen_cmsgpack(lua_State *L) {
    luaL_newmetatable(L, MP_BUF_META);
    lua_pushcfunction(L, mp_buf_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {{"pack", mp_pack},
                                   {"unpack", mp_unpack},
                                   {"unpack_one", mp_unpack_one},
                                   {"unpack_limit", mp_unpack_limit},
                                   {NULL, NULL}};
    lua_newtable(L);
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushcfunction(L, f->func);
        lua_setfield(L, -2, f->name);
    }
    static const char *info[][2] = {{"_NAME", "cmsgpack"},
                                    {"_VERSION", "lua-cmsgpack 0.4.0"},
                                    {"_DESCRIPTION", "MessagePack for Lua (Phenix DB)"}};
    for (size_t i = 0; i < sizeof(info) / sizeof(info[0]); i++) {
        lua_pushstring(L, info[i][1]);
        lua_setfield(L, -2, info[i][0]);
    }
    return 1;
}

/* ================= struct ================= */

#define ST_MAXINTSIZE 32

/* The native maximum alignment ('!' without a number). */
struct st_align_probe {
    char c;
    union {
        double d;
        void *p;
        lua_Number n;
    } u;
};
#define ST_MAXALIGN ((int)offsetof(struct st_align_probe, u))

/* The settings the format's control options change as it is read. */
typedef struct st_state {
    int little;   /* byte order of the items that follow */
    size_t align; /* maximum alignment, a power of 2 */
} st_state;

static int st_native_little(void) {
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

static void st_init(st_state *st) {
    st->little = st_native_little();
    st->align = 1;
}

static int st_isdigit(int ch) {
    return ch >= '0' && ch <= '9';
}

/* Reads the decimal number at *fmt (advancing it), or returns dflt when
 * there is none. */
static int st_getnum(lua_State *L, const char **fmt, int dflt) {
    if (!st_isdigit(**fmt)) return dflt;
    int a = 0;
    do {
        int d = *(*fmt)++ - '0';
        if (a > INT_MAX / 10 || a * 10 > INT_MAX - d) luaL_error(L, "integral size overflow");
        a = a * 10 + d;
    } while (st_isdigit(**fmt));
    return a;
}

/* The size of an item of option opt (0 for strings and control options),
 * reading its numeric suffix. */
static size_t st_optsize(lua_State *L, int opt, const char **fmt) {
    switch (opt) {
    case 'B':
    case 'b':
    case 'x': return 1;
    case 'H':
    case 'h': return sizeof(short);
    case 'L':
    case 'l': return sizeof(long);
    case 'T': return sizeof(size_t);
    case 'f': return sizeof(float);
    case 'd': return sizeof(double);
    case 'c': return (size_t)st_getnum(L, fmt, 1);
    case 'i':
    case 'I': {
        int n = st_getnum(L, fmt, (int)sizeof(int));
        if (n > ST_MAXINTSIZE) luaL_error(L, "integral size %d is larger than limit of %d", n, ST_MAXINTSIZE);
        return (size_t)n;
    }
    default: return 0;
    }
}

/* Padding that aligns an item of option opt and size at offset len. */
static size_t st_toalign(size_t len, const st_state *st, int opt, size_t size) {
    if (size == 0 || opt == 'c') return 0;
    if (size > st->align) size = st->align;
    return (size - (len & (size - 1))) & (size - 1);
}

/* Applies a control option; anything else is an invalid format. */
static void st_control(lua_State *L, int opt, const char **fmt, st_state *st) {
    switch (opt) {
    case ' ': return;
    case '>': st->little = 0; return;
    case '<': st->little = 1; return;
    case '!': {
        int a = st_getnum(L, fmt, ST_MAXALIGN);
        if (a <= 0 || (a & (a - 1))) luaL_error(L, "alignment %d is not a power of 2", a);
        st->align = (size_t)a;
        return;
    }
    default: luaL_argerror(L, 1, lua_pushfstring(L, "invalid format option '%c'", opt));
    }
}

/* The 64 bits a number packs as: truncated toward zero, two's complement;
 * out of range as x86-64's cvttsd2si gives them (what Redis packs). */
static uint64_t st_number_bits(lua_Number n) {
    const lua_Number two63 = 9223372036854775808.0;
    if (n < 0) return n >= -two63 ? (uint64_t)(int64_t)n : (uint64_t)INT64_MIN;
    if (n >= two63) {
        lua_Number m = n - two63;
        return m < two63 ? (uint64_t)(int64_t)m ^ ((uint64_t)1 << 63) : 0;
    }
    if (n != n) return (uint64_t)INT64_MIN;
    return (uint64_t)(int64_t)n;
}

/* Appends the n bytes of p, reversed when little differs from the host. */
static void st_add_bytes(luaL_Buffer *b, const void *p, size_t n, int little) {
    const unsigned char *src = p;
    unsigned char out[8];
    for (size_t i = 0; i < n; i++) out[i] = little == st_native_little() ? src[i] : src[n - 1 - i];
    luaL_addlstring(b, (const char *)out, n);
}

/* Appends an integer of size bytes (bytes past the 8th are 0). */
static void st_add_int(luaL_Buffer *b, lua_Number n, int little, size_t size) {
    uint64_t v = st_number_bits(n);
    char out[ST_MAXINTSIZE];
    for (size_t k = 0; k < size; k++) { /* k: significance, 0 = lowest */
        unsigned char byte = k < 8 ? (unsigned char)(v >> (8 * k)) : 0;
        out[little ? k : size - 1 - k] = (char)byte;
    }
    luaL_addlstring(b, out, size);
}

/* Argument arg of pack, which has nargs; a missing one is reported as nil
 * (as Redis, whose pack pushes a nil mark after its arguments). */
static lua_Number st_arg_number(lua_State *L, int arg, int nargs) {
    if (arg > nargs) luaL_argerror(L, arg, "number expected, got nil");
    return luaL_checknumber(L, arg);
}

static const char *st_arg_string(lua_State *L, int arg, int nargs, size_t *len) {
    if (arg > nargs) luaL_argerror(L, arg, "string expected, got nil");
    return luaL_checklstring(L, arg, len);
}

static int st_pack(lua_State *L) {
    const char *fmt = luaL_checkstring(L, 1);
    int nargs = lua_gettop(L), arg = 2;
    st_state st;
    st_init(&st);
    size_t total = 0;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    while (*fmt) {
        int opt = *fmt++;
        size_t size = st_optsize(L, opt, &fmt);
        size_t pad = st_toalign(total, &st, opt, size);
        total += pad;
        while (pad-- > 0) luaL_addchar(&b, '\0');
        switch (opt) {
        case 'b':
        case 'B':
        case 'h':
        case 'H':
        case 'l':
        case 'L':
        case 'T':
        case 'i':
        case 'I': st_add_int(&b, st_arg_number(L, arg++, nargs), st.little, size); break;
        case 'x': luaL_addchar(&b, '\0'); break;
        case 'f': {
            float f = (float)st_arg_number(L, arg++, nargs);
            st_add_bytes(&b, &f, sizeof f, st.little);
            break;
        }
        case 'd': {
            double d = (double)st_arg_number(L, arg++, nargs);
            st_add_bytes(&b, &d, sizeof d, st.little);
            break;
        }
        case 'c':
        case 's': {
            size_t len;
            const char *s = st_arg_string(L, arg++, nargs, &len);
            if (size == 0) size = len;
            luaL_argcheck(L, len >= size, arg, "string too short");
            luaL_addlstring(&b, s, size);
            if (opt == 's') {
                luaL_addchar(&b, '\0');
                size++;
            }
            break;
        }
        default: st_control(L, opt, &fmt, &st);
        }
        total += size;
    }
    luaL_pushresult(&b);
    return 1;
}

/* Reads an integer of size bytes at p: the low 8 bytes are the value; a
 * signed one is sign-extended from bit (8 * size - 1) mod 64 (the bit
 * Redis's code, whose shift by 8 * size - 1 is undefined in C past 63,
 * ends up testing on x86-64). */
static lua_Number st_get_int(const unsigned char *p, int little, size_t size, int is_signed) {
    uint64_t v = 0;
    for (size_t i = 0; i < size; i++) v = (v << 8) | p[little ? size - 1 - i : i];
    if (!is_signed) return (lua_Number)v;
    if (size == 0) return 0;
    uint64_t mask = ~(uint64_t)0 << ((size * 8 - 1) & 63);
    if (v & mask) v |= mask;
    return (lua_Number)mp_signed(v, 8);
}

static lua_Number st_get_float(const unsigned char *p, size_t size, int little) {
    unsigned char raw[8];
    for (size_t i = 0; i < size; i++) raw[i] = little == st_native_little() ? p[i] : p[size - 1 - i];
    if (size == sizeof(float)) {
        float f;
        memcpy(&f, raw, sizeof f);
        return (lua_Number)f;
    }
    double d;
    memcpy(&d, raw, sizeof d);
    return (lua_Number)d;
}

static void st_check_fits(lua_State *L, size_t pos, size_t size, size_t ld) {
    luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
}

/* Option c: size bytes, or with size 0 as many as the previous value
 * (popped; pushed is how many values this unpack has pushed). */
static size_t st_unpack_chars(lua_State *L, const char *data, size_t pos, size_t ld, size_t size, int *pushed) {
    if (size == 0) {
        if (*pushed == 0 || !lua_isnumber(L, -1)) luaL_error(L, "format 'c0' needs a previous size");
        lua_Number n = lua_tonumber(L, -1);
        lua_pop(L, 1);
        (*pushed)--;
        size = n >= 0 && n < 18446744073709551616.0 ? (size_t)n : SIZE_MAX;
        st_check_fits(L, pos, size, ld);
    }
    lua_pushlstring(L, data + pos, size);
    (*pushed)++;
    return size;
}

static int st_unpack(lua_State *L) {
    const char *fmt = luaL_checkstring(L, 1);
    size_t ld;
    const char *data = luaL_checklstring(L, 2, &ld);
    const unsigned char *udata = (const unsigned char *)data;
    size_t pos = (size_t)luaL_optinteger(L, 3, 1);
    luaL_argcheck(L, pos > 0, 3, "offset must be 1 or greater");
    pos--;
    st_state st;
    st_init(&st);
    int pushed = 0;
    while (*fmt) {
        int opt = *fmt++;
        size_t size = st_optsize(L, opt, &fmt);
        pos += st_toalign(pos, &st, opt, size);
        st_check_fits(L, pos, size, ld);
        luaL_checkstack(L, 2, "too many results");
        switch (opt) {
        case 'b':
        case 'h':
        case 'l':
        case 'i':
            lua_pushnumber(L, st_get_int(udata + pos, st.little, size, 1));
            pushed++;
            break;
        case 'B':
        case 'H':
        case 'L':
        case 'T':
        case 'I':
            lua_pushnumber(L, st_get_int(udata + pos, st.little, size, 0));
            pushed++;
            break;
        case 'x': break;
        case 'f':
        case 'd':
            lua_pushnumber(L, st_get_float(udata + pos, size, st.little));
            pushed++;
            break;
        case 'c': size = st_unpack_chars(L, data, pos, ld, size, &pushed); break;
        case 's': {
            const char *end = memchr(data + pos, '\0', ld - pos);
            if (!end) luaL_error(L, "unfinished string in data");
            size = (size_t)(end - (data + pos));
            lua_pushlstring(L, data + pos, size);
            pushed++;
            size++;
            break;
        }
        default: st_control(L, opt, &fmt, &st);
        }
        pos += size;
    }
    lua_pushinteger(L, (lua_Integer)(pos + 1));
    return pushed + 1;
}

static int st_isalnum(int ch) {
    return st_isdigit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* struct.size: letters it does not know count 0 (as Redis's); other
 * characters must be control options. */
static int st_size(lua_State *L) {
    const char *fmt = luaL_checkstring(L, 1);
    st_state st;
    st_init(&st);
    size_t pos = 0;
    while (*fmt) {
        int opt = *fmt++;
        size_t size = st_optsize(L, opt, &fmt);
        pos += st_toalign(pos, &st, opt, size);
        if (opt == 's')
            luaL_argerror(L, 1, "option 's' has no fixed size");
        else if (opt == 'c' && size == 0)
            luaL_argerror(L, 1, "option 'c0' has no fixed size");
        if (!st_isalnum(opt)) st_control(L, opt, &fmt, &st);
        pos += size;
    }
    lua_pushnumber(L, (lua_Number)pos);
    return 1;
}

int script_luaopen_struct(lua_State *L) {
    static const luaL_Reg fns[] = {{"pack", st_pack}, {"unpack", st_unpack}, {"size", st_size}, {NULL, NULL}};
    lua_newtable(L);
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushcfunction(L, f->func);
        lua_setfield(L, -2, f->name);
    }
    return 1;
}

void script_libs_open(lua_State *L) {
    static const struct {
        const char *name;
        lua_CFunction open;
    } libs[] = {{"cmsgpack", script_luaopen_cmsgpack}, {"struct", script_luaopen_struct}};
    for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
        lua_pushcfunction(L, libs[i].open);
        lua_call(L, 0, 1);
        lua_setglobal(L, libs[i].name);
    }
}
