/* script.h -- what function.c uses of the Lua engine in script.c. Not for
 * other files: they see the commands and server.in_script in server.h. */
#ifndef PHENIX_SCRIPT_H
#define PHENIX_SCRIPT_H

#include <lua5.1/lauxlib.h>
#include <lua5.1/lua.h>

#include "server.h"

/* What a run is allowed to do and how its errors are named. */
typedef struct script_run_spec {
    const char *name;  /* the script's SHA1 or the function's name (error suffixes, STATS) */
    const char *where; /* "@user_script" or "@user_function" */
    int is_eval;       /* EVAL family (SCRIPT KILL) or FCALL (FUNCTION KILL) */
    int readonly;      /* EVAL_RO / FCALL_RO / no-writes: write commands refused */
    int allow_oom;     /* allow-oom flag: deny-oom commands run above maxmemory */
} script_run_spec;

/* The shared Lua state (created by script_init). */
lua_State *script_lua(void);
/* Calls the Lua function on top of the stack with nargs arguments pushed
 * above it (the function and its arguments are popped), with the time
 * limit and kill machinery armed, and replies to c: the converted result,
 * or the error with Redis's " script: <name>, on <where>:<line>." suffix. */
void script_run(client *c, int nargs, const script_run_spec *spec);
/* Pushes a Lua table {err = text} (text is normalised the way
 * redis.error_reply does: "CODE message", ERR when no code). */
void script_push_error(lua_State *L, const char *text);
/* Compiles code as a chunk named chunkname ("@user_script"), refusing
 * precompiled bytecode; pushes the function (0) or an error string (-1). */
int script_compile(lua_State *L, const char *code, size_t len, const char *chunkname);
/* Parses a "#!<engine> key=value ..." first line. Returns 0 with *body
 * pointing just after the shebang line (code is left intact) and the
 * values found (NULL when absent, new ds the caller frees), or -1 with
 * *err (a new ds). A body without "#!" is returned as is, no values. */
int script_parse_shebang(const char *code, size_t len, ds *name, ds *flags, ds *err);
/* Parses comma-separated script flags (no-writes, allow-oom, allow-stale,
 * no-cluster, allow-cross-slot-keys); -1 on an unknown one. */
int script_parse_flags(const char *s, size_t len, int *readonly, int *allow_oom);
/* True while FUNCTION LOAD runs a library's top-level code: redis.call is
 * refused, redis.register_function allowed (function.c sets it). */
extern int script_loading_library;
/* When FUNCTION LOAD started running the library (its 500 ms limit). */
extern int64_t script_load_start_ms;
/* Called by redis.register_function (function.c implements it). */
int function_register_from_lua(lua_State *L);
/* SCRIPT KILL (is_eval) / FUNCTION KILL: replies OK, NOTBUSY or
 * UNKILLABLE. */
void script_kill(client *c, int is_eval);
/* The running script's name, age and kind for FUNCTION STATS; 0 when no
 * script runs. */
int script_running_info(const char **name, int64_t *duration_ms, int *is_eval);
/* Frees every function library (before the Lua state goes). */
void function_free_all(void);

#endif
