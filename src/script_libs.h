/* script_libs.h -- the cmsgpack and struct libraries of the Lua sandbox
 * (script_libs.c). Pure: only Lua's C API, no server header. */
#ifndef PHENIX_SCRIPT_LIBS_H
#define PHENIX_SCRIPT_LIBS_H

#include <lua5.1/lua.h>

/* A lua_CFunction: pushes a new table {pack, unpack, unpack_one,
 * unpack_limit, _NAME, _VERSION, _DESCRIPTION} (MessagePack) and returns
 * 1. Registers a metatable in the registry for its encode buffers. Raises
 * a Lua error only when memory runs out. */
int script_luaopen_cmsgpack(lua_State *L);
/* A lua_CFunction: pushes a new table {pack, unpack, size} (binary
 * structs, Roberto Ierusalimschy's struct library format) and returns 1. */
int script_luaopen_struct(lua_State *L);
/* Opens both as the globals cmsgpack and struct of L (the caller makes
 * them read-only if it wants). Raises a Lua error only when memory runs
 * out (call it where a Lua error can be caught or is fatal anyway). */
void script_libs_open(lua_State *L);

#endif
