/* function.c -- Redis 7 functions on the Lua engine of script.c: FUNCTION
 * LOAD [REPLACE] | LIST [LIBRARYNAME pattern] [WITHCODE] | DELETE | FLUSH |
 * DUMP | RESTORE [FLUSH|APPEND|REPLACE] | STATS | KILL | HELP, and FCALL /
 * FCALL_RO.
 *
 * A library is code that starts with "#!lua name=<lib>". FUNCTION LOAD
 * compiles it and runs its top level once; each redis.register_function
 * call there (positional: name, callback; or a table: function_name,
 * callback, flags, description) adds a function to a library under
 * construction. Only when the code ran without error, registered at least
 * one function and no name collides with another library's function is
 * the library committed: loading is all or nothing, and REPLACE swaps the
 * old library for the new one in the same step. During the top-level run
 * redis.call is unavailable, as in Redis.
 *
 * State: `libraries` (name -> library) and `functions` (name -> fn_def,
 * the index FCALL uses, O(1)). Each function's Lua closure is kept in the
 * Lua registry (luaL_ref) and released when its library goes.
 *
 * FCALL calls the closure with two tables, the keys and the arguments,
 * through script_run (time limit, kill, conversions, errors suffixed
 * "script: <function>, on @user_function:<line>."). Flags: no-writes
 * makes the run read-only (and is required by FCALL_RO), allow-oom lets
 * deny-oom commands run above maxmemory; allow-stale, no-cluster and
 * allow-cross-slot-keys are accepted and have no effect in standalone mode.
 *
 * FUNCTION DUMP's payload is Phenix's own (Redis's is RDB-encoded): the
 * bytes "PHFN", a version byte (1), then per library a 4-byte
 * little-endian length and the code, then a 64-bit FNV-1a hash of all the
 * preceding bytes, little-endian. RESTORE checks the hash and loads each
 * library as FUNCTION LOAD would.
 *
 * Names: function_* for what script.c calls; lib_* / fn_* helpers. Ideas
 * from the Redis functions documentation; the code is this project's own. */
#include "script.h"

typedef struct library library;

typedef struct fn_def {
    ds name;
    ds desc;       /* NULL when none */
    int flags;     /* FN_* */
    int ref;       /* registry reference of the Lua closure */
    library *lib;
} fn_def;

struct library {
    ds name;
    ds code;
    fn_def **fns;
    int nfns;
};

enum { FN_NO_WRITES = 1, FN_ALLOW_OOM = 2, FN_ALLOW_STALE = 4, FN_NO_CLUSTER = 8, FN_CROSS_SLOT = 16 };
static const struct {
    const char *name;
    int flag;
} fn_flag_names[] = {{"no-writes", FN_NO_WRITES},
                     {"allow-oom", FN_ALLOW_OOM},
                     {"allow-stale", FN_ALLOW_STALE},
                     {"no-cluster", FN_NO_CLUSTER},
                     {"allow-cross-slot-keys", FN_CROSS_SLOT}};
#define N_FN_FLAGS (sizeof(fn_flag_names) / sizeof(fn_flag_names[0]))

static const dict_type name_dict_type = {ds_dict_hash, ds_dict_eq, ds_dict_free, NULL};
static dict *libraries; /* ds name -> library* */
static dict *functions; /* ds name -> fn_def* */
static library *building; /* the library FUNCTION LOAD is running */

static void lib_free(library *lib) {
    lua_State *L = script_lua();
    for (int i = 0; i < lib->nfns; i++) {
        if (L) luaL_unref(L, LUA_REGISTRYINDEX, lib->fns[i]->ref);
        ds_free(lib->fns[i]->name);
        ds_free(lib->fns[i]->desc);
        zfree(lib->fns[i]);
    }
    zfree(lib->fns);
    ds_free(lib->name);
    ds_free(lib->code);
    zfree(lib);
}

static void ensure_dicts(void) {
    if (libraries) return;
    libraries = dict_create(&name_dict_type);
    functions = dict_create(&name_dict_type);
}

/* Removes lib from the indexes (not freed). */
static void lib_unlink(library *lib) {
    for (int i = 0; i < lib->nfns; i++) dict_delete(functions, lib->fns[i]->name);
    dict_delete(libraries, lib->name);
}

static void lib_link(library *lib) {
    dict_add(libraries, ds_dup(lib->name), lib);
    for (int i = 0; i < lib->nfns; i++) dict_add(functions, ds_dup(lib->fns[i]->name), lib->fns[i]);
}

static void flush_all(void) {
    ensure_dicts();
    dict_iter it;
    dict_iter_init(&it, libraries);
    for (dict_entry *e; (e = dict_iter_next(&it));) lib_free(dict_entry_val(e));
    dict_iter_release(&it);
    dict_clear(libraries);
    dict_clear(functions);
}

void function_free_all(void) {
    if (!libraries) return;
    flush_all();
    dict_release(libraries);
    dict_release(functions);
    libraries = functions = NULL;
}

static int valid_name(const char *p, size_t len) {
    if (len == 0) return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = p[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'))
            return 0;
    }
    return 1;
}

/* ---------------- redis.register_function ---------------- */

static int reg_error(lua_State *L, const char *msg) {
    script_push_error(L, msg);
    return lua_error(L);
}

/* Reads the flags table at idx into *flags; -1 on an unknown flag. */
static int read_flags(lua_State *L, int idx, int *flags) {
    for (int i = 1;; i++) {
        lua_rawgeti(L, idx, i);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            return 0;
        }
        const char *f = lua_tostring(L, -1);
        size_t k;
        for (k = 0; k < N_FN_FLAGS; k++)
            if (f && !strcmp(f, fn_flag_names[k].name)) break;
        lua_pop(L, 1);
        if (k == N_FN_FLAGS) return -1;
        *flags |= fn_flag_names[k].flag;
    }
}

int function_register_from_lua(lua_State *L) {
    if (!script_loading_library || !building)
        return reg_error(L, "ERR redis.register_function can only be called on FUNCTION LOAD command");
    int argc = lua_gettop(L);
    int flags = 0;
    const char *desc = NULL;
    if (argc == 1) {
        if (!lua_istable(L, 1))
            return reg_error(L, "ERR calling redis.register_function with a single argument is only applicable to "
                                "Lua table (representing named arguments).");
        lua_getfield(L, 1, "function_name");
        lua_getfield(L, 1, "callback");
        lua_getfield(L, 1, "flags");
        lua_getfield(L, 1, "description");
        if (!lua_isnil(L, 4) && !lua_istable(L, 4))
            return reg_error(L, "ERR flags argument to redis.register_function must be a table representing "
                                "function flags");
        if (lua_istable(L, 4) && read_flags(L, 4, &flags) < 0) return reg_error(L, "ERR unknown flag given");
        if (!lua_isnil(L, 5) && lua_type(L, 5) != LUA_TSTRING)
            return reg_error(L, "ERR description argument given to redis.register_function must be a string");
        desc = lua_tostring(L, 5);
        lua_pushnil(L);
        while (lua_next(L, 1)) { /* only the four known keys */
            const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
            if (strcmp(k, "function_name") && strcmp(k, "callback") && strcmp(k, "flags") && strcmp(k, "description"))
                return reg_error(L, "ERR unknown argument given to redis.register_function");
            lua_pop(L, 1);
        }
    } else if (argc == 2) {
        lua_pushvalue(L, 1);
        lua_pushvalue(L, 2);
    } else {
        return reg_error(L, "ERR wrong number of arguments to redis.register_function");
    }
    int name_idx = argc == 1 ? 2 : 3, cb_idx = name_idx + 1;
    if (lua_type(L, name_idx) != LUA_TSTRING)
        return reg_error(L, "ERR function_name argument given to redis.register_function must be a string");
    if (!lua_isfunction(L, cb_idx))
        return reg_error(L, "ERR callback argument given to redis.register_function must be a function");
    size_t nlen;
    const char *name = lua_tolstring(L, name_idx, &nlen);
    if (!valid_name(name, nlen))
        return reg_error(L, "ERR Library names can only contain letters, numbers, or underscores(_) and must be at "
                            "least one character long");
    for (int i = 0; i < building->nfns; i++)
        if (ds_len(building->fns[i]->name) == nlen && !memcmp(building->fns[i]->name, name, nlen))
            return reg_error(L, "ERR Function already exists in the library");
    fn_def *fn = zcalloc(sizeof(*fn));
    fn->name = ds_new(name, nlen);
    fn->desc = desc ? ds_from_cstr(desc) : NULL;
    fn->flags = flags;
    fn->lib = building;
    lua_pushvalue(L, cb_idx);
    fn->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    building->fns = zrealloc(building->fns, sizeof(fn_def *) * (size_t)(building->nfns + 1));
    building->fns[building->nfns++] = fn;
    return 0;
}

/* ---------------- loading ---------------- */

/* Compiles and runs code; returns the new (unlinked) library, or NULL
 * with *err (a new ds, without the "ERR " prefix). */
static library *lib_create(const char *code, size_t len, ds *err) {
    ds name = NULL, flags = NULL, perr = NULL;
    if (len < 2 || code[0] != '#' || code[1] != '!') {
        *err = ds_from_cstr("Missing library metadata");
        return NULL;
    }
    if (script_parse_shebang(code, len, &name, &flags, &perr) < 0 || !name || flags || !valid_name(name, ds_len(name))) {
        ds_free(perr);
        ds_free(name);
        ds_free(flags);
        *err = ds_from_cstr("Invalid library metadata");
        return NULL;
    }
    lua_State *L = script_lua();
    int top = lua_gettop(L);
    ds body = ds_new(code, len);
    body[0] = body[1] = '-'; /* the "#!" line becomes a comment: line numbers stay */
    int rc = script_compile(L, body, ds_len(body), "@user_function");
    ds_free(body);
    if (rc != 0) {
        *err = ds_catfmt(ds_empty(64), "Error compiling function: %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        ds_free(name);
        return NULL;
    }
    library *lib = zcalloc(sizeof(*lib));
    lib->name = name;
    lib->code = ds_new(code, len);
    building = lib;
    script_loading_library = 1;
    script_load_start_ms = util_mstime();
    rc = lua_pcall(L, 0, 0, 0);
    script_loading_library = 0;
    building = NULL;
    if (rc != 0) {
        const char *msg = NULL;
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "err");
            msg = lua_tostring(L, -1);
            *err = ds_catfmt(ds_empty(64), "Error registering functions: %s", msg ? msg : "unknown error");
        } else {
            msg = lua_tostring(L, -1);
            *err = ds_catfmt(ds_empty(64), "Error registering functions: ERR %s", msg ? msg : "unknown error");
        }
        lua_settop(L, top);
        lib_free(lib);
        return NULL;
    }
    if (lib->nfns == 0) {
        *err = ds_from_cstr("No functions registered");
        lib_free(lib);
        return NULL;
    }
    return lib;
}

/* Checks that the functions of lib collide with no library's except
 * `replacing`'s; -1 with *err otherwise. */
static int lib_check_collisions(library *lib, library *replacing, ds *err) {
    for (int i = 0; i < lib->nfns; i++) {
        dict_entry *e = dict_find(functions, lib->fns[i]->name);
        if (e && ((fn_def *)dict_entry_val(e))->lib != replacing) {
            *err = ds_catfmt(ds_empty(64), "Function %s already exists", lib->fns[i]->name);
            return -1;
        }
    }
    return 0;
}

/* Loads code; replace: an existing library of that name is swapped.
 * Returns the committed library or NULL with *err. */
static library *lib_load(const char *code, size_t len, int replace, ds *err) {
    ensure_dicts();
    library *lib = lib_create(code, len, err);
    if (!lib) return NULL;
    dict_entry *e = dict_find(libraries, lib->name);
    library *old = e ? dict_entry_val(e) : NULL;
    if (old && !replace) {
        *err = ds_catfmt(ds_empty(64), "Library '%s' already exists", lib->name);
        lib_free(lib);
        return NULL;
    }
    if (lib_check_collisions(lib, old, err) < 0) {
        lib_free(lib);
        return NULL;
    }
    if (old) {
        lib_unlink(old);
        lib_free(old);
    }
    lib_link(lib);
    return lib;
}

/* ---------------- FCALL ---------------- */

static void fcall_generic(client *c, int ro) {
    ensure_dicts();
    dict_entry *e = ds_dict_find(functions, c->argv[1].ptr, c->argv[1].len);
    if (!e) {
        add_reply_error(c, "Function not found");
        return;
    }
    fn_def *fn = dict_entry_val(e);
    long long numkeys;
    if (arg_long(c, 2, &numkeys, NULL) < 0) return;
    if (numkeys > c->argc - 3) {
        add_reply_error(c, "Number of keys can't be greater than number of args");
        return;
    }
    if (numkeys < 0) {
        add_reply_error(c, "Number of keys can't be negative");
        return;
    }
    if (ro && !(fn->flags & FN_NO_WRITES)) {
        add_reply_error(c, "Can not execute a script with write flag using *_ro command.");
        return;
    }
    int readonly = (fn->flags & FN_NO_WRITES) != 0;
    if (!readonly && !(fn->flags & FN_ALLOW_OOM) && server.maxmemory &&
        (long long)zmalloc_used_memory() > server.maxmemory) {
        add_reply_error(c, "-OOM command not allowed when used memory > 'maxmemory'.");
        return;
    }
    lua_State *L = script_lua();
    lua_rawgeti(L, LUA_REGISTRYINDEX, fn->ref);
    for (int part = 0; part < 2; part++) {
        int from = part ? 3 + (int)numkeys : 3, to = part ? c->argc : 3 + (int)numkeys;
        lua_createtable(L, to - from, 0);
        for (int i = from; i < to; i++) {
            lua_pushlstring(L, c->argv[i].ptr, c->argv[i].len);
            lua_rawseti(L, -2, i - from + 1);
        }
    }
    script_run_spec spec = {fn->name, "@user_function", 0, readonly, (fn->flags & FN_ALLOW_OOM) != 0};
    script_run(c, 2, &spec);
}

void fcallCommand(client *c) { fcall_generic(c, 0); }
void fcallRoCommand(client *c) { fcall_generic(c, 1); }

/* ---------------- FUNCTION ---------------- */

static void reply_library(client *c, library *lib, int withcode) {
    add_reply_map_len(c, withcode ? 4 : 3);
    add_reply_bulk_cstr(c, "library_name");
    add_reply_bulk(c, lib->name, ds_len(lib->name));
    add_reply_bulk_cstr(c, "engine");
    add_reply_bulk_cstr(c, "LUA");
    add_reply_bulk_cstr(c, "functions");
    add_reply_array_len(c, lib->nfns);
    for (int i = 0; i < lib->nfns; i++) {
        fn_def *fn = lib->fns[i];
        add_reply_map_len(c, 3);
        add_reply_bulk_cstr(c, "name");
        add_reply_bulk(c, fn->name, ds_len(fn->name));
        add_reply_bulk_cstr(c, "description");
        if (fn->desc) add_reply_bulk(c, fn->desc, ds_len(fn->desc));
        else add_reply_null(c);
        add_reply_bulk_cstr(c, "flags");
        int n = 0;
        for (size_t k = 0; k < N_FN_FLAGS; k++) n += (fn->flags & fn_flag_names[k].flag) != 0;
        add_reply_set_len(c, n);
        for (size_t k = 0; k < N_FN_FLAGS; k++)
            if (fn->flags & fn_flag_names[k].flag) add_reply_status(c, fn_flag_names[k].name);
    }
    if (withcode) {
        add_reply_bulk_cstr(c, "library_code");
        add_reply_bulk(c, lib->code, ds_len(lib->code));
    }
}

static void function_list(client *c) {
    int withcode = 0;
    const resp_arg *pat = NULL;
    for (int i = 2; i < c->argc; i++) {
        if (arg_is(c, i, "withcode") && !withcode) {
            withcode = 1;
        } else if (arg_is(c, i, "libraryname") && !pat) {
            if (i + 1 >= c->argc) {
                add_reply_error(c, "library name argument was not given");
                return;
            }
            pat = &c->argv[++i];
        } else {
            add_reply_errorf(c, "Unknown argument %.*s", (int)c->argv[i].len, c->argv[i].ptr);
            return;
        }
    }
    void *h = add_reply_deferred_len(c);
    long long n = 0;
    dict_iter it;
    dict_iter_init(&it, libraries);
    for (dict_entry *e; (e = dict_iter_next(&it));) {
        library *lib = dict_entry_val(e);
        if (pat && !util_glob_match(pat->ptr, pat->len, lib->name, ds_len(lib->name), 0)) continue;
        reply_library(c, lib, withcode);
        n++;
    }
    dict_iter_release(&it);
    set_deferred_array_len(c, h, n);
}

static uint64_t fnv1a(const char *p, size_t len) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static ds put_le(ds s, uint64_t v, int bytes) {
    char b[8];
    for (int i = 0; i < bytes; i++) b[i] = (char)(v >> (8 * i));
    return ds_cat(s, b, (size_t)bytes);
}

static uint64_t get_le(const char *p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)(unsigned char)p[i] << (8 * i);
    return v;
}

ds function_dump_payload(void) {
    ensure_dicts();
    ds s = ds_new("PHFN\x01", 5);
    dict_iter it;
    dict_iter_init(&it, libraries);
    for (dict_entry *e; (e = dict_iter_next(&it));) {
        library *lib = dict_entry_val(e);
        s = put_le(s, ds_len(lib->code), 4);
        s = ds_cat(s, lib->code, ds_len(lib->code));
    }
    dict_iter_release(&it);
    s = put_le(s, fnv1a(s, ds_len(s)), 8);
    return s;
}

static void function_dump(client *c) {
    ds s = function_dump_payload();
    add_reply_bulk(c, s, ds_len(s));
    ds_free(s);
}

/* Splits a dump payload into its libraries' code; -1 when malformed. */
static int parse_dump(const char *p, size_t len, ds **codes, int *n) {
    *codes = NULL;
    *n = 0;
    if (len < 13 || memcmp(p, "PHFN\x01", 5) || get_le(p + len - 8, 8) != fnv1a(p, len - 8)) return -1;
    size_t off = 5, end = len - 8;
    while (off < end) {
        if (end - off < 4) return -1;
        size_t l = (size_t)get_le(p + off, 4);
        off += 4;
        if (l > end - off) return -1;
        *codes = zrealloc(*codes, sizeof(ds) * (size_t)(*n + 1));
        (*codes)[(*n)++] = ds_new(p + off, l);
        off += l;
    }
    return 0;
}

enum { RESTORE_FLUSH = 0, RESTORE_APPEND = 1, RESTORE_REPLACE = 2 };

/* Loads every library of a dump payload under policy, all or nothing:
 * returns 0, or -1 with *err (a new ds, without "ERR "). */
static int restore_payload(const char *p, size_t len, int policy, ds *err) {
    ds *codes;
    int n;
    *err = NULL;
    if (parse_dump(p, len, &codes, &n) < 0) {
        for (int i = 0; i < n; i++) ds_free(codes[i]);
        zfree(codes);
        *err = ds_from_cstr("DUMP payload version or checksum are wrong");
        return -1;
    }
    /* load into a fresh set first, then check against what stays */
    dict *saved_libs = libraries, *saved_fns = functions;
    libraries = functions = NULL;
    for (int i = 0; i < n && !*err; i++)
        if (!lib_load(codes[i], ds_len(codes[i]), 0, err) && !*err) *err = ds_from_cstr("invalid library");
    ensure_dicts();
    dict *new_libs = libraries, *new_fns = functions;
    libraries = saved_libs;
    functions = saved_fns;
    ensure_dicts();
    if (!*err && policy != RESTORE_FLUSH) {
        dict_iter it;
        dict_iter_init(&it, new_libs);
        for (dict_entry *e; (e = dict_iter_next(&it)) && !*err;) {
            library *lib = dict_entry_val(e);
            dict_entry *old = dict_find(libraries, lib->name);
            if (old && policy == RESTORE_APPEND) *err = ds_catfmt(ds_empty(64), "Library %s already exists", lib->name);
            else if (lib_check_collisions(lib, old ? dict_entry_val(old) : NULL, err) < 0) break;
        }
        dict_iter_release(&it);
    }
    dict_iter it;
    dict_iter_init(&it, new_libs);
    if (!*err && policy == RESTORE_FLUSH) flush_all();
    for (dict_entry *e; (e = dict_iter_next(&it));) {
        library *lib = dict_entry_val(e);
        if (*err) {
            lib_free(lib);
            continue;
        }
        dict_entry *old = dict_find(libraries, lib->name);
        if (old) {
            library *o = dict_entry_val(old);
            lib_unlink(o);
            lib_free(o);
        }
        lib_link(lib);
    }
    dict_iter_release(&it);
    dict_release(new_libs);
    dict_release(new_fns);
    for (int i = 0; i < n; i++) ds_free(codes[i]);
    zfree(codes);
    return *err ? -1 : 0;
}

int function_restore_payload(const char *p, size_t len, ds *err) {
    ensure_dicts();
    return restore_payload(p, len, RESTORE_FLUSH, err);
}

/* FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]. */
static void function_restore(client *c) {
    int policy = RESTORE_APPEND;
    if (c->argc == 4) {
        if (arg_is(c, 3, "flush")) policy = RESTORE_FLUSH;
        else if (arg_is(c, 3, "append")) policy = RESTORE_APPEND;
        else if (arg_is(c, 3, "replace")) policy = RESTORE_REPLACE;
        else {
            add_reply_error(c, "Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
            return;
        }
    } else if (c->argc > 4) {
        add_reply_err_syntax(c);
        return;
    }
    ds err;
    if (restore_payload(c->argv[2].ptr, c->argv[2].len, policy, &err) < 0) {
        add_reply_error(c, err);
        ds_free(err);
        return;
    }
    server_incr_dirty(1);
    add_reply_ok(c);
}

static void function_stats(client *c) {
    const char *name;
    int64_t ms;
    int is_eval;
    int running = script_running_info(&name, &ms, &is_eval);
    if (running && is_eval) { /* as Redis: EVAL's busy error */
        add_reply_error(c, "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.");
        return;
    }
    add_reply_map_len(c, 2);
    add_reply_bulk_cstr(c, "running_script");
    if (running && server.script_caller) {
        client *caller = server.script_caller;
        add_reply_map_len(c, 3);
        add_reply_bulk_cstr(c, "name");
        add_reply_bulk_cstr(c, name);
        add_reply_bulk_cstr(c, "command");
        add_reply_array_len(c, caller->argc);
        for (int i = 0; i < caller->argc; i++) add_reply_bulk(c, caller->argv[i].ptr, caller->argv[i].len);
        add_reply_bulk_cstr(c, "duration_ms");
        add_reply_long(c, ms);
    } else {
        add_reply_null(c);
    }
    add_reply_bulk_cstr(c, "engines");
    add_reply_map_len(c, 1);
    add_reply_bulk_cstr(c, "LUA");
    add_reply_map_len(c, 2);
    add_reply_bulk_cstr(c, "libraries_count");
    add_reply_long(c, (long long)dict_size(libraries));
    add_reply_bulk_cstr(c, "functions_count");
    add_reply_long(c, (long long)dict_size(functions));
}

void functionCommand(client *c) {
    ensure_dicts();
    const char *sub = c->cmd->shortname;
    if (!strcmp(sub, "load")) {
        int replace = 0;
        if (c->argc == 4) {
            if (!arg_is(c, 2, "replace")) {
                add_reply_errorf(c, "Unknown option given: %.*s", (int)c->argv[2].len, c->argv[2].ptr);
                return;
            }
            replace = 1;
        } else if (c->argc > 4) {
            add_reply_err_syntax(c);
            return;
        }
        ds err = NULL;
        const resp_arg *code = &c->argv[c->argc - 1];
        library *lib = lib_load(code->ptr, code->len, replace, &err);
        if (!lib) {
            add_reply_error(c, err);
            ds_free(err);
            return;
        }
        server_incr_dirty(1);
        add_reply_bulk(c, lib->name, ds_len(lib->name));
    } else if (!strcmp(sub, "list")) {
        function_list(c);
    } else if (!strcmp(sub, "delete")) {
        dict_entry *e = ds_dict_find(libraries, c->argv[2].ptr, c->argv[2].len);
        if (!e) {
            add_reply_error(c, "Library not found");
            return;
        }
        library *lib = dict_entry_val(e);
        lib_unlink(lib);
        lib_free(lib);
        server_incr_dirty(1);
        add_reply_ok(c);
    } else if (!strcmp(sub, "flush")) {
        if (c->argc > 3 || (c->argc == 3 && !arg_is(c, 2, "sync") && !arg_is(c, 2, "async"))) {
            add_reply_error(c, "FUNCTION FLUSH only supports SYNC|ASYNC option");
            return;
        }
        flush_all();
        server_incr_dirty(1);
        add_reply_ok(c);
    } else if (!strcmp(sub, "dump")) {
        function_dump(c);
    } else if (!strcmp(sub, "restore")) {
        function_restore(c);
    } else if (!strcmp(sub, "stats")) {
        function_stats(c);
    } else if (!strcmp(sub, "kill")) {
        script_kill(c, 0);
    } else if (!strcmp(sub, "help")) {
        static const char *help[] = {
            "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "KILL",
            "    Kill the current running function.",
            "STATS",
            "    Return information about the current function running.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
            "HELP",
            "    Print this help.",
            NULL};
        add_reply_help(c, help);
    }
}
