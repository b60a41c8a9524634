/* test_script_libs.c -- unit tests for script_libs.c, the cmsgpack and
 * struct libraries of the Lua sandbox.
 *
 * Each test runs Lua chunks in a bare state (no standard library: the
 * chunks use only the two libraries and the core language) whose allocator
 * counts live bytes and can fail the Nth allocation. Checked: a few exact
 * MessagePack encodings from the spec; unpack of random bytes and of
 * mutated valid encodings ends in a value list or a Lua error, never a
 * crash (ASan/UBSan in the asan variant), leaving the stack as it was;
 * pack(unpack(s)) == s for random canonical encodings; random struct
 * formats round trip; and with every allocation made to fail in turn,
 * pack, unpack and struct.pack fail cleanly with every byte given back
 * (pack's buffer is freed by its userdata's __gc after the error). */
#include "script_libs.h"
#include "test.h"
#include "test_rng.h"

#include <lua5.1/lauxlib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The allocator: live bytes, allocations made, and the number of the
 * allocation to refuse (0: none). */
static size_t alloc_live;
static long alloc_count, alloc_fail_at;

static void *test_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    (void)ud;
    if (nsize == 0) {
        if (ptr) alloc_live -= osize;
        free(ptr);
        return NULL;
    }
    if (nsize > (ptr ? osize : 0) && alloc_fail_at && ++alloc_count == alloc_fail_at) return NULL;
    void *p = realloc(ptr, nsize);
    if (p) alloc_live += nsize - (ptr ? osize : 0);
    return p;
}

static lua_State *new_state(void) {
    alloc_fail_at = 0;
    lua_State *L = lua_newstate(test_alloc, NULL);
    script_libs_open(L);
    return L;
}

/* Runs chunk with the string s as its `...`; returns lua_pcall's status,
 * the results left on the stack. */
static int run(lua_State *L, const char *chunk, const char *s, size_t len) {
    if (luaL_loadstring(L, chunk) != 0) return -1;
    lua_pushlstring(L, s, len);
    return lua_pcall(L, 1, LUA_MULTRET, 0);
}

/* The bytes of cmsgpack.pack applied to the Lua expression list expr. */
static int pack_equals(lua_State *L, const char *expr, const char *want, size_t want_len) {
    char chunk[256];
    snprintf(chunk, sizeof chunk, "return cmsgpack.pack(%s)", expr);
    int top = lua_gettop(L);
    if (run(L, chunk, "", 0) != 0) return 0;
    size_t len;
    const char *got = lua_tolstring(L, -1, &len);
    int ok = got && len == want_len && memcmp(got, want, len) == 0;
    lua_settop(L, top);
    return ok;
}

TEST(test_pack_encodings) {
    lua_State *L = new_state();
    EXPECT(pack_equals(L, "1", "\x01", 1));
    EXPECT(pack_equals(L, "-1", "\xff", 1));
    EXPECT(pack_equals(L, "256", "\xcd\x01\x00", 3));
    EXPECT(pack_equals(L, "-129", "\xd1\xff\x7f", 3));
    EXPECT(pack_equals(L, "4294967296", "\xcf\x00\x00\x00\x01\x00\x00\x00\x00", 9));
    EXPECT(pack_equals(L, "1.5", "\xca\x3f\xc0\x00\x00", 5));
    EXPECT(pack_equals(L, "0.1", "\xcb\x3f\xb9\x99\x99\x99\x99\x99\x9a", 9));
    EXPECT(pack_equals(L, "'abc'", "\xa3" "abc", 4));
    EXPECT(pack_equals(L, "{1,2}", "\x92\x01\x02", 3));
    EXPECT(pack_equals(L, "{a=1}", "\x81\xa1" "a\x01", 4));
    EXPECT(pack_equals(L, "nil, true, false", "\xc0\xc3\xc2", 3));
    lua_close(L);
    EXPECT(alloc_live == 0);
}

/* Appends big-endian the width low bytes of v. */
static size_t put_be(unsigned char *out, uint64_t v, int width) {
    for (int i = width - 1; i >= 0; i--) *out++ = (unsigned char)(v >> (8 * i));
    return (size_t)width;
}

/* Appends a random MessagePack value in the canonical form pack produces
 * (each integer in its smallest format), nesting arrays at most depth. */
static size_t random_value(unsigned char *out, size_t cap, int depth) {
    if (cap < 16) {
        out[0] = (unsigned char)(rng_next() & 0x7f);
        return 1;
    }
    size_t n = 0;
    uint64_t r = rng_next();
    switch (rng_next() % (depth > 0 ? 8 : 6)) {
    case 0: out[n++] = (unsigned char)(r & 0x7f); break;
    case 1: out[n++] = (unsigned char)(0xe0 | (r & 0x1f)); break;
    case 2: {
        static const unsigned char tags[] = {0xcc, 0xcd, 0xce, 0xd0, 0xd1, 0xd2, 0xd3};
        static const int widths[] = {1, 2, 4, 1, 2, 4, 8};
        static const int64_t lo[] = {128, 256, 65536, -128, -32768, -2147483648LL, -(1LL << 52)};
        static const int64_t hi[] = {255, 65535, 4294967295LL, -33, -129, -32769, -2147483649LL};
        int k = (int)(rng_next() % 7);
        int64_t v = lo[k] + (int64_t)(r % (uint64_t)(hi[k] - lo[k] + 1));
        out[n++] = tags[k];
        n += put_be(out + n, (uint64_t)v, widths[k]);
        break;
    }
    case 3: {
        size_t len = r % 8;
        out[n++] = (unsigned char)(0xa0 | len);
        for (size_t i = 0; i < len; i++) out[n++] = (unsigned char)rng_next();
        break;
    }
    case 4: out[n++] = (unsigned char)(0xc2 + (r & 1)); break;
    case 5: {
        double d = 0.1 + (double)(r % 1000); /* needs a float64 */
        uint64_t bits;
        memcpy(&bits, &d, 8);
        out[n++] = 0xcb;
        n += put_be(out + n, bits, 8);
        break;
    }
    default: { /* an array of up to 4 values */
        size_t len = r % 5;
        out[n++] = (unsigned char)(0x90 | len);
        for (size_t i = 0; i < len; i++) n += random_value(out + n, cap - n, depth - 1);
    }
    }
    return n;
}

TEST(test_unpack_random_bytes_never_crash) {
    lua_State *L = new_state();
    unsigned char buf[512];
    int ok = 0, errors = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t len;
        if (iter % 2) {
            len = rng_next() % 64;
            for (size_t i = 0; i < len; i++) buf[i] = (unsigned char)rng_next();
        } else { /* a valid value, then a few bytes flipped or cut */
            len = random_value(buf, 256, 4);
            for (int m = (int)(rng_next() % 3); m > 0; m--) buf[rng_next() % len] = (unsigned char)rng_next();
            if (rng_next() % 4 == 0) len = rng_next() % (len + 1);
        }
        static const char *chunks[] = {"return cmsgpack.unpack(...)", "return cmsgpack.unpack_one(..., 1)",
                                       "return cmsgpack.unpack_limit(..., 2, 0)"};
        int status = run(L, chunks[iter % 3], (const char *)buf, len);
        if (status == 0) ok++;
        else errors++;
        EXPECT(status == 0 || status == LUA_ERRRUN);
        lua_settop(L, 0);
    }
    EXPECT(ok > 1000 && errors > 1000);
    lua_close(L);
    EXPECT(alloc_live == 0);
}

TEST(test_hostile_lengths_and_nesting) {
    lua_State *L = new_state();
    static const char *const hostile[] = {"\xdb\xff\xff\xff\xff", "\xdd\xff\xff\xff\xff", "\xdf\xff\xff\xff\xff",
                                          "\xc6\xff\xff\xff\xff", "\xdd\xff\xff\xff\xff\xc0\xc0"};
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        EXPECT(run(L, "return cmsgpack.unpack(...)", hostile[i], strlen(hostile[i])) == LUA_ERRRUN);
        EXPECT(strstr(lua_tostring(L, -1), "Missing bytes in input.") != NULL);
        lua_settop(L, 0);
    }
    size_t n = 200000;
    char *deep = malloc(n + 1);
    memset(deep, 0x91, n);
    deep[n] = 0x01;
    EXPECT(run(L, "return cmsgpack.unpack(...)", deep, n + 1) == LUA_ERRRUN);
    EXPECT(strstr(lua_tostring(L, -1), "stack overflow") != NULL);
    lua_settop(L, 0);
    memset(deep, 0x01, n);
    EXPECT(run(L, "return cmsgpack.unpack(...)", deep, n) == LUA_ERRRUN);
    lua_settop(L, 0);
    EXPECT(run(L, "local a, b = cmsgpack.unpack_limit(..., 5000) return a", deep, n) == 0);
    EXPECT(lua_tonumber(L, -1) == 5000);
    free(deep);
    lua_close(L);
    EXPECT(alloc_live == 0);
}

TEST(test_canonical_round_trip) {
    lua_State *L = new_state();
    unsigned char buf[1024];
    for (int iter = 0; iter < 5000; iter++) {
        size_t len = 0;
        for (int k = (int)(rng_next() % 3) + 1; k > 0; k--) len += random_value(buf + len, 300, 3);
        ASSERT(run(L, "return cmsgpack.pack(cmsgpack.unpack(...))", (const char *)buf, len) == 0);
        size_t out_len;
        const char *out = lua_tolstring(L, -1, &out_len);
        int same = out_len == len && memcmp(out, buf, len) == 0;
        EXPECT(same);
        lua_settop(L, 0);
        if (!same) break;
    }
    lua_close(L);
    EXPECT(alloc_live == 0);
}

/* The first data letter of a struct format. */
static char first_item(const char *fmt) {
    for (; *fmt; fmt++)
        if (strchr("bBhHlLiIfd", *fmt)) return *fmt;
    return 0;
}

TEST(test_struct_round_trip) {
    lua_State *L = new_state();
    static const char *const chunk =
        "local fmt, fixed, a, b, c, s = ... "
        "local packed = struct.pack(fmt, a, b, c, s) "
        "local x, y, z, t, pos = struct.unpack(fmt, packed) "
        "if pos ~= #packed + 1 or #packed ~= struct.size(fixed) + #s + 1 then return false end "
        "return x == a and y == b and z == c and t == s";
    static const char *const formats[] = {"<bhi s", ">BHI s", "!4 b i8 h s", "!8 B d f s", "<i3 I5 l s",
                                          ">I1 i2 L s", "!2 b x h i s", "< b > h < i s"};
    for (int iter = 0; iter < 2000; iter++) {
        const char *fmt = formats[iter % 8];
        ASSERT(luaL_loadstring(L, chunk) == 0);
        lua_pushstring(L, fmt);
        lua_pushlstring(L, fmt, strlen(fmt) - 2); /* without the final " s" */
        int is_unsigned = strchr("BI", first_item(fmt)) != NULL;
        lua_pushnumber(L, (lua_Number)(is_unsigned ? (int)(rng_next() % 128) : (int)(rng_next() % 128) - 64));
        lua_pushnumber(L, (lua_Number)(rng_next() % 128));
        lua_pushnumber(L, (lua_Number)(rng_next() % 30000)); /* fits every slot, h included */
        lua_pushstring(L, iter % 2 ? "tail" : "");
        int status = lua_pcall(L, 6, 1, 0);
        EXPECT(status == 0);
        if (status == 0) EXPECT(lua_toboolean(L, -1));
        lua_settop(L, 0);
    }
    lua_close(L);
    EXPECT(alloc_live == 0);
}

/* Runs chunk with every allocation after the setup failing in turn: each
 * run must end in a Lua error and closing the state must give every byte
 * back, until the run that no failure reaches succeeds. Returns how many
 * runs failed, or -1. */
static long survives_alloc_failures(const char *setup, const char *chunk) {
    for (long fail_at = 1; fail_at < 5000; fail_at++) {
        lua_State *L = new_state();
        if (luaL_dostring(L, setup) != 0) return -1;
        lua_gc(L, LUA_GCCOLLECT, 0);
        alloc_count = 0;
        alloc_fail_at = fail_at;
        int status = luaL_loadstring(L, chunk);
        if (status == 0) status = lua_pcall(L, 0, 0, 0);
        alloc_fail_at = 0;
        lua_close(L);
        if (alloc_live != 0) return -1;
        if (status == 0) return fail_at - 1; /* no allocation left to fail */
        if (status != LUA_ERRMEM && status != LUA_ERRRUN) return -1;
    }
    return -1;
}

TEST(test_allocation_failures_leak_nothing) {
    static const char *const setup =
        "big = {} for i = 1, 50 do big[i] = {name = 'item' .. i, n = i * 1.5, tags = {1, 2, 3}} end "
        "packed = cmsgpack.pack(big)";
    EXPECT(survives_alloc_failures(setup, "local s = cmsgpack.pack(big, big)") > 5);
    EXPECT(survives_alloc_failures(setup, "local t = cmsgpack.unpack(packed)") > 100);
    EXPECT(survives_alloc_failures(setup, "local s = struct.pack('>i8 d s c0', 1, 2.5, packed, packed)") > 2);
}

int main(void) {
    RUN(test_pack_encodings);
    RUN(test_unpack_random_bytes_never_crash);
    RUN(test_hostile_lengths_and_nesting);
    RUN(test_canonical_round_trip);
    RUN(test_struct_round_trip);
    RUN(test_allocation_failures_leak_nothing);
    return TEST_REPORT();
}
