# The cmsgpack and struct libraries of the Lua sandbox (src/script_libs.c):
# exact MessagePack bytes for every format (checked against the spec),
# round trips of every Lua type, unpack / unpack_one / unpack_limit offsets,
# truncated, malformed and hostile input (huge declared lengths, deep
# nesting, too many values), the nesting limit of pack; struct pack / unpack
# / size with every format letter, alignment, endianness and every error;
# both libraries read-only and available to FUNCTION libraries. Runs
# against redis-server 7.0 too (the phenix-only test is tagged).

# Lua helpers prepended to every script: hex(s), dump(v) (a canonical text
# for any value, table keys sorted), dumpall(...) and perr(f) (the error
# message of f, without the script position, or "no error").
set ::libs_prelude {
local function hex(s)
  return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end))
end
local function dump(v)
  local t = type(v)
  if t == 'string' then return '"' .. v .. '"' end
  if t == 'number' then return string.format('%.17g', v) end
  if t ~= 'table' then return tostring(v) end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return dump(a) < dump(b) end)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = dump(k) .. '=' .. dump(v[k]) end
  return '{' .. table.concat(parts, ',') .. '}'
end
local function dumpall(...)
  local out = {}
  for i = 1, select('#', ...) do out[i] = dump((select(i, ...))) end
  return table.concat(out, ' ')
end
local function perr(f)
  local ok, e = pcall(f)
  if ok then return 'no error' end
  return (string.gsub(tostring(e), '^user_script:%d+: ', ''))
end
}

proc lua {body args} {
    r eval "$::libs_prelude\n$body" 0 {*}$args
}

# test, with the expected list written over several lines: both sides are
# compared in canonical list form.
proc libs_test {name code expected} {
    uplevel 1 [list test $name $code [list {*}$expected]]
}

# The hex of the MessagePack encoding of the Lua expression expr.
proc mp_hex {expr} {
    lua "return hex(cmsgpack.pack($expr))"
}

start_server {tags {scripting}} {
    libs_test "cmsgpack.pack: nil, booleans and the integer formats" {
        set out {}
        foreach e {nil true false 0 1 127 128 255 256 65535 65536 4294967295 4294967296 2^62
                   -1 -32 -33 -128 -129 -32768 -32769 -2147483648 -2147483649 -2^63 -0.0} {
            lappend out [mp_hex $e]
        }
        set out
    } {c0 c3 c2 00 01 7f cc80 ccff cd0100 cdffff ce00010000 ceffffffff cf0000000100000000 cf4000000000000000
       ff e0 d0df d080 d1ff7f d18000 d2ffff7fff d280000000 d3ffffffff7fffffff d38000000000000000 00}

    libs_test "cmsgpack.pack: float32 when the value survives it, else float64" {
        set out {}
        foreach e {1.5 -0.25 0.1 1e300 2^63 2^64 1/0 -1/0 0/0 -2^63-4096 3.4028234663852886e38} {
            lappend out [mp_hex $e]
        }
        set out
    } {ca3fc00000 cabe800000 cb3fb999999999999a cb7e37e43c8800759c ca5f000000 ca5f800000 ca7f800000
       caff800000 cbfff8000000000000 cbc3e0000000000002 ca7f7fffff}

    libs_test "cmsgpack.pack: fixstr, str8, str16, str32" {
        list [mp_hex {"abc"}] [mp_hex {""}] [mp_hex {string.rep("a", 31)}] \
            [lua {return hex(cmsgpack.pack(string.rep("a", 32)):sub(1, 3))}] \
            [lua {return hex(cmsgpack.pack(string.rep("a", 255)):sub(1, 3))}] \
            [lua {return hex(cmsgpack.pack(string.rep("a", 256)):sub(1, 4))}] \
            [lua {return hex(cmsgpack.pack(string.rep("a", 65535)):sub(1, 4))}] \
            [lua {return hex(cmsgpack.pack(string.rep("a", 65536)):sub(1, 6))}] \
            [lua {return #cmsgpack.pack(string.rep("a", 65536))}] [mp_hex {"a\0b"}]
    } {a3616263 a0 bf61616161616161616161616161616161616161616161616161616161616161 d92061 d9ff61
       da010061 daffff61 db0001000061 65541 a3610062}

    libs_test "cmsgpack.pack: arrays when the keys are exactly 1..n, else maps" {
        list [mp_hex {{1,2}}] [mp_hex {{}}] [mp_hex {{a=1}}] [mp_hex {{1,nil,3}}] [mp_hex {{[2]=1}}] \
            [mp_hex {{[0]=1}}] [mp_hex {{[1.5]=1}}] [mp_hex {{[1]=1,[2]=2,[4]=4}}] [mp_hex {{{}, {{}}}}] \
            [mp_hex {{"x", true, {y=false}}}]
    } {920102 90 81a16101 8201010303 810201 810001 81ca3fc0000001 83010102020404 92909190 93a178c381a179c2}

    libs_test "cmsgpack.pack: array16/32 and map16/32 headers" {
        lua {
            local function arr(n) local t = {} for i = 1, n do t[i] = 0 end return t end
            local function map(n) local t = {} for i = 1, n do t['k' .. i] = 0 end return t end
            return {hex(cmsgpack.pack(arr(15)):sub(1, 1)), hex(cmsgpack.pack(arr(16)):sub(1, 3)),
                    hex(cmsgpack.pack(arr(65535)):sub(1, 3)), hex(cmsgpack.pack(arr(65536)):sub(1, 5)),
                    hex(cmsgpack.pack(map(15)):sub(1, 1)), hex(cmsgpack.pack(map(16)):sub(1, 3)),
                    hex(cmsgpack.pack(map(65536)):sub(1, 5))}
        }
    } {9f dc0010 dcffff dd00010000 8f de0010 df00010000}

    libs_test "cmsgpack.pack: several arguments concatenate; functions and coroutines pack as nil" {
        list [mp_hex {1, "a", nil, true}] [mp_hex {function() end}] [mp_hex {coroutine.create(function() end)}] \
            [mp_hex {{f = function() end}}] [lua {return perr(function() return cmsgpack.pack() end)}]
    } {01a161c0c3 c0 c0 81a166c0 {bad argument #0 to 'pack' (MessagePack pack needs input.)}}

    libs_test "cmsgpack.pack: tables 16 levels deep pack, deeper ones are nil (cycles end there too)" {
        lua {
            local function nest(n, wrap) local t = 1 for i = 1, n do t = wrap(t) end return t end
            local function arr(t) return {t} end
            local function map(t) return {x = t} end
            local cyc = {}
            cyc[1] = cyc
            return {hex(cmsgpack.pack(nest(16, arr))), hex(cmsgpack.pack(nest(17, arr))),
                    hex(cmsgpack.pack(nest(40, arr))), hex(cmsgpack.pack(nest(17, map))):sub(-8),
                    hex(cmsgpack.pack(cyc))}
        }
    } {9191919191919191919191919191919101 91919191919191919191919191919191c0
       91919191919191919191919191919191c0 81a178c0 91919191919191919191919191919191c0}

    libs_test "cmsgpack round trips every type" {
        lua {
            local vals = {0, 1, -1, 127, 128, -32, -33, 255, 256, 65535, 65536, -32768, -32769,
                          2147483647, -2147483648, 4294967296, 2^53, -2^53, -2^63, 1.5, 0.1, -1e300, 1/0, -1/0,
                          '', 'abc', string.rep('z', 100), string.rep('y', 70000), '\0\1\255',
                          true, false, {}, {1, 2, 3}, {a = 1, b = {c = {1, 'two', false}}},
                          {[1] = 'a', [3] = 'c'}, {[-5] = 'neg', [2.5] = 'frac', [true] = 'bool'}}
            local bad = {}
            for i, v in ipairs(vals) do
              local back = cmsgpack.unpack(cmsgpack.pack(v))
              if dump(back) ~= dump(v) then bad[#bad + 1] = i .. ':' .. dump(back) end
            end
            local many = {cmsgpack.unpack(cmsgpack.pack(unpack(vals)))}
            if dump(many) ~= dump(vals) then bad[#bad + 1] = 'all' end
            local n = cmsgpack.unpack(cmsgpack.pack(0/0))
            if n == n then bad[#bad + 1] = 'nan' end
            return #bad == 0 and 'ok' or table.concat(bad, ' ')
        }
    } {ok}

    libs_test "cmsgpack.unpack decodes every format" {
        list [lua {return dumpall(cmsgpack.unpack('\1\127\128\144\160'))}] \
            [lua {return dumpall(cmsgpack.unpack('\224\255\192\194\195'))}] \
            [lua {return dumpall(cmsgpack.unpack('\204\200\205\255\255\206\255\255\255\255\207\0\0\0\1\0\0\0\0'))}] \
            [lua {return dumpall(cmsgpack.unpack('\208\128\209\128\0\210\128\0\0\0\211\255\255\255\255\255\255\255\254'))}] \
            [lua {return dumpall(cmsgpack.unpack('\202\63\192\0\0\203\63\248\0\0\0\0\0\0'))}] \
            [lua {return dumpall(cmsgpack.unpack('\163abc\217\2ab\218\0\1a\219\0\0\0\3xyz'))}] \
            [lua {return dumpall(cmsgpack.unpack('\146\1\2\220\0\1\3\221\0\0\0\0\147\1\192\3'))}] \
            [lua {return dumpall(cmsgpack.unpack('\129\161a\1\222\0\1\2\3\223\0\0\0\1\145\1\195'))}]
    } {{1 127 {} {} ""} {-32 -1 nil false true} {200 65535 4294967295 4294967296}
       {-128 -32768 -2147483648 -2} {1.5 1.5} {"abc" "ab" "a" "xyz"} {{1=1,2=2} {1=3} {} {1=1,3=3}}
       {{"a"=1} {2=3} {{1=1}=true}}}

    libs_test "cmsgpack.unpack: uint64 is read through int64, as Redis does" {
        lua {return dumpall(cmsgpack.unpack('\207\255\255\255\255\255\255\255\255\207\128\0\0\0\0\0\0\0'))}
    } {-1 -9.2233720368547758e+18}

    libs_test "cmsgpack.unpack: empty input, numbers as strings, wrong argument types" {
        list [lua {return select('#', cmsgpack.unpack(''))}] [lua {return dumpall(cmsgpack.unpack(5))}] \
            [lua {return perr(function() return cmsgpack.unpack() end)}] \
            [lua {return perr(function() return cmsgpack.unpack({}) end)}]
    } {0 53 {bad argument #1 to 'unpack' (string expected, got no value)}
       {bad argument #1 to 'unpack' (string expected, got table)}}

    libs_test "cmsgpack.unpack errors: truncated input, bad formats, ext types, nil and NaN map keys" {
        set out {}
        foreach s {{\205\1} {\146\1} {\163ab} {\1\2\217} {\129\192} {\129\1} {\203\0\0}
                   {\193} {\1\193} {\146\193} {\212\1a} {\214\1abcd} {\199\3\1abc} {\200\0\3\1abc}
                   {\201\0\0\0\3\1abc} {\216\1abcdefghabcdefgh} {\129\192\1} {\130\1\1\192\1}
                   {\129\203\127\248\0\0\0\0\0\0\1}} {
            lappend out [lua "return perr(function() return cmsgpack.unpack('$s') end)"]
        }
        set out
    } {{Missing bytes in input.} {Missing bytes in input.} {Missing bytes in input.} {Missing bytes in input.}
       {Missing bytes in input.} {Missing bytes in input.} {Missing bytes in input.}
       {Bad data format in input.} {Bad data format in input.} {Bad data format in input.}
       {Bad data format in input.} {Bad data format in input.} {Bad data format in input.}
       {Bad data format in input.} {Bad data format in input.} {Bad data format in input.}
       {table index is nil} {table index is nil} {table index is NaN}}

    libs_test "cmsgpack.unpack of hostile input: huge declared lengths cost nothing" {
        set out {}
        foreach s {{\219\255\255\255\255} {\218\255\255} {\221\255\255\255\255}
                   {\223\255\255\255\255} {\221\255\255\255\255\192\192} {\223\255\255\255\255\1\1\1}
                   {\220\255\255} {\222\255\255\1}} {
            lappend out [lua "return perr(function() return cmsgpack.unpack('$s') end)"]
        }
        set out
    } {{Missing bytes in input.} {Missing bytes in input.} {Missing bytes in input.} {Missing bytes in input.}
       {Missing bytes in input.} {Missing bytes in input.} {Missing bytes in input.} {Missing bytes in input.}}

    libs_test "cmsgpack.unpack: too many values or too deep nesting is a stack overflow error, not a crash" {
        set out [lua {
            return {perr(function() return select('#', cmsgpack.unpack(string.rep('\1', 100000))) end),
                    select('#', cmsgpack.unpack(string.rep('\1', 7999))),
                    perr(function() return cmsgpack.unpack(string.rep('\145', 100000) .. '\1') end),
                    perr(function() return cmsgpack.unpack(string.rep('\129\1', 100000) .. '\1') end),
                    perr(function() return cmsgpack.unpack(string.rep('\221\0\0\0\1', 50000) .. '\1') end),
                    type(cmsgpack.unpack(string.rep('\145', 3999) .. '\1')),
                    type(cmsgpack.unpack(string.rep('\129\1', 3999) .. '\1')),
                    perr(function() return cmsgpack.unpack_limit(string.rep('\1', 7999), 7999) end)}
        }]
        lappend out [r ping]
    } {{stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)} 7999
       {stack overflow (in function mp_decode_to_lua_array)}
       {stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)}
       {stack overflow (in function mp_decode_to_lua_array)} table table
       {stack overflow (in function mp_unpack_full)} PONG}

    libs_test "cmsgpack.unpack_one walks a stream: next offset first, -1 at the end" {
        lua {
            local s = cmsgpack.pack(1, {2, 3}, 'four')
            local out, off = {}, 0
            while off ~= -1 do
              local next_off, v = cmsgpack.unpack_one(s, off)
              out[#out + 1] = next_off .. ':' .. dump(v)
              off = next_off
            end
            out[#out + 1] = dumpall(cmsgpack.unpack_one(s))
            out[#out + 1] = dumpall(cmsgpack.unpack_one(s, #s))
            out[#out + 1] = dumpall(cmsgpack.unpack_one(''))
            out[#out + 1] = dumpall(cmsgpack.unpack_one(s, 1, 'ignored', 'too'))
            return out
        }
    } {{1:1} {4:{1=2,2=3}} {-1:"four"} {1 1} -1 -1 {4 {1=2,2=3}}}

    libs_test "cmsgpack.unpack_limit: at most limit values after the offset" {
        list [lua {return dumpall(cmsgpack.unpack_limit('\1\2\3', 2))}] \
            [lua {return dumpall(cmsgpack.unpack_limit('\1\2\3', 5))}] \
            [lua {return dumpall(cmsgpack.unpack_limit('\1\2\3', 2, 2))}] \
            [lua {return dumpall(cmsgpack.unpack_limit('\1\2\3', 1.7, 1.2))}] \
            [lua {return dumpall(cmsgpack.unpack_limit('\1\2\3', 0))}] \
            [lua {return dumpall(cmsgpack.unpack_limit('\1\2\3', 0, 1))}]
    } {{2 1 2} {-1 1 2 3} {-1 3} {2 2} {1 2 3} 1}

    libs_test "cmsgpack.unpack_one / unpack_limit errors" {
        set out {}
        foreach call {{unpack_one('\1\2\3', 4)} {unpack_one('\1\2\3', -1)} {unpack_limit('\1\2\3', -1)}
                      {unpack_limit('\1\2\3')} {unpack_limit('\1\2\3', 'x')} {unpack_one('\1\2\3', 'x')}
                      {unpack_one('\1\205\1', 1)} {unpack_one('\1\193', 1)} {unpack_one()}} {
            lappend out [lua "return perr(function() return cmsgpack.$call end)"]
        }
        set out
    } {{Start offset 4 greater than input length 3.} {Invalid request to unpack with offset of -1 and limit of 3.}
       {Invalid request to unpack with offset of 0 and limit of 3.}
       {bad argument #2 to 'unpack_limit' (number expected, got no value)}
       {bad argument #2 to 'unpack_limit' (number expected, got string)}
       {bad argument #2 to 'unpack_one' (number expected, got string)} {Missing bytes in input.}
       {Bad data format in input.} {bad argument #1 to 'unpack_one' (string expected, got no value)}}

    libs_test "cmsgpack.unpack of a client-sent argument (a job queue's options)" {
        set payload [binary format H* 83a8617474656d70747303a87072696f72697479c3a564656c6179cd03e8]
        r eval "$::libs_prelude\nlocal o = cmsgpack.unpack(ARGV\[1\]) return dump(o)" 0 $payload
    } {{"attempts"=3,"delay"=1000,"priority"=true}}

    libs_test "cmsgpack and struct are read-only" {
        set out {}
        foreach s {{cmsgpack.x = 1} {cmsgpack.pack = nil} {struct.x = 1} {rawset(struct, 'pack', 1)}
                   {cmsgpack = nil}} {
            catch {r eval $s 0} e
            lappend out [string match {*Attempt to modify a readonly table*} $e]
        }
        lappend out [r eval {return {cmsgpack._NAME, type(cmsgpack.unpack_limit), type(struct.size)}} 0]
    } {1 1 1 1 1 {cmsgpack function function}}

    libs_test "cmsgpack and struct in a FUNCTION library" {
        r function flush
        r function load {#!lua name=libslib
            redis.register_function('mp', function(keys, args)
              local t = cmsgpack.unpack(args[1])
              return cmsgpack.pack({t[1] * 2, struct.unpack('>H', struct.pack('>H', t[1]))}) -- {10, 5, 3}
            end)}
        set reply [r fcall mp 0 [binary format H* 9105]]
        r function flush
        binary scan $reply H* hex
        set hex
    } {930a0503}

    tags {phenix-only} {
        libs_test "cmsgpack.unpack decodes bin 8/16/32 as strings (Redis 7.0 refuses them)" {
            list [lua {return dumpall(cmsgpack.unpack('\196\3abc\197\0\1x\198\0\0\0\0\196\0'))}]
        } {{"abc" "x" "" ""}}
    }

    libs_test "struct.pack: every integer letter, both byte orders" {
        list [lua {return hex(struct.pack('>bBhHlLT', -1, 255, -2, 65535, -3, 4, 5))}] \
            [lua {return hex(struct.pack('<bBhHlLT', -1, 255, -2, 65535, -3, 4, 5))}] \
            [lua {return hex(struct.pack('>i', 1) .. struct.pack('<i', 1) .. struct.pack('i', 1))}] \
            [lua {return hex(struct.pack('>i3I3', -2, 70000))}] \
            [lua {return hex(struct.pack('>i1I2i8', 1, 2, -1))}] \
            [lua {return hex(struct.pack('>i16', -1) .. struct.pack('<i16', -2))}] \
            [lua {return hex(struct.pack('>i0I0', 1, 2))}] \
            [lua {return hex(struct.pack('B', 256) .. struct.pack('b', 200) .. struct.pack('B', -1))}]
    } {fffffffefffffffffffffffffffd00000000000000040000000000000005
       fffffefffffffdffffffffffffff04000000000000000500000000000000
       000000010100000001000000 fffffe011170 010002ffffffffffffffff
       0000000000000000fffffffffffffffffeffffffffffffff0000000000000000 {} 00c8ff}

    libs_test "struct.pack: numbers truncate toward zero; out-of-range ones pack as Redis does" {
        list [lua {return hex(struct.pack('>I4', 1.9) .. struct.pack('>i4', -1.9) .. struct.pack('>I4', 2^32 + 5))}] \
            [lua {return hex(struct.pack('>I8', 2^63) .. struct.pack('>i8', -2^63))}] \
            [lua {return hex(struct.pack('>i8', 1e30) .. struct.pack('>i8', -1e30) .. struct.pack('>i8', 0/0))}] \
            [lua {return hex(struct.pack('>I8', 2^64) .. struct.pack('>i8', 1/0) .. struct.pack('>I8', 2^63 + 2^40))}] \
            [lua {return hex(struct.pack('i', '12'))}]
    } {00000001ffffffff00000005 80000000000000008000000000000000
       000000000000000080000000000000008000000000000000
       000000000000000000000000000000008000010000000000 0c000000}

    libs_test "struct.pack: floats, strings, padding and alignment" {
        list [lua {return hex(struct.pack('>fd', 1.5, 0.1))}] [lua {return hex(struct.pack('<fd', 1.5, 0.1))}] \
            [lua {return hex(struct.pack('s', 'ab') .. struct.pack('s', 'a\0b') .. struct.pack('s', 12))}] \
            [lua {return hex(struct.pack('c', 'ab') .. struct.pack('c2', 'abc') .. struct.pack('c0', 'abc'))}] \
            [lua {return hex(struct.pack('xBx', 1))}] [lua {return hex(struct.pack('!4 b i', 1, 2))}] \
            [lua {return hex(struct.pack('!b d', 1, 2))}] [lua {return hex(struct.pack('!2 b i', 1, 2))}] \
            [lua {return hex(struct.pack('!8 b c4 i', 1, 'abcd', 2))}] \
            [lua {return hex(struct.pack('!8 b s i', 1, 'abc', 2))}] \
            [lua {return hex(struct.pack('!4 b x h', 1, 2))}] [lua {return hex(struct.pack('!4 b i3', 1, 2))}] \
            [lua {return hex(struct.pack('!8 b !2 i', 1, 2))}] [lua {return hex(struct.pack(' > h ', 1))}] \
            [lua {return hex(struct.pack('', 1) .. struct.pack('<') .. struct.pack('i', 1, 2, 3))}]
    } {3fc000003fb999999999999a 0000c03f9a9999999999b93f 61620061006200313200 616162616263 000100 0100000002000000
       01000000000000000000000000000040 010002000000 016162636400000002000000 016162630000000002000000
       01000200 010000020000 010002000000 0001 01000000}

    libs_test "struct.pack errors" {
        set out {}
        foreach call {{pack('=i', 1)} {pack('z', 1)} {pack('(', 1)} {pack('i')} {pack('ii', 1)}
                      {pack('i', 'x')} {pack('s', {})} {pack('s')} {pack()} {pack('b', true)}
                      {pack('c3', 'ab')} {pack('>i33', 1)} {pack('!3 b i', 1, 2)} {pack('!0 b', 1)}
                      {pack('>i9999999999', 1)} {pack('c9999999999', 'a')} {pack('!9999999999', 1)}} {
            lappend out [lua "return perr(function() return struct.$call end)"]
        }
        set out
    } {{bad argument #1 to 'pack' (invalid format option '=')} {bad argument #1 to 'pack' (invalid format option 'z')}
       {bad argument #1 to 'pack' (invalid format option '(')} {bad argument #2 to 'pack' (number expected, got nil)}
       {bad argument #3 to 'pack' (number expected, got nil)} {bad argument #2 to 'pack' (number expected, got string)}
       {bad argument #2 to 'pack' (string expected, got table)} {bad argument #2 to 'pack' (string expected, got nil)}
       {bad argument #1 to 'pack' (string expected, got no value)}
       {bad argument #2 to 'pack' (number expected, got boolean)} {bad argument #3 to 'pack' (string too short)}
       {integral size 33 is larger than limit of 32} {alignment 3 is not a power of 2}
       {alignment 0 is not a power of 2} {integral size overflow} {integral size overflow} {integral size overflow}}

    libs_test "struct.unpack: every letter round trips; the next position comes last" {
        list [lua {return dumpall(struct.unpack('>bBhHlLT', struct.pack('>bBhHlLT', -1, 255, -2, 65535, -3, 4, 5)))}] \
            [lua {return dumpall(struct.unpack('<i3I3i', struct.pack('<i3I3i', -2, 70000, -7)))}] \
            [lua {return dumpall(struct.unpack('>fd', struct.pack('>fd', 1.5, 0.1)))}] \
            [lua {return dumpall(struct.unpack('<f<d', '\0\0\192\127\0\0\0\0\0\0\240\127'))}] \
            [lua {return dumpall(struct.unpack('ss', 'ab\0cd\0'))}] \
            [lua {return dumpall(struct.unpack('cc2', 'abc'))}] \
            [lua {return dumpall(struct.unpack('Bc0', '\3abcd'))}] \
            [lua {return dumpall(struct.unpack('BBc0', '\1\2ab'))}] \
            [lua {return dumpall(struct.unpack('Bxc0', '\2\0ab'))}] \
            [lua {return dumpall(struct.unpack('sc0', '2\0abcd'))}] \
            [lua {return dumpall(struct.unpack('xBx', '\0\1\0'))}] \
            [lua {return dumpall(struct.unpack('!4 b i', '\1\0\0\0\2\0\0\0'))}] \
            [lua {return dumpall(struct.unpack('!8 bd', '\1\2\3\4\5\6\7\8\0\0\0\0\0\0\240\63'))}] \
            [lua {return dumpall(struct.unpack('>i0I0', ''))}]
    } {{-1 255 -2 65535 -3 4 5 31} {-2 70000 -7 11} {1.5 0.10000000000000001 13} {nan inf 13}
       {"ab" "cd" 7} {"a" "bc" 4} {"abc" 5} {1 "ab" 5} {"ab" 5} {"ab" 5} {1 4} {1 2 9} {1 1 17} {0 0 1}}

    libs_test "struct.unpack: wide integers" {
        list [lua {return dumpall(struct.unpack('>i16', string.rep('\255', 16)))}] \
            [lua {return dumpall(struct.unpack('>I8', string.rep('\255', 8)))}] \
            [lua {return dumpall(struct.unpack('>i8', '\128\0\0\0\0\0\0\1'))}] \
            [lua {return dumpall(struct.unpack('>i9', '\1\0\0\0\0\0\0\0\1'))}] \
            [lua {return dumpall(struct.unpack('<i2', '\0\128'))}]
    } {{-1 17} {1.8446744073709552e+19 9} {-9.2233720368547758e+18 9} {1 10} {-32768 3}}

    libs_test "struct.unpack: the start position" {
        list [lua {return dumpall(struct.unpack('>i', 'xx\0\0\0\1', 3))}] \
            [lua {return dumpall(struct.unpack('b', 'abc', 1.9))}] \
            [lua {return dumpall(struct.unpack('b', 'abc', nil))}] \
            [lua {return dumpall(struct.unpack('!4 i', 'xxxx\1\0\0\0', 2))}] \
            [lua {return dumpall(struct.unpack('', 'abc', 9))}] \
            [lua {return dumpall(struct.unpack('', 'abc', -2))}]
    } {{1 7} {97 2} {97 2} {1 9} 9 -2}

    libs_test "struct.unpack errors" {
        set out {}
        foreach call {{unpack('>i', 'xx\0\0\0\1', 4)} {unpack('>i', '\0\0\0\1', 0)} {unpack('b', 'abc', -1)}
                      {unpack('s', 'abcd')} {unpack('s', 'abc', 4)} {unpack('s', 'abc', 5)} {unpack('c3', 'ab')}
                      {unpack('c0', 'abc')} {unpack('c0', '1')} {unpack('sc0', 'x\0abcd')} {unpack('bc0', '\255ab')}
                      {unpack('Bc0c0', '\1a')} {unpack('xBx', '\0\1')} {unpack('!4 b i', '\1\0\0\0\2\0\0')}
                      {unpack('z', 'a')} {unpack('=b', 'a')} {unpack('i')} {unpack()} {unpack('b', 'abc', 2^40)}
                      {unpack('c9999', 'abc')} {unpack('', 'abc', 'x')}} {
            lappend out [lua "return perr(function() return struct.$call end)"]
        }
        lappend out [lua {return perr(function() return struct.unpack(string.rep('b', 9000), string.rep('a', 9000)) end)}]
        set out
    } {{bad argument #2 to 'unpack' (data string too short)} {bad argument #3 to 'unpack' (offset must be 1 or greater)}
       {bad argument #2 to 'unpack' (data string too short)} {unfinished string in data} {unfinished string in data}
       {bad argument #2 to 'unpack' (data string too short)} {bad argument #2 to 'unpack' (data string too short)}
       {format 'c0' needs a previous size} {format 'c0' needs a previous size} {format 'c0' needs a previous size}
       {bad argument #2 to 'unpack' (data string too short)} {format 'c0' needs a previous size}
       {bad argument #2 to 'unpack' (data string too short)} {bad argument #2 to 'unpack' (data string too short)}
       {bad argument #1 to 'unpack' (invalid format option 'z')} {bad argument #1 to 'unpack' (invalid format option '=')}
       {bad argument #2 to 'unpack' (string expected, got no value)}
       {bad argument #1 to 'unpack' (string expected, got no value)} {bad argument #2 to 'unpack' (data string too short)}
       {bad argument #2 to 'unpack' (data string too short)} {bad argument #3 to 'unpack' (number expected, got string)}
       {stack overflow (too many results)}}

    libs_test "struct.size" {
        set out {}
        foreach f {{>bBhHlLTi3I3fdxc5} {!8 b d} {!4 b i} {!4 b i3} {} {!} {z} {zi} {c2147483647c2147483647c2147483647}} {
            lappend out [lua "return struct.size('$f')"]
        }
        foreach f {s c0 !3 = ( i40} {
            lappend out [lua "return perr(function() return struct.size('$f') end)"]
        }
        lappend out [lua {return perr(function() return struct.size() end)}]
    } {54 16 8 6 0 0 0 4 6442450941 {bad argument #1 to 'size' (option 's' has no fixed size)}
       {bad argument #1 to 'size' (option 'c0' has no fixed size)} {alignment 3 is not a power of 2}
       {bad argument #1 to 'size' (invalid format option '=')} {bad argument #1 to 'size' (invalid format option '(')}
       {integral size 40 is larger than limit of 32} {bad argument #1 to 'size' (string expected, got no value)}}
}
