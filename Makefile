# Phenix DB top-level Makefile.
#
#   make            build src/phenix-server (release, jemalloc)
#   make run        install missing Debian packages, build, start with conf/phenix.conf
#   make test       install, build, run every suite (unit, integration on io_uring and
#                   epoll, client compatibility, fuzz smoke, then unit + integration
#                   again under ASan+UBSan); ends with one "N passed, N failed" line
#   make bench      redis-benchmark against phenix-server and redis-server side by side
#   make fuzz       build and run the fuzzers (RESP, filters, RESTORE) for FUZZ_SECONDS (default 60)
#   make bench-persist  durable writes and restart times next to redis-server
#
# Objects go to build/<variant>/; variants: release (default) and asan.

ifeq ($(origin CC),default)
  CC := gcc
endif
VARIANT ?= release
BUILD   := build/$(VARIANT)

STD_FLAGS  := -std=gnu11 -D_GNU_SOURCE -pthread -g -fno-omit-frame-pointer
WARN_FLAGS := -Wall -Wextra -Werror -Wno-unused-parameter
ifeq ($(VARIANT),asan)
  OPT_FLAGS := -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined
  MALLOC_LIBS :=
  MALLOC_DEFS :=
else
  OPT_FLAGS := -O2
  MALLOC_LIBS := -ljemalloc
  MALLOC_DEFS := -DHAVE_JEMALLOC
endif
CFLAGS  += $(STD_FLAGS) $(WARN_FLAGS) $(OPT_FLAGS) $(MALLOC_DEFS) -MMD -MP
LDFLAGS += $(OPT_FLAGS) -pthread -rdynamic
LIBS    := -luring -lxxhash -ljansson -llua5.1 -llua5.1-cjson -llua5.1-bitop -lcrypto $(MALLOC_LIBS) -lm -ldl

# Pure modules: no server header, linked into unit tests and the fuzzer.
PURE_SRCS := zmalloc.c util.c buf.c dict.c resp.c vec_dist.c hnsw.c flat.c intset.c plist.c skiplist.c filter.c fieldidx.c planner.c graph.c walrec.c quant.c ivfpq.c vecfile.c script_libs.c
# Server modules: everything else in src/.
ALL_SRCS    := $(notdir $(wildcard src/*.c))
SERVER_SRCS := $(filter-out $(PURE_SRCS),$(ALL_SRCS))
PURE_OBJS   := $(addprefix $(BUILD)/,$(PURE_SRCS:.c=.o))
SERVER_OBJS := $(addprefix $(BUILD)/,$(SERVER_SRCS:.c=.o))
UNIT_SRCS   := $(notdir $(wildcard src/unit/test_*.c))
UNIT_BINS   := $(addprefix $(BUILD)/unit/,$(UNIT_SRCS:.c=))

SERVER_BIN := $(BUILD)/phenix-server

.PHONY: all server deps run test test-unit test-integration test-clients test-asan \
        bench bench-vector bench-graph fuzz fuzz-smoke clean

all: src/phenix-server

src/phenix-server: $(SERVER_BIN)
	@if [ "$(VARIANT)" = release ]; then cp $(SERVER_BIN) src/phenix-server.tmp && mv -f src/phenix-server.tmp src/phenix-server; fi

# Linked to a temporary name and renamed, so a running test never starts a half-written binary.
$(SERVER_BIN): $(PURE_OBJS) $(SERVER_OBJS)
	$(CC) $(LDFLAGS) -o $@.tmp $^ $(LIBS) && mv -f $@.tmp $@

$(BUILD)/%.o: src/%.c | $(BUILD)/unit
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/unit/test_%.o: src/unit/test_%.c | $(BUILD)/unit
	$(CC) $(CFLAGS) -Isrc -c -o $@ $<

$(BUILD)/unit/test_%: $(BUILD)/unit/test_%.o $(PURE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/unit:
	mkdir -p $@

unit-bins: $(UNIT_BINS)

deps:
	@bash deps/install.sh

run: deps
	$(MAKE) all
	./src/phenix-server conf/phenix.conf

test: deps
	@bash tests/run-all.sh

test-unit: unit-bins
	@bash tests/run-unit.sh $(BUILD)/unit

test-integration: $(SERVER_BIN)
	tclsh tests/test_helper.tcl --server $(SERVER_BIN) $(TEST_ARGS)

test-clients: all
	@bash tests/clients/run.sh src/phenix-server

bench: deps all
	@bash utils/bench.sh

FUZZ_SECONDS ?= 60
fuzz:
	@bash tests/fuzz/run.sh $(FUZZ_SECONDS)

fuzz-smoke:
	@bash tests/fuzz/run.sh 20

clean:
	rm -rf build src/phenix-server tests/tmp

-include $(wildcard $(BUILD)/*.d $(BUILD)/unit/*.d)

# Vector search benchmark (utils/bench-vector.sh; BENCH_N=1000000 for the 1M x 128 set).
bench-vector: all
	@bash utils/bench-vector.sh

# Durability benchmark (utils/bench_persist.py): durable writes and restart times next to redis-server.
bench-persist: all
	@bash utils/bench-persist.sh

# Graph benchmark (utils/bench-graph.sh): the Debian dependency graph against networkx.
bench-graph: all
	@bash utils/bench-graph.sh

# IVF-PQ benchmark binary, run by utils/bench_ivfpq.py next to faiss IndexIVFPQ.
bench-ivfpq-bin: $(BUILD)/bench_ivfpq
$(BUILD)/bench_ivfpq: src/unit/bench_ivfpq.c $(PURE_OBJS) | $(BUILD)/unit
	$(CC) $(CFLAGS) -Isrc $(LDFLAGS) -o $@ src/unit/bench_ivfpq.c $(PURE_OBJS) $(LIBS)
