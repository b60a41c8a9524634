/* script.c -- Lua scripting: EVAL EVALSHA EVAL_RO EVALSHA_RO, SCRIPT
 * LOAD|EXISTS|FLUSH|KILL|HELP, and the engine FCALL shares (function.c):
 * the sandbox, the redis.* library, the conversions between Redis replies
 * and Lua values, the time limit and SCRIPT KILL / FUNCTION KILL.
 *
 * Engine. One Lua 5.1 state (Debian's liblua5.1, the Lua of Redis
 * scripts) for the whole server, created at start-up. Scripts are
 * compiled once, named by the SHA1 of their text (OpenSSL's EVP SHA1),
 * and kept in a registry table sha -> function; `scripts` mirrors it
 * with sha -> body for SCRIPT EXISTS and memory. SCRIPT FLUSH empties
 * both.
 *
 * Sandbox. Only the base, table, string and math libraries are opened,
 * with cjson and bit (Debian's lua-cjson and lua-bitop, as Redis has them)
 * and cmsgpack and struct (script_libs.c: Debian has no package for them),
 * and from the base library dofile, loadfile, print, getfenv, setfenv and
 * newproxy are removed; loadstring refuses precompiled chunks (bytecode
 * can break the VM); debug keeps only traceback; there is no os, io,
 * package or require. The globals scripts see are a proxy table: reading
 * an undeclared global raises "Script attempted to access nonexistent
 * global variable", writing any global raises "Attempt to modify a
 * readonly table" (Redis 7's wording); KEYS and ARGV are set with rawset
 * on the real table behind it before each run. The library tables
 * (string, table, math, redis, debug) are read-only proxies too, and
 * rawset refuses them, so no script leaves state behind for the next.
 * pcall is wrapped as in Redis 7: an error table caught by pcall turns
 * into its err string; after SCRIPT KILL even pcall cannot catch.
 *
 * redis.call / redis.pcall. Each call runs through call_command() on one
 * fake client (server.script_client: no socket, replies collected), so
 * commandstats, dirty, WATCH touching and the write-ahead log see the
 * inner commands; server.in_script tells them a script is running. The
 * reply bytes are parsed back into Lua values (RESP2 or, after
 * redis.setresp(3), RESP3 rules). Refused: commands flagged noscript,
 * write commands in read-only runs, deny-oom commands above maxmemory
 * before the script wrote anything (unless allow-oom). Blocking commands
 * do not block (CLIENT_DENY_BLOCKING on the fake client). SELECT inside a
 * script changes the script's database only.
 *
 * Time limit. A count hook runs every 100k VM instructions; once the run
 * is older than busy-reply-threshold (alias lua-time-limit) it marks the
 * server busy (process_command answers -BUSY to everything but the
 * allow-busy commands) and polls the event loop once per hook
 * (server_process_events_while_blocked), so SCRIPT KILL / FUNCTION KILL /
 * SHUTDOWN NOSAVE can arrive. KILL is refused with -UNKILLABLE once the
 * script ran a write command; otherwise the hook raises an error at the
 * next instruction, every instruction, until the script ends.
 *
 * Conversions (Redis's rules, both ways). Reply -> Lua: integer -> number,
 * bulk -> string, null bulk / null array -> false (RESP3 null -> nil),
 * array -> table, status -> {ok=s}, error -> {err=s}; RESP3: map ->
 * {map={...}}, set -> {set={m=true}}, double -> {double=n}, boolean ->
 * boolean, big number -> {big_number=s}, verbatim ->
 * {verbatim_string={format=,string=}}. Lua -> reply: number -> integer
 * (truncated), string -> bulk, true -> 1, false and nil -> null, table
 * with err -> error, ok -> status, double/map/set/big_number/
 * verbatim_string -> those RESP3 types (degraded for RESP2 callers),
 * other tables -> arrays up to the first nil.
 *
 * Names: script_* are the engine's entry points (script.h), l_* the C
 * functions Lua calls. Costs: EVALSHA is a dict lookup and a Lua call; a
 * redis.call is one command plus one reply parse. Ideas from the Redis
 * scripting documentation (semantics and wording); the code is this
 * project's own. */
#include <lua5.1/lauxlib.h>
#include <lua5.1/lua.h>
#include <lua5.1/lualib.h>
#include <lua5.1/lua-bitop.h>
#include <lua5.1/lua-cjson.h>
#include <openssl/evp.h>
#include <unistd.h>

#include "script.h"
#include "script_libs.h"

#define HOOK_INSTRUCTIONS 100000
#define MAX_REPLY_DEPTH 200
#define GC_PERIOD 50
#define GC_STEP_KB 50
#define GC_MIN_LIMIT_KB 256

static lua_State *L;
static dict *scripts;    /* sha (40 lower-case hex) -> ds body */
static int scripts_ref;  /* registry table sha -> compiled function */
static int globals_ref;  /* registry ref of the real globals table */
static int handler_ref;  /* registry ref of error_handler, made once */
static int gc_runs;      /* scripts run since the last explicit GC check */
static int gc_limit_kb = GC_MIN_LIMIT_KB; /* explicit steps above this heap size */
static int gc_cycles;    /* cycles explicit steps ended while above the limit */
int script_loading_library;
int64_t script_load_start_ms;
#define LOAD_TIMEOUT_MS 500

/* The running script, valid while server.in_script. */
static struct {
    const script_run_spec *spec;
    int64_t start_ms;
    int wrote;        /* ran a write command: SCRIPT KILL refused */
    int killed;       /* SCRIPT KILL accepted: every instruction raises */
    int resp;         /* redis.setresp */
    int err_line;     /* line of the last error, found by the message handler */
    db *db;           /* SELECT inside the script */
} run;

lua_State *script_lua(void) { return L; }

/* ---------------- SHA1 ---------------- */

static void sha1hex(char out[41], const char *p, size_t len) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(p, len, md, &n, EVP_sha1(), NULL);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 20; i++) {
        out[i * 2] = hex[md[i] >> 4];
        out[i * 2 + 1] = hex[md[i] & 15];
    }
    out[40] = '\0';
}

/* ---------------- errors ---------------- */

void script_push_error(lua_State *l, const char *text) {
    if (text[0] == '-') text++;
    lua_newtable(l);
    if (strchr(text, ' ')) lua_pushstring(l, text);
    else lua_pushfstring(l, "ERR %s", text);
    lua_setfield(l, -2, "err");
}

/* Raises {err=text}: never returns. */
static int raise_error(lua_State *l, const char *text) {
    script_push_error(l, text);
    return lua_error(l);
}

/* Message handler of script_run: remembers the line of the script frame
 * nearest to the error and leaves the error object as it is. */
static int error_handler(lua_State *l) {
    lua_Debug ar;
    run.err_line = 0;
    for (int level = 0; lua_getstack(l, level, &ar); level++) {
        lua_getinfo(l, "Sl", &ar);
        if (ar.currentline >= 0 && ar.source[0] == '@') {
            run.err_line = ar.currentline;
            break;
        }
    }
    return 1;
}

/* ---------------- reply -> Lua ---------------- */

typedef struct reply_reader {
    const char *p, *end;
} reply_reader;

static const char *read_line(reply_reader *r, size_t *len) {
    const char *start = r->p;
    const char *nl = memchr(start, '\r', (size_t)(r->end - start));
    if (!nl) nl = r->end;
    *len = (size_t)(nl - start);
    r->p = nl + 2 <= r->end ? nl + 2 : r->end;
    return start;
}

static long long line_ll(const char *p, size_t len) {
    long long v = 0;
    util_str2ll(p, len, &v);
    return v;
}

static void push_reply(lua_State *l, reply_reader *r, int depth);

static void push_aggregate(lua_State *l, reply_reader *r, char type, long long n, int depth) {
    lua_checkstack(l, 8);
    lua_newtable(l);
    if (type == '*') {
        for (long long i = 1; i <= n; i++) {
            push_reply(l, r, depth + 1);
            lua_rawseti(l, -2, (int)i);
        }
        return;
    }
    lua_newtable(l);
    for (long long i = 0; i < n; i++) {
        push_reply(l, r, depth + 1);
        if (type == '%') push_reply(l, r, depth + 1);
        else lua_pushboolean(l, 1);
        if (lua_isnil(l, -2)) lua_pop(l, 2);
        else lua_rawset(l, -3);
    }
    lua_setfield(l, -2, type == '%' ? "map" : "set");
}

static void push_reply(lua_State *l, reply_reader *r, int depth) {
    if (r->p >= r->end) {
        lua_pushnil(l);
        return;
    }
    char type = *r->p++;
    size_t len;
    const char *s = read_line(r, &len);
    switch (type) {
    case '+':
    case '-':
        lua_newtable(l);
        if (type == '+') {
            lua_pushlstring(l, s, len);
            lua_setfield(l, -2, "ok");
        } else {
            lua_pushlstring(l, s, len);
            lua_setfield(l, -2, "err");
        }
        return;
    case ':': lua_pushnumber(l, (lua_Number)line_ll(s, len)); return;
    case '$':
    case '=': {
        long long n = line_ll(s, len);
        if (n < 0) {
            lua_pushboolean(l, 0);
            return;
        }
        const char *data = r->p;
        r->p += n + 2;
        if (type == '$') {
            lua_pushlstring(l, data, (size_t)n);
            return;
        }
        lua_newtable(l);
        lua_newtable(l);
        lua_pushlstring(l, data, n >= 3 ? 3 : (size_t)n);
        lua_setfield(l, -2, "format");
        lua_pushlstring(l, n > 4 ? data + 4 : data, n > 4 ? (size_t)n - 4 : 0);
        lua_setfield(l, -2, "string");
        lua_setfield(l, -2, "verbatim_string");
        return;
    }
    case '*':
    case '~':
    case '%':
    case '>': {
        long long n = line_ll(s, len);
        if (n < 0) lua_pushboolean(l, 0);
        else push_aggregate(l, r, type == '>' ? '*' : type, n, depth);
        return;
    }
    case '_': lua_pushnil(l); return;
    case '#': lua_pushboolean(l, len && s[0] == 't'); return;
    case ',':
        lua_newtable(l);
        lua_pushnumber(l, strtod(s, NULL));
        lua_setfield(l, -2, "double");
        return;
    case '(':
        lua_newtable(l);
        lua_pushlstring(l, s, len);
        lua_setfield(l, -2, "big_number");
        return;
    case '|': { /* attributes: skipped, the value follows */
        long long n = line_ll(s, len);
        for (long long i = 0; i < 2 * n; i++) {
            push_reply(l, r, depth + 1);
            lua_pop(l, 1);
        }
        push_reply(l, r, depth);
        return;
    }
    default: lua_pushnil(l); return;
    }
}

/* ---------------- Lua -> reply ---------------- */

static void reply_value(client *c, lua_State *l, int depth);

/* Pushes t[name] without metamethods (t at idx, a negative index): the
 * conversions run outside any protected call, where a raising __index
 * (the globals proxy) would abort the process. */
static void raw_field(lua_State *l, int idx, const char *name) {
    lua_pushstring(l, name);
    lua_rawget(l, idx - 1);
}

/* 1 with t.name pushed when the table at the top has field name of the
 * given type; else 0 and nothing pushed. */
static int field_is(lua_State *l, const char *name, int type) {
    raw_field(l, -1, name);
    int ok = lua_type(l, -1) == type;
    if (!ok) lua_pop(l, 1);
    return ok; /* when ok the field stays pushed */
}

static void reply_map_or_set(client *c, lua_State *l, int is_map, int depth) {
    long long n = 0;
    lua_pushnil(l);
    while (lua_next(l, -2)) {
        n++;
        lua_pop(l, 1);
    }
    if (is_map) add_reply_map_len(c, n);
    else add_reply_set_len(c, n);
    lua_pushnil(l);
    while (lua_next(l, -2)) {
        lua_pushvalue(l, -2); /* key copy: reply_value may convert it */
        reply_value(c, l, depth + 1);
        if (is_map) reply_value(c, l, depth + 1);
        else lua_pop(l, 1);
    }
}

static void reply_table(client *c, lua_State *l, int depth) {
    if (field_is(l, "err", LUA_TSTRING)) {
        add_reply_errorf(c, "-%s", lua_tostring(l, -1));
        lua_pop(l, 1);
        return;
    }
    if (field_is(l, "ok", LUA_TSTRING)) {
        const char *s = lua_tostring(l, -1);
        char buf[512];
        snprintf(buf, sizeof(buf), "%s", s);
        for (char *q = buf; *q; q++)
            if (*q == '\r' || *q == '\n') *q = ' ';
        add_reply_status(c, buf);
        lua_pop(l, 1);
        return;
    }
    if (field_is(l, "double", LUA_TNUMBER)) {
        add_reply_double(c, lua_tonumber(l, -1));
        lua_pop(l, 1);
        return;
    }
    if (field_is(l, "big_number", LUA_TSTRING)) {
        add_reply_bignum(c, lua_tostring(l, -1));
        lua_pop(l, 1);
        return;
    }
    if (field_is(l, "map", LUA_TTABLE) || field_is(l, "set", LUA_TTABLE)) {
        raw_field(l, -2, "map");
        int is_map = lua_rawequal(l, -1, -2);
        lua_pop(l, 1);
        reply_map_or_set(c, l, is_map, depth);
        lua_pop(l, 1);
        return;
    }
    if (field_is(l, "verbatim_string", LUA_TTABLE)) {
        raw_field(l, -1, "format");
        raw_field(l, -2, "string");
        size_t flen = 0, slen = 0;
        const char *f = lua_tolstring(l, -2, &flen), *s = lua_tolstring(l, -1, &slen);
        if (f && s && flen == 3) add_reply_verbatim(c, s, slen, f);
        else add_reply_null(c);
        lua_pop(l, 3);
        return;
    }
    void *h = add_reply_deferred_len(c);
    long long n = 0;
    for (;;) {
        lua_rawgeti(l, -1, (int)n + 1);
        if (lua_isnil(l, -1)) {
            lua_pop(l, 1);
            break;
        }
        reply_value(c, l, depth + 1);
        n++;
    }
    set_deferred_array_len(c, h, n);
}

/* Replies the value on top of the stack and pops it. */
static void reply_value(client *c, lua_State *l, int depth) {
    if (depth > MAX_REPLY_DEPTH || !lua_checkstack(l, 8)) {
        add_reply_error(c, "reached lua stack limit");
        lua_pop(l, 1);
        return;
    }
    switch (lua_type(l, -1)) {
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(l, -1, &len);
        add_reply_bulk(c, s, len);
        break;
    }
    case LUA_TBOOLEAN:
        if (lua_toboolean(l, -1)) add_reply_long(c, 1);
        else add_reply_null(c);
        break;
    case LUA_TNUMBER: add_reply_long(c, (long long)lua_tonumber(l, -1)); break;
    case LUA_TTABLE: reply_table(c, l, depth); break;
    default: add_reply_null(c); break;
    }
    lua_pop(l, 1);
}

/* ---------------- redis.call ---------------- */

static resp_arg *call_argv;
static int call_argv_cap;

/* Checks what Redis checks before a script's command runs; NULL when it
 * may run, else the error text. */
static const char *refuse_command(command *cmd, int argc) {
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity)
        return "Wrong number of args calling Redis command from script";
    if (cmd->flags & CMD_NOSCRIPT) return "This Redis command is not allowed from script";
    if ((cmd->flags & CMD_WRITE) && run.spec->readonly) return "Write commands are not allowed from read-only scripts.";
    if ((cmd->flags & CMD_DENYOOM) && server.maxmemory && !run.spec->allow_oom && !run.wrote &&
        (long long)zmalloc_used_memory() > server.maxmemory)
        return "-OOM command not allowed when used memory > 'maxmemory'.";
    return NULL;
}

/* redis.call (raise = 1) and redis.pcall (raise = 0). */
static int call_generic(lua_State *l, int raise) {
    int argc = lua_gettop(l);
    if (script_loading_library) return luaL_error(l, "Script attempted to access nonexistent global variable 'call'");
    if (argc == 0) return raise_error(l, "ERR Please specify at least one argument for this redis lib call");
    if (argc > call_argv_cap) {
        call_argv_cap = argc * 2;
        call_argv = zrealloc(call_argv, sizeof(resp_arg) * (size_t)call_argv_cap);
    }
    for (int i = 0; i < argc; i++) {
        int t = lua_type(l, i + 1);
        if (t != LUA_TSTRING && t != LUA_TNUMBER)
            return raise_error(l, "ERR Lua redis lib command arguments must be strings or integers");
        size_t len;
        call_argv[i].ptr = lua_tolstring(l, i + 1, &len);
        call_argv[i].len = len;
        call_argv[i].off = 0;
    }
    command *cmd = command_lookup_argv(call_argv, argc);
    const char *refusal = cmd ? refuse_command(cmd, argc) : "Unknown Redis command called from script";
    if (refusal) {
        char text[256];
        snprintf(text, sizeof(text), refusal[0] == '-' ? "%s" : "ERR %s", refusal);
        script_push_error(l, text);
        if (raise) return lua_error(l);
        return 1;
    }
    if (cmd->flags & CMD_WRITE) run.wrote = 1;
    client *fc = server.script_client;
    fc->db = run.db;
    fc->resp = run.resp;
    fc->argc = argc;
    fc->argv = call_argv;
    fc->cmd = cmd;
    fc->lastcmd = cmd;
    call_command(fc);
    run.db = fc->db;
    fc->argc = 0;
    fc->argv = NULL;
    ds reply = client_fake_take_reply(fc);
    reply_reader r = {reply, reply + ds_len(reply)};
    push_reply(l, &r, 0);
    int is_error = ds_len(reply) && reply[0] == '-';
    ds_free(reply);
    if (is_error) { /* normalise the text as error_reply does */
        lua_getfield(l, -1, "err");
        script_push_error(l, lua_tostring(l, -1));
        lua_replace(l, -3);
        lua_pop(l, 1);
        if (raise) return lua_error(l);
    }
    return 1;
}

static int l_call(lua_State *l) { return call_generic(l, 1); }
static int l_pcall(lua_State *l) { return call_generic(l, 0); }

static int l_error_reply(lua_State *l) {
    if (lua_gettop(l) != 1 || lua_type(l, 1) != LUA_TSTRING) {
        script_push_error(l, "ERR wrong number or type of arguments");
        return 1;
    }
    script_push_error(l, lua_tostring(l, 1));
    return 1;
}

static int l_status_reply(lua_State *l) {
    if (lua_gettop(l) != 1 || lua_type(l, 1) != LUA_TSTRING) {
        script_push_error(l, "ERR wrong number or type of arguments");
        return 1;
    }
    lua_newtable(l);
    lua_pushvalue(l, 1);
    lua_setfield(l, -2, "ok");
    return 1;
}

static int l_sha1hex(lua_State *l) {
    if (lua_gettop(l) != 1) return raise_error(l, "ERR wrong number of arguments");
    size_t len;
    const char *s = lua_tolstring(l, 1, &len);
    if (!s) return raise_error(l, "ERR wrong number of arguments");
    char hex[41];
    sha1hex(hex, s, len);
    lua_pushstring(l, hex);
    return 1;
}

static int l_log(lua_State *l) {
    int argc = lua_gettop(l);
    if (argc < 2) return raise_error(l, "ERR redis.log() requires two arguments or more.");
    if (!lua_isnumber(l, 1)) return raise_error(l, "ERR First argument must be a number (log level).");
    int level = (int)lua_tonumber(l, 1);
    if (level < LL_DEBUG || level > LL_WARNING) return raise_error(l, "ERR Invalid debug level.");
    if (level < server.verbosity) return 0;
    ds msg = ds_empty(64);
    for (int i = 2; i <= argc; i++) {
        size_t len;
        const char *s = lua_tolstring(l, i, &len);
        if (!s) continue;
        if (i > 2) msg = ds_cat(msg, " ", 1);
        msg = ds_cat(msg, s, len);
    }
    server_log(level, "%s", msg);
    ds_free(msg);
    return 0;
}

static int l_setresp(lua_State *l) {
    if (lua_gettop(l) != 1) return raise_error(l, "ERR redis.setresp() requires one argument.");
    int v = (int)lua_tonumber(l, 1);
    if (v != 2 && v != 3) return raise_error(l, "ERR RESP version must be 2 or 3.");
    run.resp = v;
    return 0;
}

static int l_true(lua_State *l) {
    lua_pushboolean(l, 1);
    return 1;
}

static int l_noop(lua_State *l) {
    (void)l;
    return 0;
}

static int l_register_function(lua_State *l) { return function_register_from_lua(l); }

/* ---------------- sandbox ---------------- */

static int l_global_index(lua_State *l) {
    lua_pushvalue(l, 2);
    lua_rawget(l, lua_upvalueindex(1));
    if (!lua_isnil(l, -1)) return 1;
    const char *name = lua_tostring(l, 2);
    return luaL_error(l, "Script attempted to access nonexistent global variable '%s'", name ? name : "?");
}

static int l_readonly_newindex(lua_State *l) { return luaL_error(l, "Attempt to modify a readonly table"); }

static int is_readonly(lua_State *l, int idx) {
    if (!lua_getmetatable(l, idx)) return 0;
    lua_getfield(l, -1, "__phenix_readonly");
    int ro = lua_toboolean(l, -1);
    lua_pop(l, 2);
    return ro;
}

static int l_rawset(lua_State *l) {
    luaL_checktype(l, 1, LUA_TTABLE);
    luaL_checkany(l, 2);
    luaL_checkany(l, 3);
    if (is_readonly(l, 1)) return raise_error(l, "ERR Attempt to modify a readonly table");
    lua_settop(l, 3);
    lua_rawset(l, 1);
    return 1;
}

/* pcall as in Redis 7: a caught error table becomes its err string; a
 * killed script's error cannot be caught. */
static int l_pcall_wrapper(lua_State *l) {
    luaL_checkany(l, 1);
    int status = lua_pcall(l, lua_gettop(l) - 1, LUA_MULTRET, 0);
    if (status == 0) {
        lua_pushboolean(l, 1);
        lua_insert(l, 1);
        return lua_gettop(l);
    }
    if (run.killed) return lua_error(l);
    if (lua_istable(l, -1)) {
        raw_field(l, -1, "err");
        if (lua_isstring(l, -1)) lua_replace(l, -2);
        else lua_pop(l, 1);
    }
    lua_pushboolean(l, 0);
    lua_insert(l, -2);
    return 2;
}

static int l_loadstring(lua_State *l) {
    size_t len;
    const char *s = luaL_checklstring(l, 1, &len);
    const char *name = luaL_optstring(l, 2, s);
    if (len && s[0] == LUA_SIGNATURE[0]) {
        lua_pushnil(l);
        lua_pushstring(l, "loading precompiled chunks is not allowed");
        return 2;
    }
    if (luaL_loadbuffer(l, s, len, name) == 0) return 1;
    lua_pushnil(l);
    lua_insert(l, -2);
    return 2;
}

/* Replaces the table at the top by a read-only proxy of it. With
 * strict_index, reading an absent key raises (the globals). */
static void make_readonly_proxy(lua_State *l, int strict_index) {
    lua_newtable(l);                 /* proxy */
    lua_newtable(l);                 /* metatable */
    if (strict_index) {
        lua_pushvalue(l, -3);
        lua_pushcclosure(l, l_global_index, 1);
    } else {
        lua_pushvalue(l, -3);
    }
    lua_setfield(l, -2, "__index");
    lua_pushcfunction(l, l_readonly_newindex);
    lua_setfield(l, -2, "__newindex");
    lua_pushboolean(l, 0);
    lua_setfield(l, -2, "__metatable");
    lua_pushboolean(l, 1);
    lua_setfield(l, -2, "__phenix_readonly");
    lua_setmetatable(l, -2);
    lua_remove(l, -2);
}

static void open_lib(lua_State *l, const char *name, lua_CFunction fn) {
    lua_pushcfunction(l, fn);
    lua_pushstring(l, name);
    lua_call(l, 1, 0);
}

static void set_fn(lua_State *l, const char *name, lua_CFunction fn) {
    lua_pushcfunction(l, fn);
    lua_setfield(l, -2, name);
}

static void build_redis_table(lua_State *l) {
    lua_newtable(l);
    set_fn(l, "call", l_call);
    set_fn(l, "pcall", l_pcall);
    set_fn(l, "error_reply", l_error_reply);
    set_fn(l, "status_reply", l_status_reply);
    set_fn(l, "sha1hex", l_sha1hex);
    set_fn(l, "log", l_log);
    set_fn(l, "setresp", l_setresp);
    set_fn(l, "set_repl", l_noop);
    set_fn(l, "replicate_commands", l_true);
    set_fn(l, "breakpoint", l_noop);
    set_fn(l, "debug", l_noop);
    set_fn(l, "register_function", l_register_function);
    static const struct { const char *name; int v; } consts[] = {
        {"LOG_DEBUG", LL_DEBUG}, {"LOG_VERBOSE", LL_VERBOSE}, {"LOG_NOTICE", LL_NOTICE}, {"LOG_WARNING", LL_WARNING},
        {"REPL_NONE", 0},        {"REPL_AOF", 1},             {"REPL_SLAVE", 2},         {"REPL_REPLICA", 2},
        {"REPL_ALL", 3}};
    for (size_t i = 0; i < sizeof(consts) / sizeof(consts[0]); i++) {
        lua_pushnumber(l, consts[i].v);
        lua_setfield(l, -2, consts[i].name);
    }
    lua_pushstring(l, PHENIX_REDIS_COMPAT_VERSION);
    lua_setfield(l, -2, "REDIS_VERSION");
    int maj = 0, min = 0, pat = 0;
    sscanf(PHENIX_REDIS_COMPAT_VERSION, "%d.%d.%d", &maj, &min, &pat);
    lua_pushnumber(l, (maj << 16) | (min << 8) | pat);
    lua_setfield(l, -2, "REDIS_VERSION_NUM");
}

/* Replaces global name (a table) by a read-only proxy of it. */
static void protect_global_table(lua_State *l, const char *name) {
    lua_getglobal(l, name);
    make_readonly_proxy(l, 0);
    lua_setglobal(l, name);
}

static void hook(lua_State *l, lua_Debug *ar);

static lua_State *create_state(void) {
    lua_State *l = luaL_newstate();
    open_lib(l, "", luaopen_base);
    open_lib(l, LUA_TABLIBNAME, luaopen_table);
    open_lib(l, LUA_STRLIBNAME, luaopen_string);
    open_lib(l, LUA_MATHLIBNAME, luaopen_math);
    open_lib(l, LUA_DBLIBNAME, luaopen_debug);
    /* Redis's extra libraries that Debian packages for Lua 5.1 */
    lua_pushcfunction(l, luaopen_cjson);
    lua_call(l, 0, 1);
    lua_setglobal(l, "cjson");
    open_lib(l, "bit", luaopen_bit);
    script_libs_open(l); /* and the two it does not: cmsgpack, struct (script_libs.c) */
    static const char *removed[] = {"dofile", "loadfile", "load", "print", "getfenv", "setfenv", "newproxy", NULL};
    for (int i = 0; removed[i]; i++) {
        lua_pushnil(l);
        lua_setglobal(l, removed[i]);
    }
    lua_pushcfunction(l, l_loadstring);
    lua_setglobal(l, "loadstring");
    lua_pushcfunction(l, l_rawset);
    lua_setglobal(l, "rawset");
    lua_pushcfunction(l, l_pcall_wrapper);
    lua_setglobal(l, "pcall");
    lua_getglobal(l, "debug"); /* keep only traceback */
    lua_newtable(l);
    lua_getfield(l, -2, "traceback");
    lua_setfield(l, -2, "traceback");
    lua_setglobal(l, "debug");
    lua_pop(l, 1);
    build_redis_table(l);
    lua_setglobal(l, "redis");
    static const char *libs[] = {"string", "table", "math", "debug", "redis", "coroutine", "cjson", "bit",
                                  "cmsgpack", "struct", NULL};
    for (int i = 0; libs[i]; i++) protect_global_table(l, libs[i]);
    /* the globals: a strict read-only proxy; _G names the proxy */
    lua_pushvalue(l, LUA_GLOBALSINDEX);
    globals_ref = luaL_ref(l, LUA_REGISTRYINDEX);
    lua_pushvalue(l, LUA_GLOBALSINDEX);
    make_readonly_proxy(l, 1);
    lua_pushvalue(l, -1);
    lua_setglobal(l, "_G");
    lua_replace(l, LUA_GLOBALSINDEX);
    lua_newtable(l);
    scripts_ref = luaL_ref(l, LUA_REGISTRYINDEX);
    lua_pushcfunction(l, error_handler);
    handler_ref = luaL_ref(l, LUA_REGISTRYINDEX);
    lua_sethook(l, hook, LUA_MASKCOUNT, HOOK_INSTRUCTIONS);
    return l;
}

static const dict_type scripts_dict_type = {ds_dict_hash, ds_dict_eq, ds_dict_free, (void (*)(void *))ds_free};

void script_init(void) {
    L = create_state();
    scripts = dict_create(&scripts_dict_type);
    server.script_client = client_create_fake();
    server.script_client->flags |= CLIENT_DENY_BLOCKING;
}

ds script_info_memory(ds s) {
    size_t bodies = 0;
    dict_iter it;
    dict_iter_init(&it, scripts);
    for (dict_entry *e; (e = dict_iter_next(&it));) bodies += ds_alloc_size(dict_entry_val(e)) + 40;
    dict_iter_release(&it);
    size_t lua = L ? (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB, 0) : 0;
    return ds_catfmt(s, "used_memory_lua:%zu\r\nused_memory_vm_eval:%zu\r\nused_memory_scripts_eval:%zu\r\n"
                        "number_of_cached_scripts:%zu\r\n",
                     lua, lua, bodies, dict_size(scripts));
}

void script_free(void) {
    if (!L) return;
    function_free_all();
    lua_close(L);
    L = NULL;
    dict_release(scripts);
    scripts = NULL;
    client_free_fake(server.script_client);
    server.script_client = NULL;
    zfree(call_argv);
    call_argv = NULL;
    call_argv_cap = 0;
}

/* ---------------- compiling ---------------- */

int script_compile(lua_State *l, const char *code, size_t len, const char *chunkname) {
    if (len && code[0] == LUA_SIGNATURE[0]) {
        lua_pushstring(l, "precompiled chunks are not allowed");
        return -1;
    }
    return luaL_loadbuffer(l, code, len, chunkname) == 0 ? 0 : -1;
}

int script_parse_flags(const char *s, size_t len, int *readonly, int *allow_oom) {
    while (len) {
        size_t n = 0;
        while (n < len && s[n] != ',') n++;
        if (n == 9 && !memcmp(s, "no-writes", 9)) *readonly = 1;
        else if (n == 9 && !memcmp(s, "allow-oom", 9)) *allow_oom = 1;
        else if (!((n == 11 && !memcmp(s, "allow-stale", 11)) || (n == 10 && !memcmp(s, "no-cluster", 10)) ||
                   (n == 21 && !memcmp(s, "allow-cross-slot-keys", 21))))
            return -1;
        s += n;
        len -= n;
        if (len) {
            s++;
            len--;
        }
    }
    return 0;
}

int script_parse_shebang(const char *code, size_t len, ds *name, ds *flags, ds *err) {
    *name = *flags = NULL;
    if (len < 2 || code[0] != '#' || code[1] != '!') return 0;
    const char *nl = memchr(code, '\n', len);
    size_t line_len = nl ? (size_t)(nl - code) : len;
    ds line = ds_new(code + 2, line_len - 2);
    size_t n = strcspn(line, " ");
    if (n != 3 || memcmp(line, "lua", 3)) {
        *err = ds_catfmt(ds_empty(64), "Unexpected engine in script shebang: %.*s", (int)n, line);
        ds_free(line);
        return -1;
    }
    char *p = line + n;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        size_t w = strcspn(p, " ");
        if (w > 5 && !memcmp(p, "name=", 5)) {
            ds_free(*name);
            *name = ds_new(p + 5, w - 5);
        } else if (w >= 6 && !memcmp(p, "flags=", 6)) {
            ds_free(*flags);
            *flags = ds_new(p + 6, w - 6);
        } else {
            *err = ds_catfmt(ds_empty(64), "Unknown lua shebang option: %.*s", (int)w, p);
            ds_free(line);
            ds_free(*name);
            ds_free(*flags);
            *name = *flags = NULL;
            return -1;
        }
        p += w;
    }
    ds_free(line);
    return 0;
}

/* Compiles body (if not cached) and pushes its function; fills sha.
 * Returns 0, or -1 after replying the error to c. */
static int load_script(client *c, const char *body, size_t len, char sha[41]) {
    sha1hex(sha, body, len);
    lua_rawgeti(L, LUA_REGISTRYINDEX, scripts_ref);
    lua_getfield(L, -1, sha);
    if (!lua_isnil(L, -1)) {
        lua_remove(L, -2);
        return 0;
    }
    lua_pop(L, 1);
    /* a "#!" line becomes a Lua comment so that lines keep their numbers */
    ds code = ds_new(body, len);
    if (len >= 2 && body[0] == '#' && body[1] == '!') code[0] = code[1] = '-';
    if (script_compile(L, code, ds_len(code), "@user_script") != 0) {
        add_reply_errorf(c, "Error compiling script (new function): %s", lua_tostring(L, -1));
        lua_pop(L, 2);
        ds_free(code);
        return -1;
    }
    ds_free(code);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, sha);
    lua_remove(L, -2);
    dict_add(scripts, ds_new(sha, 40), ds_new(body, len));
    return 0;
}

/* ---------------- running ---------------- */

/* Raised at every instruction once a script was killed. */
static void kill_hook(lua_State *l, lua_Debug *ar) {
    (void)ar;
    lua_sethook(l, kill_hook, LUA_MASKCOUNT, 1);
    raise_error(l, run.spec->is_eval ? "ERR Script killed by user with SCRIPT KILL..."
                                     : "ERR Script killed by user with FUNCTION KILL...");
}

static void hook(lua_State *l, lua_Debug *ar) {
    (void)ar;
    if (script_loading_library && util_mstime() - script_load_start_ms > LOAD_TIMEOUT_MS)
        raise_error(l, "ERR FUNCTION LOAD timeout");
    if (!server.in_script) return;
    int64_t elapsed = util_mstime() - run.start_ms;
    if (!server.script_busy && elapsed >= server.busy_reply_threshold) {
        server_log(LL_WARNING, "Slow script detected: still in execution after %lld milliseconds. You can try "
                               "killing the script using the %s command. Script name is: %s.",
                   (long long)elapsed, run.spec->is_eval ? "SCRIPT KILL" : "FUNCTION KILL", run.spec->name);
        server.script_busy = 1;
    }
    if (server.script_busy) server_process_events_while_blocked();
    if (server.loop && server.loop->stop) { /* SHUTDOWN NOSAVE arrived: it already prepared the exit */
        server_log(LL_WARNING, "Shutdown requested while a script was running: exiting now.");
        _exit(0);
    }
    if (run.killed) kill_hook(l, ar);
}

int script_refuse_busy(client *c, const command *cmd) {
    if (!server.script_busy || c == server.script_client) return 0;
    if (cmd->flags & CMD_ALLOW_BUSY) return 0;
    if (cmd->proc == shutdownCommand) {
        for (int i = 1; i < c->argc; i++)
            if (arg_is(c, i, "nosave")) return 0;
    }
    add_reply_errorf(c, "-BUSY Redis is busy running a script. You can only call %s or SHUTDOWN NOSAVE.",
                     run.spec && !run.spec->is_eval ? "FUNCTION KILL" : "SCRIPT KILL");
    return 1;
}

/* Formats the error at the top of the stack as Redis does and replies it. */
static void reply_run_error(client *c, const script_run_spec *spec) {
    const char *text = NULL;
    int has_code = 0;
    if (lua_istable(L, -1)) {
        raw_field(L, -1, "err");
        if (lua_isstring(L, -1)) {
            text = lua_tostring(L, -1);
            has_code = 1;
        }
    } else {
        lua_pushvalue(L, -1);
        text = lua_tostring(L, -1);
    }
    if (!text) text = "nil";
    add_reply_errorf(c, "%s%s script: %s, on %s:%d.", has_code ? "-" : "", text, spec->name, spec->where,
                     run.err_line);
}

void script_run(client *c, int nargs, const script_run_spec *spec) {
    int base = lua_gettop(L) - nargs - 1;
    lua_rawgeti(L, LUA_REGISTRYINDEX, handler_ref); /* not a new closure per run */
    lua_insert(L, base + 1);
    memset(&run, 0, sizeof(run));
    run.spec = spec;
    run.start_ms = util_mstime();
    run.resp = 2;
    run.db = c->db;
    server.in_script = 1;
    server.script_caller = c;
    lua_sethook(L, hook, LUA_MASKCOUNT, HOOK_INSTRUCTIONS);
    int status = lua_pcall(L, nargs, 1, base + 1);
    lua_sethook(L, hook, LUA_MASKCOUNT, HOOK_INSTRUCTIONS);
    if (server.script_busy)
        server_log(LL_WARNING, "Slow script finished after %lld milliseconds.", (long long)(util_mstime() - run.start_ms));
    server.in_script = 0;
    server.script_busy = 0;
    server.script_caller = NULL;
    if (status != 0) reply_run_error(c, spec);
    else reply_value(c, L, 0);
    lua_settop(L, base);
    run.spec = NULL;
    /* Lua's own incremental collector runs as scripts allocate, and keeps the
     * heap under about twice what is live. Garbage a big script leaves behind
     * would wait for that collector until small scripts had allocated as much
     * again, so every GC_PERIOD runs, while the heap is above gc_limit_kb,
     * an explicit step of GC_STEP_KB runs. The first cycle such steps end may
     * have begun inside the big script and kept its garbage; the second
     * began after it, so the heap it leaves is what is live, and the limit
     * becomes twice that (at least GC_MIN_LIMIT_KB). A step on every run had
     * re-marked the whole Lua heap every few dozen runs: EVALSHA of a
     * one-INCR script ran 25% slower. */
    if (++gc_runs >= GC_PERIOD) {
        gc_runs = 0;
        if (lua_gc(L, LUA_GCCOUNT, 0) <= gc_limit_kb) {
            gc_cycles = 0;
        } else if (lua_gc(L, LUA_GCSTEP, GC_STEP_KB) && ++gc_cycles >= 2) {
            int kb = lua_gc(L, LUA_GCCOUNT, 0);
            gc_limit_kb = kb * 2 > GC_MIN_LIMIT_KB ? kb * 2 : GC_MIN_LIMIT_KB;
            gc_cycles = 0;
        }
    }
}

/* Kills the running script (is_eval: SCRIPT KILL, else FUNCTION KILL). */
static void kill_command(client *c, int is_eval) {
    if (!server.in_script || !run.spec) {
        add_reply_error(c, "-NOTBUSY No scripts in execution right now.");
        return;
    }
    if (run.spec->is_eval != is_eval) { /* as Redis: the other kind's KILL gets the busy error */
        add_reply_errorf(c, "-BUSY Redis is busy running a script. You can only call %s or SHUTDOWN NOSAVE.",
                         run.spec->is_eval ? "SCRIPT KILL" : "FUNCTION KILL");
        return;
    }
    if (run.wrote) {
        add_reply_error(c, "-UNKILLABLE Sorry the script already executed write commands against the dataset. You "
                           "can either wait the script termination or kill the server in a hard way using the "
                           "SHUTDOWN NOSAVE command.");
        return;
    }
    run.killed = 1;
    add_reply_ok(c);
}

void script_kill(client *c, int is_eval) { kill_command(c, is_eval); }

/* Fills the running script's fields for FUNCTION STATS; 0 when none. */
int script_running_info(const char **name, int64_t *duration_ms, int *is_eval) {
    if (!server.in_script || !run.spec) return 0;
    *name = run.spec->name;
    *duration_ms = util_mstime() - run.start_ms;
    *is_eval = run.spec->is_eval;
    return 1;
}

/* ---------------- EVAL ---------------- */

/* Parses numkeys at argv[2]; replies and returns -1 when invalid. */
static int parse_numkeys(client *c, long long *numkeys) {
    if (arg_long(c, 2, numkeys, NULL) < 0) return -1;
    if (*numkeys > c->argc - 3) {
        add_reply_error(c, "Number of keys can't be greater than number of args");
        return -1;
    }
    if (*numkeys < 0) {
        add_reply_error(c, "Number of keys can't be negative");
        return -1;
    }
    return 0;
}

static void set_global_array(const char *name, resp_arg *argv, int n) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, globals_ref);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushlstring(L, argv[i].ptr, argv[i].len);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

static int lookup_sha(const resp_arg *a, char sha[41]) {
    if (a->len != 40) return -1;
    for (int i = 0; i < 40; i++) {
        char ch = a->ptr[i];
        sha[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    }
    sha[40] = '\0';
    lua_rawgeti(L, LUA_REGISTRYINDEX, scripts_ref);
    lua_getfield(L, -1, sha);
    lua_remove(L, -2);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

/* The flags of a script's "#!lua flags=..." line; -1 after replying. */
static int body_flags(client *c, const char *body, size_t len, int *readonly, int *allow_oom) {
    ds name, flags, err = NULL;
    if (script_parse_shebang(body, len, &name, &flags, &err) < 0) {
        add_reply_error(c, err);
        ds_free(err);
        return -1;
    }
    int rc = 0;
    if (name) {
        add_reply_error(c, "Unknown lua shebang option: name");
        rc = -1;
    } else if (flags && script_parse_flags(flags, ds_len(flags), readonly, allow_oom) < 0) {
        add_reply_errorf(c, "Unexpected flag in script shebang: %s", flags);
        rc = -1;
    }
    ds_free(name);
    ds_free(flags);
    return rc;
}

static void eval_generic(client *c, int by_sha, int readonly) {
    long long numkeys;
    if (parse_numkeys(c, &numkeys) < 0) return;
    char sha[41];
    if (by_sha) {
        if (lookup_sha(&c->argv[1], sha) < 0) {
            add_reply_error(c, "-NOSCRIPT No matching script. Please use EVAL.");
            return;
        }
    } else if (load_script(c, c->argv[1].ptr, c->argv[1].len, sha) < 0) {
        return;
    }
    dict_entry *e = ds_dict_find(scripts, sha, 40);
    ds body = dict_entry_val(e);
    script_run_spec spec = {sha, "@user_script", 1, readonly, 0};
    if (body_flags(c, body, ds_len(body), &spec.readonly, &spec.allow_oom) < 0) {
        lua_pop(L, 1);
        return;
    }
    /* a script with a shebang declares whether it writes: as in Redis 7 it is
     * refused at once above maxmemory unless no-writes or allow-oom */
    if (ds_len(body) >= 2 && body[0] == '#' && body[1] == '!' && !spec.readonly && !spec.allow_oom &&
        server.maxmemory && (long long)zmalloc_used_memory() > server.maxmemory) {
        add_reply_error(c, "-OOM command not allowed when used memory > 'maxmemory'.");
        lua_pop(L, 1);
        return;
    }
    set_global_array("KEYS", c->argv + 3, (int)numkeys);
    set_global_array("ARGV", c->argv + 3 + numkeys, c->argc - 3 - (int)numkeys);
    script_run(c, 0, &spec);
}

void evalCommand(client *c) { eval_generic(c, 0, 0); }
void evalRoCommand(client *c) { eval_generic(c, 0, 1); }
void evalShaCommand(client *c) { eval_generic(c, 1, 0); }
void evalShaRoCommand(client *c) { eval_generic(c, 1, 1); }

int script_command_keys(const command *cmd, const resp_arg *argv, int argc, int *first, int *count) {
    command_proc *p = cmd->proc;
    if (p != evalCommand && p != evalRoCommand && p != evalShaCommand && p != evalShaRoCommand &&
        p != fcallCommand && p != fcallRoCommand)
        return 0;
    long long n;
    *first = 3;
    *count = 0;
    if (argc >= 3 && util_str2ll(argv[2].ptr, argv[2].len, &n) && n >= 0 && n <= argc - 3) *count = (int)n;
    return 1;
}

/* ---------------- SCRIPT ---------------- */

static void script_flush(void) {
    lua_newtable(L);
    lua_rawseti(L, LUA_REGISTRYINDEX, scripts_ref);
    dict_clear(scripts);
    lua_gc(L, LUA_GCCOLLECT, 0);
    gc_limit_kb = GC_MIN_LIMIT_KB; /* what was live may be gone */
    gc_cycles = 0;
}

void scriptCommand(client *c) {
    const char *sub = c->cmd->shortname;
    if (!strcmp(sub, "load")) {
        char sha[41];
        if (load_script(c, c->argv[2].ptr, c->argv[2].len, sha) < 0) return;
        lua_pop(L, 1);
        add_reply_bulk(c, sha, 40);
    } else if (!strcmp(sub, "exists")) {
        add_reply_array_len(c, c->argc - 2);
        for (int i = 2; i < c->argc; i++) {
            char sha[41];
            int found = lookup_sha(&c->argv[i], sha) == 0;
            if (found) lua_pop(L, 1);
            add_reply_long(c, found);
        }
    } else if (!strcmp(sub, "flush")) {
        if (c->argc > 3 || (c->argc == 3 && !arg_is(c, 2, "sync") && !arg_is(c, 2, "async"))) {
            add_reply_error(c, "SCRIPT FLUSH only support SYNC|ASYNC option");
            return;
        }
        script_flush();
        add_reply_ok(c);
    } else if (!strcmp(sub, "kill")) {
        kill_command(c, 1);
    } else if (!strcmp(sub, "help")) {
        static const char *help[] = {
            "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
            "HELP",
            "    Print this help.",
            NULL};
        add_reply_help(c, help);
    }
}
