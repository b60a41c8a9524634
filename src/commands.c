/* commands.c -- the command table (commands.def) turned into the dispatch
 * dict, and the COMMAND command that describes it.
 *
 * Top-level commands are looked up case-insensitively in server_commands;
 * a container (proc NULL) holds its subcommands in its own dict, looked up
 * by argv[1]. Flags come from the row's flag words, so the same words feed
 * dispatch (write, denyoom, noauth...) and COMMAND INFO's flag set. */
#include "server.h"

dict *server_commands;

static command command_table[] = {
#define CMD(name, proc, arity, flags, fk, lk, ks, acl, group, since, cx, summary, syntax) \
    {name, proc, arity, flags, acl, group, since, cx, summary, syntax, fk, lk, ks, 0, NULL, NULL, NULL, 0, 0, 0, 0, NULL},
#include "commands.def"
#undef CMD
};

#define NCOMMANDS (sizeof(command_table) / sizeof(command_table[0]))

static const struct {
    const char *word;
    const char *out; /* name shown by COMMAND INFO, NULL: not shown */
    uint32_t bit;
} flag_names[] = {
    {"write", "write", CMD_WRITE},           {"readonly", "readonly", CMD_READONLY},
    {"denyoom", "denyoom", CMD_DENYOOM},     {"admin", "admin", CMD_ADMIN},
    {"pubsub", "pubsub", CMD_PUBSUB},        {"noscript", "noscript", CMD_NOSCRIPT},
    {"blocking", "blocking", CMD_BLOCKING},  {"loading", "loading", CMD_LOADING},
    {"stale", "stale", CMD_STALE},           {"skip_monitor", "skip_monitor", CMD_SKIP_MONITOR},
    {"skip_slowlog", "skip_slowlog", CMD_SKIP_SLOWLOG}, {"fast", "fast", CMD_FAST},
    {"noauth", "no_auth", CMD_NO_AUTH},      {"may_replicate", "may_replicate", CMD_MAY_REPLICATE},
    {"sentinel", NULL, CMD_SENTINEL},        {"only_sentinel", NULL, CMD_ONLY_SENTINEL},
    {"no_mandatory_keys", "no_mandatory_keys", CMD_NO_MANDATORY_KEYS},
    {"protected", NULL, CMD_PROTECTED},      {"allow_busy", "allow_busy", CMD_ALLOW_BUSY},
    {"no_multi", "no_multi", CMD_NO_MULTI},  {"movablekeys", "movablekeys", CMD_MOVABLE_KEYS},
};

static uint32_t parse_flags(const char *s) {
    uint32_t f = 0;
    while (*s) {
        while (*s == ' ') s++;
        size_t n = strcspn(s, " ");
        if (!n) break;
        for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
            if (strlen(flag_names[i].word) == n && !strncmp(flag_names[i].word, s, n)) f |= flag_names[i].bit;
        s += n;
    }
    return f;
}

void commands_init(void) {
    server_commands = dict_create(&command_dict_type);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        command *cmd = &command_table[i];
        cmd->flags = parse_flags(cmd->flags_str);
        const char *bar = strchr(cmd->name, '|');
        if (!bar) {
            cmd->shortname = cmd->name;
            dict_add(server_commands, ds_from_cstr(cmd->name), cmd);
            continue;
        }
        cmd->shortname = bar + 1;
        ds pname = ds_new(cmd->name, (size_t)(bar - cmd->name));
        dict_entry *pe = dict_find(server_commands, pname);
        ds_free(pname);
        if (!pe) abort(); /* a subcommand row must follow its container */
        command *parent = dict_entry_val(pe);
        if (!parent->subcommands) parent->subcommands = dict_create(&command_dict_type);
        cmd->parent = parent;
        dict_add(parent->subcommands, ds_from_cstr(cmd->shortname), cmd);
    }
}

void commands_free(void) {
    for (size_t i = 0; i < NCOMMANDS; i++) {
        dict_release(command_table[i].subcommands);
        command_table[i].subcommands = NULL;
    }
    dict_release(server_commands);
    server_commands = NULL;
}

static command *lookup_in(dict *d, const char *name, size_t len) {
    if (len > 64) return NULL;
    char kb[DS_HDR_8 + 65];
    dict_entry *e = dict_find(d, ds_init_in(kb, name, len));
    return e ? dict_entry_val(e) : NULL;
}

command *command_lookup(const char *name, size_t len) { return lookup_in(server_commands, name, len); }

command *command_lookup_argv(resp_arg *argv, int argc) {
    command *cmd = command_lookup(argv[0].ptr, argv[0].len);
    if (!cmd || !cmd->subcommands) return cmd;
    if (argc < 2) return cmd->proc ? cmd : NULL; /* COMMAND alone is a command */
    return lookup_in(cmd->subcommands, argv[1].ptr, argv[1].len);
}

void commands_reset_stats(void) {
    for (size_t i = 0; i < NCOMMANDS; i++) {
        command_table[i].calls = command_table[i].usec = 0;
        command_table[i].rejected_calls = command_table[i].failed_calls = 0;
    }
}

/* Calls fn for every command and subcommand. */
void commands_foreach(void (*fn)(command *cmd, void *priv), void *priv) {
    for (size_t i = 0; i < NCOMMANDS; i++) fn(&command_table[i], priv);
}

/* ---------------- COMMAND ---------------- */

static int count_words(const char *s) {
    int n = 0;
    while (*s) {
        while (*s == ' ') s++;
        if (!*s) break;
        n++;
        s += strcspn(s, " ");
    }
    return n;
}

static void reply_flags(client *c, command *cmd) {
    int n = 0;
    for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
        if ((cmd->flags & flag_names[i].bit) && flag_names[i].out) n++;
    add_reply_set_len(c, n);
    for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
        if ((cmd->flags & flag_names[i].bit) && flag_names[i].out) add_reply_status(c, flag_names[i].out);
}

static void reply_acl(client *c, command *cmd) {
    const char *s = cmd->acl_str;
    add_reply_set_len(c, count_words(s));
    while (*s) {
        while (*s == ' ') s++;
        size_t n = strcspn(s, " ");
        if (!n) break;
        char buf[64];
        snprintf(buf, sizeof(buf), "%.*s", (int)n, s);
        add_reply_status(c, buf);
        s += n;
    }
}

static void reply_key_specs(client *c, command *cmd) {
    if (cmd->first_key == 0) {
        add_reply_array_len(c, 0);
        return;
    }
    add_reply_array_len(c, 1);
    add_reply_map_len(c, 3);
    add_reply_bulk_cstr(c, "flags");
    int ro = (cmd->flags & CMD_READONLY) != 0;
    add_reply_set_len(c, 1);
    add_reply_status(c, ro ? "RO" : "RW");
    add_reply_bulk_cstr(c, "begin_search");
    add_reply_map_len(c, 2);
    add_reply_bulk_cstr(c, "type");
    add_reply_bulk_cstr(c, "index");
    add_reply_bulk_cstr(c, "spec");
    add_reply_map_len(c, 1);
    add_reply_bulk_cstr(c, "index");
    add_reply_long(c, cmd->first_key);
    add_reply_bulk_cstr(c, "find_keys");
    add_reply_map_len(c, 2);
    add_reply_bulk_cstr(c, "type");
    add_reply_bulk_cstr(c, "range");
    add_reply_bulk_cstr(c, "spec");
    add_reply_map_len(c, 3);
    add_reply_bulk_cstr(c, "lastkey");
    add_reply_long(c, cmd->last_key < 0 ? cmd->last_key : cmd->last_key - cmd->first_key);
    add_reply_bulk_cstr(c, "keystep");
    add_reply_long(c, cmd->key_step);
    add_reply_bulk_cstr(c, "limit");
    add_reply_long(c, 0);
}

static void reply_command_info(client *c, command *cmd) {
    if (!cmd) {
        add_reply_null_array(c);
        return;
    }
    add_reply_array_len(c, 10);
    add_reply_bulk_cstr(c, cmd->name);
    add_reply_long(c, cmd->arity);
    reply_flags(c, cmd);
    add_reply_long(c, cmd->first_key);
    add_reply_long(c, cmd->last_key);
    add_reply_long(c, cmd->key_step);
    reply_acl(c, cmd);
    add_reply_set_len(c, 0); /* tips */
    reply_key_specs(c, cmd);
    if (cmd->subcommands) {
        add_reply_array_len(c, (long long)dict_size(cmd->subcommands));
        for (size_t i = 0; i < NCOMMANDS; i++)
            if (command_table[i].parent == cmd) reply_command_info(c, &command_table[i]);
    } else {
        add_reply_array_len(c, 0);
    }
}

/* ---- COMMAND DOCS arguments from the one-line syntax ----
 *
 * The syntax strings of commands.def ("key value [NX|XX] [EX seconds|...]")
 * are turned into Redis's argument tree so that redis-cli can show hints:
 * lower-case words are arguments (type "key" when named key, else
 * "string"), upper-case words are tokens (an argument's token when a value
 * follows, else a pure-token), [..] is optional, a|b is oneof, several
 * items form a block, and "x [x ...]" marks x multiple. */
typedef struct doc_arg {
    char name[48], token[48], type[16];
    int optional, multiple;
    struct doc_arg *kids;
    int nkids;
} doc_arg;

typedef struct doc_lexer {
    const char *p;
    char tok[48];
} doc_lexer;

static int lex(doc_lexer *l) {
    while (*l->p == ' ') l->p++;
    if (!*l->p) return 0;
    if (strchr("[]<>|", *l->p)) {
        l->tok[0] = *l->p++;
        l->tok[1] = '\0';
        return 1;
    }
    size_t n = strcspn(l->p, " []<>|");
    snprintf(l->tok, sizeof(l->tok), "%.*s", (int)n, l->p);
    l->p += n;
    return 1;
}

static int is_upper_word(const char *w) {
    int letters = 0;
    for (; *w; w++) {
        if (*w >= 'a' && *w <= 'z') return 0;
        if (*w >= 'A' && *w <= 'Z') letters = 1;
    }
    return letters;
}

static doc_arg *add_kid(doc_arg *parent) {
    parent->kids = zrealloc(parent->kids, sizeof(doc_arg) * (size_t)(parent->nkids + 1));
    doc_arg *a = &parent->kids[parent->nkids++];
    memset(a, 0, sizeof(*a));
    return a;
}

static void free_doc_arg(doc_arg *a) {
    for (int i = 0; i < a->nkids; i++) free_doc_arg(&a->kids[i]);
    zfree(a->kids);
}

/* Folds a finished alternative (items in alt) into one argument. */
static void fold_alt(doc_arg *alt) {
    if (alt->nkids == 0) return; /* already a single argument */
    if (alt->nkids == 2 && alt->kids[0].type[0] == 'p' && alt->kids[1].type[0] != 'p' && !alt->kids[1].nkids) {
        doc_arg v = alt->kids[1];
        snprintf(v.token, sizeof(v.token), "%s", alt->kids[0].token);
        zfree(alt->kids);
        *alt = v;
        return;
    }
    if (alt->nkids == 1) {
        doc_arg only = alt->kids[0];
        zfree(alt->kids);
        *alt = only;
        return;
    }
    snprintf(alt->type, sizeof(alt->type), "block");
    snprintf(alt->name, sizeof(alt->name), "%s", alt->nkids ? alt->kids[0].name : "block");
}

/* Parses items until closer (or end) into out->kids, as oneof when '|'
 * separates alternatives. */
static void parse_group(doc_lexer *l, doc_arg *out, char closer) {
    doc_arg alts;
    memset(&alts, 0, sizeof(alts));
    doc_arg *cur = add_kid(&alts);
    while (lex(l)) {
        char t = l->tok[0];
        if (t == closer && !l->tok[1]) break;
        if (t == '|' && !l->tok[1]) {
            fold_alt(cur);
            cur = add_kid(&alts);
            continue;
        }
        if ((t == '[' || t == '<') && !l->tok[1]) {
            doc_arg sub;
            memset(&sub, 0, sizeof(sub));
            parse_group(l, &sub, t == '[' ? ']' : '>');
            if (sub.nkids == 0) continue;
            doc_arg *prev = cur->nkids ? &cur->kids[cur->nkids - 1] : NULL;
            /* "x [x ...]" : x repeats */
            if (prev && sub.nkids == 1 && sub.kids[0].multiple && !strcmp(sub.kids[0].name, prev->name)) {
                prev->multiple = 1;
                free_doc_arg(&sub);
                continue;
            }
            if (!sub.type[0]) fold_alt(&sub);
            sub.optional = t == '[';
            *add_kid(cur) = sub;
            continue;
        }
        if (!strcmp(l->tok, "...")) {
            if (cur->nkids) cur->kids[cur->nkids - 1].multiple = 1;
            doc_arg *d = add_kid(cur); /* kept only for the "x [x ...]" check */
            snprintf(d->name, sizeof(d->name), "...");
            snprintf(d->type, sizeof(d->type), "string");
            continue;
        }
        doc_arg *a = add_kid(cur);
        if (is_upper_word(l->tok)) {
            snprintf(a->token, sizeof(a->token), "%s", l->tok);
            snprintf(a->name, sizeof(a->name), "%s", l->tok);
            for (char *q = a->name; *q; q++) *q = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
            snprintf(a->type, sizeof(a->type), "pure-token");
        } else {
            snprintf(a->name, sizeof(a->name), "%s", l->tok);
            snprintf(a->type, sizeof(a->type), "%s", strstr(l->tok, "key") ? "key" : "string");
        }
    }
    /* drop the "..." markers */
    for (int i = 0; i < alts.nkids; i++) {
        doc_arg *alt = &alts.kids[i];
        for (int k = 0; k < alt->nkids; k++)
            if (!strcmp(alt->kids[k].name, "...")) {
                free_doc_arg(&alt->kids[k]);
                memmove(&alt->kids[k], &alt->kids[k + 1], sizeof(doc_arg) * (size_t)(alt->nkids - k - 1));
                alt->nkids--;
                k--;
            }
    }
    if (alts.nkids == 1) {
        *out = alts.kids[0];
        zfree(alts.kids);
        return;
    }
    for (int i = 0; i < alts.nkids; i++) fold_alt(&alts.kids[i]);
    *out = alts;
    snprintf(out->type, sizeof(out->type), "oneof");
    snprintf(out->name, sizeof(out->name), "%s", alts.kids[0].name);
}

static void reply_doc_arg(client *c, doc_arg *a) {
    int n = 2 + (a->token[0] ? 1 : 0) + ((a->optional || a->multiple) ? 1 : 0) + (a->nkids ? 1 : 0);
    add_reply_map_len(c, n);
    add_reply_bulk_cstr(c, "name");
    add_reply_bulk_cstr(c, a->name);
    add_reply_bulk_cstr(c, "type");
    add_reply_bulk_cstr(c, a->type);
    if (a->token[0]) {
        add_reply_bulk_cstr(c, "token");
        add_reply_bulk_cstr(c, a->token);
    }
    if (a->optional || a->multiple) {
        add_reply_bulk_cstr(c, "flags");
        add_reply_set_len(c, a->optional + a->multiple);
        if (a->optional) add_reply_status(c, "optional");
        if (a->multiple) add_reply_status(c, "multiple");
    }
    if (a->nkids) {
        add_reply_bulk_cstr(c, "arguments");
        add_reply_array_len(c, a->nkids);
        for (int i = 0; i < a->nkids; i++) reply_doc_arg(c, &a->kids[i]);
    }
}

static void reply_doc_arguments(client *c, const char *syntax) {
    doc_lexer l = {syntax, {0}};
    doc_arg root;
    memset(&root, 0, sizeof(root));
    parse_group(&l, &root, 0);
    /* the top level is a sequence: emit its items, or the single item */
    if (root.type[0] == 0 && root.nkids) {
        add_reply_array_len(c, root.nkids);
        for (int i = 0; i < root.nkids; i++) reply_doc_arg(c, &root.kids[i]);
    } else {
        add_reply_array_len(c, 1);
        reply_doc_arg(c, &root);
    }
    free_doc_arg(&root);
}

static void reply_command_docs(client *c, command *cmd) {
    int fields = 4 + (cmd->subcommands ? 1 : 0) + (cmd->syntax[0] ? 1 : 0);
    add_reply_map_len(c, fields);
    add_reply_bulk_cstr(c, "summary");
    add_reply_bulk_cstr(c, cmd->summary);
    add_reply_bulk_cstr(c, "since");
    add_reply_bulk_cstr(c, cmd->since);
    add_reply_bulk_cstr(c, "group");
    add_reply_bulk_cstr(c, cmd->group);
    add_reply_bulk_cstr(c, "complexity");
    add_reply_bulk_cstr(c, cmd->complexity);
    if (cmd->syntax[0]) {
        add_reply_bulk_cstr(c, "arguments");
        reply_doc_arguments(c, cmd->syntax);
    }
    if (cmd->subcommands) {
        add_reply_bulk_cstr(c, "subcommands");
        add_reply_map_len(c, (long long)dict_size(cmd->subcommands));
        for (size_t i = 0; i < NCOMMANDS; i++) {
            if (command_table[i].parent != cmd) continue;
            add_reply_bulk_cstr(c, command_table[i].name);
            reply_command_docs(c, &command_table[i]);
        }
    }
}

static void command_getkeys(client *c) {
    resp_arg *argv = c->argv + 2;
    int argc = c->argc - 2;
    command *cmd = command_lookup_argv(argv, argc);
    if (!cmd) {
        add_reply_error(c, "Invalid command specified");
        return;
    }
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) {
        add_reply_error(c, "Invalid number of arguments specified for command");
        return;
    }
    int sfirst, scount;
    if (script_command_keys(cmd, argv, argc, &sfirst, &scount)) { /* EVAL/FCALL: numkeys keys */
        add_reply_array_len(c, scount);
        for (int i = sfirst; i < sfirst + scount; i++) add_reply_bulk(c, argv[i].ptr, argv[i].len);
        return;
    }
    if (cmd->first_key == 0) {
        add_reply_error(c, "The command has no key arguments");
        return;
    }
    int last = cmd->last_key < 0 ? argc + cmd->last_key : cmd->last_key;
    void *h = add_reply_deferred_len(c);
    long long n = 0;
    for (int i = cmd->first_key; i <= last && i < argc; i += cmd->key_step) {
        add_reply_bulk(c, argv[i].ptr, argv[i].len);
        n++;
    }
    set_deferred_array_len(c, h, n);
}

static int acl_has(command *cmd, const char *cat, size_t len) {
    const char *s = cmd->acl_str;
    while (*s) {
        while (*s == ' ') s++;
        size_t n = strcspn(s, " ");
        if (n == len + 1 && s[0] == '@' && !strncasecmp(s + 1, cat, len)) return 1;
        s += n;
    }
    return 0;
}

static void command_list(client *c) {
    int mode = 0; /* 0 all, 1 module, 2 aclcat, 3 pattern */
    resp_arg *arg = NULL;
    if (c->argc == 5 && arg_is(c, 2, "filterby")) {
        arg = &c->argv[4];
        if (arg_is(c, 3, "module")) mode = 1;
        else if (arg_is(c, 3, "aclcat")) mode = 2;
        else if (arg_is(c, 3, "pattern")) mode = 3;
        else {
            add_reply_err_syntax(c);
            return;
        }
    } else if (c->argc != 2) {
        add_reply_err_syntax(c);
        return;
    }
    void *h = add_reply_deferred_len(c);
    long long n = 0;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        command *cmd = &command_table[i];
        if (mode == 1) continue;
        if (mode == 2 && !acl_has(cmd, arg->ptr, arg->len)) continue;
        if (mode == 3 && !util_glob_match(arg->ptr, arg->len, cmd->name, strlen(cmd->name), 1)) continue;
        add_reply_bulk_cstr(c, cmd->name);
        n++;
    }
    set_deferred_array_len(c, h, n);
}

void commandCommand(client *c) {
    if (c->argc == 1) {
        long long n = (long long)dict_size(server_commands);
        add_reply_array_len(c, n);
        for (size_t i = 0; i < NCOMMANDS; i++)
            if (!command_table[i].parent) reply_command_info(c, &command_table[i]);
        return;
    }
    const char *sub = c->cmd->shortname;
    if (!strcmp(sub, "count")) {
        add_reply_long(c, (long long)dict_size(server_commands));
    } else if (!strcmp(sub, "info")) {
        if (c->argc == 2) {
            add_reply_array_len(c, (long long)dict_size(server_commands));
            for (size_t i = 0; i < NCOMMANDS; i++)
                if (!command_table[i].parent) reply_command_info(c, &command_table[i]);
            return;
        }
        add_reply_array_len(c, c->argc - 2);
        for (int i = 2; i < c->argc; i++) {
            command *cmd = command_lookup(c->argv[i].ptr, c->argv[i].len);
            const char *bar = memchr(c->argv[i].ptr, '|', c->argv[i].len);
            if (bar) {
                command *p = command_lookup(c->argv[i].ptr, (size_t)(bar - c->argv[i].ptr));
                cmd = p && p->subcommands ? lookup_in(p->subcommands, bar + 1, c->argv[i].len - (size_t)(bar + 1 - c->argv[i].ptr)) : NULL;
            }
            reply_command_info(c, cmd);
        }
    } else if (!strcmp(sub, "docs")) {
        void *h = add_reply_deferred_len(c);
        long long n = 0;
        for (size_t i = 0; i < NCOMMANDS; i++) {
            command *cmd = &command_table[i];
            if (cmd->parent) continue;
            if (c->argc > 2) {
                int want = 0;
                for (int j = 2; j < c->argc; j++)
                    if (util_eqi(c->argv[j].ptr, c->argv[j].len, cmd->name)) want = 1;
                if (!want) continue;
            }
            add_reply_bulk_cstr(c, cmd->name);
            reply_command_docs(c, cmd);
            n++;
        }
        set_deferred_map_len(c, h, n);
    } else if (!strcmp(sub, "getkeys")) {
        command_getkeys(c);
    } else if (!strcmp(sub, "list")) {
        command_list(c);
    } else if (!strcmp(sub, "help")) {
        static const char *help[] = {
            "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "(no subcommand)", "    Return details about all Phenix commands.",
            "COUNT", "    Return the total number of commands in this Phenix server.",
            "LIST", "    Return a list of all commands in this Phenix server.",
            "INFO [<command-name> ...]", "    Return details about multiple Phenix commands.",
            "DOCS [<command-name> ...]", "    Return documentation details about multiple Phenix commands.",
            "GETKEYS <full-command>", "    Return the keys from a full Phenix command.",
            "HELP", "    Print this help.", NULL};
        add_reply_help(c, help);
    }
}
