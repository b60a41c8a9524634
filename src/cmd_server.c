/* cmd_server.c -- server commands: INFO, TIME, SHUTDOWN, LASTSAVE, MEMORY,
 * MODULE. INFO uses Redis's section and field names (so that exporters and
 * client libraries that parse INFO work) and adds Phenix fields where
 * Phenix has something Redis does not (event_loop). */
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifdef HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

#include "blocked.h"
#include "persist.h"
#include "server.h"

void commands_foreach(void (*fn)(command *cmd, void *priv), void *priv);

static ds bytes_human(ds s, long long n) {
    double d = (double)n;
    if (n < 1024) return ds_catfmt(s, "%lldB", n);
    if (n < 1024LL * 1024) return ds_catfmt(s, "%.2fK", d / 1024);
    if (n < 1024LL * 1024 * 1024) return ds_catfmt(s, "%.2fM", d / (1024 * 1024));
    return ds_catfmt(s, "%.2fG", d / (1024.0 * 1024 * 1024));
}

static ds info_server(ds s) {
    struct utsname u;
    uname(&u);
    int64_t up = (util_mstime() - server.start_ms) / 1000;
    s = ds_catfmt(s,
                  "# Server\r\nredis_version:%s\r\nphenix_version:%s\r\nredis_git_sha1:00000000\r\n"
                  "redis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:%s %s %s\r\n"
                  "arch_bits:%d\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:%s\r\n"
                  "event_loop:%s\r\natomicvar_api:c11-builtin\r\ngcc_version:%d.%d.%d\r\nprocess_id:%d\r\n"
                  "process_supervised:no\r\nrun_id:%016llx%016llx%08x\r\ntcp_port:%d\r\n"
                  "server_time_usec:%lld\r\nuptime_in_seconds:%lld\r\nuptime_in_days:%lld\r\nhz:%d\r\n"
                  "configured_hz:%d\r\nlru_clock:%u\r\nexecutable:%s\r\nconfig_file:%s\r\nio_threads_active:0\r\n",
                  PHENIX_REDIS_COMPAT_VERSION, PHENIX_VERSION, u.sysname, u.release, u.machine,
                  (int)sizeof(long) * 8, server.loop ? el_backend_name(server.loop) : "none",
                  server.loop ? el_backend_name(server.loop) : "none", __GNUC__, __GNUC_MINOR__,
                  __GNUC_PATCHLEVEL__, (int)server.pid, (unsigned long long)server.start_ms,
                  (unsigned long long)server.pid * 2654435761ULL, (unsigned)server.port, server.port,
                  (long long)util_ustime(), (long long)up, (long long)up / 86400, server.hz, server.hz,
                  lru_clock() & 0xFFFFFF, server.executable, server.config_file ? server.config_file : "");
    return s;
}

static ds info_clients(ds s) {
    size_t maxin = 0, maxout = 0;
    for (client *c = server.clients_head; c; c = c->next) {
        if (ds_len(c->qbuf) > maxin) maxin = ds_len(c->qbuf);
        if (c->reply_bytes > maxout) maxout = c->reply_bytes;
    }
    return ds_catfmt(s,
                     "# Clients\r\nconnected_clients:%zu\r\ncluster_connections:0\r\nmaxclients:%lld\r\n"
                     "client_recent_max_input_buffer:%zu\r\nclient_recent_max_output_buffer:%zu\r\n"
                     "blocked_clients:%zu\r\ntracking_clients:0\r\nclients_in_timeout_table:%zu\r\n"
                     "total_blocking_keys:%zu\r\ntotal_blocking_keys_on_nokey:0\r\n",
                     server.nclients, server.maxclients, maxin, maxout, blocked_count_clients(),
                     blocked_count_timeouts(), blocked_count_keys());
}

static void jemalloc_stats(size_t *allocated, size_t *active, size_t *resident, size_t *retained) {
    *allocated = *active = *resident = *retained = 0;
#ifdef HAVE_JEMALLOC
    uint64_t epoch = 1;
    size_t sz = sizeof(epoch);
    mallctl("epoch", &epoch, &sz, &epoch, sz);
    sz = sizeof(size_t);
    mallctl("stats.allocated", allocated, &sz, NULL, 0);
    mallctl("stats.active", active, &sz, NULL, 0);
    mallctl("stats.resident", resident, &sz, NULL, 0);
    mallctl("stats.retained", retained, &sz, NULL, 0);
#endif
}

static ds info_memory(ds s) {
    size_t used = zmalloc_used_memory(), rss = zmalloc_get_rss();
    if ((int64_t)used > server.stat_peak_memory) server.stat_peak_memory = (int64_t)used;
    size_t allocated, active, resident, retained;
    jemalloc_stats(&allocated, &active, &resident, &retained);
    long long sysmem = (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
    size_t dataset = 0, overhead = 0;
    for (int i = 0; i < server.dbnum; i++)
        overhead += dict_mem_usage(server.dbs[i].keys) + dict_mem_usage(server.dbs[i].expires);
    dataset = used > overhead ? used - overhead : 0;
    s = ds_catfmt(s, "# Memory\r\nused_memory:%zu\r\nused_memory_human:", used);
    s = bytes_human(s, (long long)used);
    s = ds_catfmt(s, "\r\nused_memory_rss:%zu\r\nused_memory_rss_human:", rss);
    s = bytes_human(s, (long long)rss);
    s = ds_catfmt(s, "\r\nused_memory_peak:%lld\r\nused_memory_peak_human:", (long long)server.stat_peak_memory);
    s = bytes_human(s, server.stat_peak_memory);
    s = ds_catfmt(s,
                  "\r\nused_memory_peak_perc:%.2f%%\r\nused_memory_overhead:%zu\r\nused_memory_startup:0\r\n"
                  "used_memory_dataset:%zu\r\ntotal_system_memory:%lld\r\ntotal_system_memory_human:",
                  server.stat_peak_memory ? 100.0 * (double)used / (double)server.stat_peak_memory : 100.0,
                  overhead, dataset, sysmem);
    s = bytes_human(s, sysmem);
    s = ds_catfmt(s, "\r\nmaxmemory:%lld\r\nmaxmemory_human:", server.maxmemory);
    s = bytes_human(s, server.maxmemory);
    s = ds_catfmt(s,
                  "\r\nmaxmemory_policy:%s\r\nallocator_allocated:%zu\r\nallocator_active:%zu\r\n"
                  "allocator_resident:%zu\r\nallocator_retained:%zu\r\nallocator_frag_ratio:%.2f\r\n"
                  "mem_fragmentation_ratio:%.2f\r\nmem_allocator:%s\r\nlazyfree_pending_objects:0\r\n",
                  evict_policy_name(server.maxmemory_policy), allocated, active, resident, retained,
                  allocated ? (double)active / (double)allocated : 1.0, used ? (double)rss / (double)used : 1.0,
                  zmalloc_allocator_name());
    return script_info_memory(s);
}

static ds info_persistence(ds s) {
    s = ds_catfmt(s,
                  "# Persistence\r\nloading:%d\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\n"
                  "current_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\n"
                  "current_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\n",
                  server.loading);
    s = snapshot_info(s);
    s = wal_info(s);
    return persist_loading_info(s);
}

static ds info_stats(ds s) {
    return ds_catfmt(s,
                     "# Stats\r\ntotal_connections_received:%lld\r\ntotal_commands_processed:%lld\r\n"
                     "instantaneous_ops_per_sec:0\r\ntotal_net_input_bytes:%lld\r\ntotal_net_output_bytes:%lld\r\n"
                     "rejected_connections:%lld\r\nexpired_keys:%lld\r\nexpired_stale_perc:0.00\r\n"
                     "expired_time_cap_reached_count:%lld\r\nevicted_keys:%lld\r\nevicted_clients:0\r\n"
                     "keyspace_hits:%lld\r\nkeyspace_misses:%lld\r\npubsub_channels:%zu\r\npubsub_patterns:%zu\r\n"
                     "pubsubshard_channels:%zu\r\n"
                     "latest_fork_usec:0\r\ntotal_forks:0\r\nclient_query_buffer_limit_disconnections:0\r\n"
                     "client_output_buffer_limit_disconnections:0\r\ntotal_error_replies:%lld\r\n"
                     "unexpected_error_replies:%lld\r\ntotal_reads_processed:%lld\r\ntotal_writes_processed:%lld\r\n",
                     server.stat_numconnections, server.stat_numcommands, server.stat_net_input_bytes,
                     server.stat_net_output_bytes, server.stat_rejected_conn, server.stat_expiredkeys,
                     server.stat_expired_time_cap_reached, server.stat_evictedkeys, server.stat_keyspace_hits,
                     server.stat_keyspace_misses, pubsub_count_channels(), pubsub_count_patterns(),
                     pubsub_count_shard_channels(), server.stat_total_error_replies,
                     server.stat_unexpected_error_replies, server.stat_io_reads, server.stat_io_writes);
}

static ds info_replication(ds s) {
    return ds_catfmt(s, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\n"
                        "master_replid:0000000000000000000000000000000000000000\r\n"
                        "master_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:0\r\n"
                        "second_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:0\r\n"
                        "repl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n");
}

static ds info_cpu(ds s) {
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    return ds_catfmt(s,
                     "# CPU\r\nused_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\nused_cpu_sys_children:%ld.%06ld\r\n"
                     "used_cpu_user_children:%ld.%06ld\r\nused_cpu_sys_main_thread:%ld.%06ld\r\n"
                     "used_cpu_user_main_thread:%ld.%06ld\r\n",
                     (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec, (long)self.ru_utime.tv_sec,
                     (long)self.ru_utime.tv_usec, (long)kids.ru_stime.tv_sec, (long)kids.ru_stime.tv_usec,
                     (long)kids.ru_utime.tv_sec, (long)kids.ru_utime.tv_usec, (long)self.ru_stime.tv_sec,
                     (long)self.ru_stime.tv_usec, (long)self.ru_utime.tv_sec, (long)self.ru_utime.tv_usec);
}

static void cmdstat_one(command *cmd, void *priv) {
    ds *s = priv;
    if (!cmd->calls && !cmd->failed_calls && !cmd->rejected_calls) return;
    if (!cmd->proc) return;
    char name[128];
    snprintf(name, sizeof(name), "%s", cmd->name);
    *s = ds_catfmt(*s, "cmdstat_%s:calls=%lld,usec=%lld,usec_per_call=%.2f,rejected_calls=%lld,failed_calls=%lld\r\n",
                   name, cmd->calls, cmd->usec, cmd->calls ? (double)cmd->usec / (double)cmd->calls : 0.0,
                   cmd->rejected_calls, cmd->failed_calls);
}

static ds info_commandstats(ds s) {
    s = ds_catfmt(s, "# Commandstats\r\n");
    commands_foreach(cmdstat_one, &s);
    return s;
}

static ds info_errorstats(ds s) {
    s = ds_catfmt(s, "# Errorstats\r\n");
    dict_iter it;
    dict_iter_init(&it, server.errors);
    for (dict_entry *e; (e = dict_iter_next(&it));)
        s = ds_catfmt(s, "errorstat_%s:count=%lld\r\n", (char *)dict_entry_key(e), (long long)dict_entry_s64(e));
    dict_iter_release(&it);
    return s;
}

static void latencystat_one(command *cmd, void *priv) {
    ds *s = priv;
    if (!cmd->calls || !cmd->proc) return;
    /* Percentiles need a histogram per command; until one is kept, the
     * mean is reported for each percentile (documented in docs/). */
    double mean = (double)cmd->usec / (double)cmd->calls;
    *s = ds_catfmt(*s, "latency_percentiles_usec_%s:p50=%.3f,p99=%.3f,p99.9=%.3f\r\n", cmd->name, mean, mean, mean);
}

static ds info_latencystats(ds s) {
    s = ds_catfmt(s, "# Latencystats\r\n");
    commands_foreach(latencystat_one, &s);
    return s;
}

static ds info_keyspace(ds s) {
    s = ds_catfmt(s, "# Keyspace\r\n");
    for (int i = 0; i < server.dbnum; i++) {
        size_t keys = dict_size(server.dbs[i].keys), exp = dict_size(server.dbs[i].expires);
        if (keys) s = ds_catfmt(s, "db%d:keys=%zu,expires=%zu,avg_ttl=0\r\n", i, keys, exp);
    }
    return s;
}

typedef struct info_section {
    const char *name;
    ds (*fn)(ds);
    int in_default;
} info_section;

static const info_section sections[] = {
    {"server", info_server, 1},       {"clients", info_clients, 1},
    {"memory", info_memory, 1},       {"persistence", info_persistence, 1},
    {"stats", info_stats, 1},         {"replication", info_replication, 1},
    {"cpu", info_cpu, 1},             {"modules", NULL, 1},
    {"commandstats", info_commandstats, 0}, {"errorstats", info_errorstats, 1},
    {"latencystats", info_latencystats, 0}, {"cluster", NULL, 1},
    {"keyspace", info_keyspace, 1},        {"graph", graph_info, 1},
};

void infoCommand(client *c) {
    int want[sizeof(sections) / sizeof(sections[0])];
    size_t ns = sizeof(sections) / sizeof(sections[0]);
    memset(want, 0, sizeof(want));
    if (c->argc == 1) {
        for (size_t i = 0; i < ns; i++) want[i] = sections[i].in_default;
    }
    for (int a = 1; a < c->argc; a++) {
        int all = arg_is(c, a, "all"), everything = arg_is(c, a, "everything"), def = arg_is(c, a, "default");
        for (size_t i = 0; i < ns; i++) {
            if (all || everything || (def && sections[i].in_default) || arg_is(c, a, sections[i].name)) want[i] = 1;
        }
    }
    ds s = ds_empty(4096);
    for (size_t i = 0; i < ns; i++) {
        if (!want[i]) continue;
        if (ds_len(s)) s = ds_cat(s, "\r\n", 2);
        if (sections[i].fn) s = sections[i].fn(s);
        else if (!strcmp(sections[i].name, "cluster")) s = ds_catfmt(s, "# Cluster\r\ncluster_enabled:0\r\n");
        else s = ds_catfmt(s, "# Modules\r\n");
    }
    add_reply_verbatim(c, s, ds_len(s), "txt");
    ds_free(s);
}

void timeCommand(client *c) {
    int64_t us = util_ustime();
    add_reply_array_len(c, 2);
    add_reply_bulk_long(c, us / 1000000);
    add_reply_bulk_long(c, us % 1000000);
}

void lastsaveCommand(client *c) { add_reply_long(c, server.lastsave); }

void shutdownCommand(client *c) {
    int nosave = 0, save = 0, force = 0;
    for (int i = 1; i < c->argc; i++) {
        if (arg_is(c, i, "nosave")) nosave = 1;
        else if (arg_is(c, i, "save")) save = 1;
        else if (arg_is(c, i, "force")) force = 1;
        else if (arg_is(c, i, "now")) continue;
        else if (arg_is(c, i, "abort")) {
            add_reply_error(c, "No shutdown in progress.");
            return;
        } else {
            add_reply_err_syntax(c);
            return;
        }
    }
    if (nosave && save) {
        add_reply_err_syntax(c);
        return;
    }
    server.shutdown_nosave = nosave;
    server.shutdown_save = save;
    server.shutdown_force = force;
    if (server_prepare_shutdown() != 0) {
        add_reply_error(c, "Errors trying to SHUTDOWN. Check logs.");
        return;
    }
    /* the connection is simply closed, as Redis does on success */
    el_stop(server.loop);
    c->flags |= CLIENT_CLOSE_ASAP;
}

void moduleCommand(client *c) {
    if (!strcmp(c->cmd->shortname, "list")) {
        add_reply_array_len(c, 0);
    } else {
        static const char *help[] = {"MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "LIST",
                                     "    Return a list of loaded modules (Phenix has none: its features are built in).",
                                     "HELP", "    Print this help.", NULL};
        add_reply_help(c, help);
    }
}

void memoryCommand(client *c) {
    const char *sub = c->cmd->shortname;
    if (!strcmp(sub, "usage")) {
        if (c->argc != 3 && !(c->argc == 5 && arg_is(c, 3, "samples"))) {
            add_reply_err_syntax(c);
            return;
        }
        if (c->argc == 5) {
            long long samples;
            if (arg_long(c, 4, &samples, NULL) < 0) return;
        }
        pobj *o = db_lookup_write(c->db, c->argv[2].ptr, c->argv[2].len);
        if (!o) {
            add_reply_null(c);
            return;
        }
        size_t n = obj_mem_usage(o) + dict_embedded_entry_size(c->argv[2].len); /* the key is in its entry */
        add_reply_long(c, (long long)n);
    } else if (!strcmp(sub, "stats")) {
        size_t used = zmalloc_used_memory();
        size_t clients_mem = 0;
        for (client *x = server.clients_head; x; x = x->next)
            clients_mem += sizeof(*x) + ds_alloc_size(x->qbuf) + x->reply_bytes;
        long long keys = 0;
        for (int i = 0; i < server.dbnum; i++) keys += (long long)dict_size(server.dbs[i].keys);
        size_t overhead = clients_mem;
        for (int i = 0; i < server.dbnum; i++)
            overhead += dict_mem_usage(server.dbs[i].keys) + dict_mem_usage(server.dbs[i].expires);
        size_t dataset = used > overhead ? used - overhead : 0;
        size_t rss = zmalloc_get_rss();
        add_reply_map_len(c, 12);
        add_reply_bulk_cstr(c, "peak.allocated");
        add_reply_long(c, server.stat_peak_memory);
        add_reply_bulk_cstr(c, "total.allocated");
        add_reply_long(c, (long long)used);
        add_reply_bulk_cstr(c, "startup.allocated");
        add_reply_long(c, 0);
        add_reply_bulk_cstr(c, "clients.normal");
        add_reply_long(c, (long long)clients_mem);
        add_reply_bulk_cstr(c, "keys.count");
        add_reply_long(c, keys);
        add_reply_bulk_cstr(c, "keys.bytes-per-key");
        add_reply_long(c, keys ? (long long)used / keys : 0);
        add_reply_bulk_cstr(c, "overhead.total");
        add_reply_long(c, (long long)overhead);
        add_reply_bulk_cstr(c, "dataset.bytes");
        add_reply_long(c, (long long)dataset);
        add_reply_bulk_cstr(c, "dataset.percentage");
        add_reply_double(c, used ? 100.0 * (double)dataset / (double)used : 0.0);
        add_reply_bulk_cstr(c, "peak.percentage");
        add_reply_double(c, server.stat_peak_memory ? 100.0 * (double)used / (double)server.stat_peak_memory : 100.0);
        add_reply_bulk_cstr(c, "fragmentation");
        add_reply_double(c, used ? (double)rss / (double)used : 1.0);
        add_reply_bulk_cstr(c, "allocator");
        add_reply_bulk_cstr(c, zmalloc_allocator_name());
    } else if (!strcmp(sub, "doctor")) {
        const char *msg = "No memory problems detected: used memory, fragmentation and client buffers are within normal bounds.";
        add_reply_verbatim(c, msg, strlen(msg), "txt");
    } else if (!strcmp(sub, "malloc-stats")) {
        const char *msg = "Stats not supported for the current allocator";
        add_reply_verbatim(c, msg, strlen(msg), "txt");
    } else if (!strcmp(sub, "purge")) {
#ifdef HAVE_JEMALLOC
        mallctl("arena.4096.purge", NULL, NULL, NULL, 0);
#endif
        add_reply_ok(c);
    } else {
        static const char *help[] = {
            "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DOCTOR", "    Return memory problems reports.",
            "MALLOC-STATS", "    Return internal statistics report from the memory allocator.",
            "PURGE", "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS", "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]", "    Return memory in bytes used by <key> and its value.",
            "HELP", "    Print this help.", NULL};
        add_reply_help(c, help);
    }
}
