/* fuzz_restore.c -- libFuzzer target for RESTORE payloads (src/serial.c).
 *
 * The whole server is linked in (server.c's main renamed) and initialised
 * once: databases, the command table, a collection "fz" (DIM 4, COSINE)
 * so that entity payloads attach to an index. Each input is the body of a
 * payload; a valid footer (version + a checksum the server is told to
 * skip, DEBUG SET-SKIP-CHECKSUM-VALIDATION) is appended, so the decoder
 * itself sees every input. RESTORE runs as a client would send it, with
 * REPLACE; when it succeeds the value is read back through DUMP (which
 * walks the decoded structure) and deleted. Any crash, leak or undefined
 * behaviour is a finding; a refusal is the expected outcome for garbage.
 *
 * The first byte picks the key (one of a few, inside or outside the
 * collection's prefix), so entity restores both attach and not. */
#include <stddef.h>
#include <stdint.h>

#include "serial.h"
#include "server.h"

static client *fc;

static void run(int argc, resp_arg *argv) {
    fc->argc = argc;
    fc->argv = argv;
    fc->cmd = command_lookup_argv(argv, argc);
    if (fc->cmd) call_command(fc);
    fc->argc = 0;
    fc->argv = NULL;
    ds_free(client_fake_take_reply(fc));
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    util_ticks_init();
    server.mstime = util_mstime();
    config_init_defaults();
    commands_init();
    entity_init();
    pubsub_init();
    server.errors = dict_create(&ds_set_type);
    db_init_all();
    fc = client_create_fake();
    resp_arg create[] = {{"ph.create", 0, 9}, {"fz", 0, 2}, {"DIM", 0, 3}, {"4", 0, 1}, {"METRIC", 0, 6},
                         {"COSINE", 0, 6}};
    run(6, create);
    serial_set_skip_checksum(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const char *keys[] = {"fz:a", "fz:b", "plain", "fz:"};
    const char *key = keys[data[0] % 4];
    ds payload = ds_new(data + 1, size - 1);
    unsigned char foot[10] = {SERIAL_VERSION & 0xff, SERIAL_VERSION >> 8};
    payload = ds_cat(payload, foot, sizeof(foot));
    resp_arg restore[] = {{"restore", 0, 7}, {key, 0, strlen(key)}, {"0", 0, 1}, {payload, 0, ds_len(payload)},
                          {"REPLACE", 0, 7}};
    run(5, restore);
    resp_arg dump[] = {{"dump", 0, 4}, {key, 0, strlen(key)}};
    run(2, dump);
    resp_arg del[] = {{"del", 0, 3}, {key, 0, strlen(key)}};
    run(2, del);
    ds_free(payload);
    return 0;
}
