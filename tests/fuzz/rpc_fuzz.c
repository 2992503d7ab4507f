/* rpc_fuzz.c - libFuzzer entry point for the JSON-RPC request parser and
 * dispatcher. Each input runs against a fresh bus and a socket-less server,
 * so every crash reproduces from its input alone. Blocking gets wait at most
 * 1 ms; links created by "interconnect" never touch the network.
 * The same input also goes through the browser guard's header checks as
 * up to three lines: Host, Origin, Sec-Fetch-Site (an empty line: absent). */
#include "net_internal.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(const bmq_message *m, void *ud)
{
    (void)bmq_message_to_json(m);
}

static void guard(bmq_server *s, const uint8_t *data, size_t size)
{
    static const char *const names[] = {"hub.lan", NULL};
    static const char *const origins[] = {"http://127.0.0.1:8123", "https://app.example", NULL};
    s->host = g_strdup("127.0.0.1");
    s->server_names = g_strdupv((char **)names);
    s->allow_origins = g_strdupv((char **)origins);
    char *text = g_strndup((const char *)data, size); /* stops at a NUL, as a header would */
    char **f = g_strsplit(text, "\n", 3);
    const char *v[3] = {NULL, NULL, NULL};
    for (size_t i = 0; i < 3 && f[i]; i++)
        v[i] = *f[i] ? f[i] : NULL;
    for (size_t i = 0; i < 3; i++)
        g_free(net__origin_normalize(v[i]));
    const char *cors = NULL;
    int verdict = net__guard_verdict(s, v[0], v[1], v[2], &cors);
    if (verdict < NET_GUARD_OK || verdict >= NET_GUARD_N || (cors && !v[1]))
        __builtin_trap();
    if (verdict == NET_GUARD_OK && v[1]) {
        /* A let-in origin is one of the list, and is what gets echoed. */
        char *norm = net__origin_normalize(v[1]);
        if (!cors || !norm || strcmp(cors, norm))
            __builtin_trap();
        g_free(norm);
    }
    if (verdict == NET_GUARD_OK && v[2] && !v[1] && g_ascii_strcasecmp(v[2], "none") &&
        g_ascii_strcasecmp(v[2], "same-origin"))
        __builtin_trap();
    g_strfreev(f);
    g_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bmq_bus *bus = bmq_bus_new();
    bmq_follower *f = bmq_follow(bus, "*@*:*", sink, NULL, NULL);
    bmq_server *s = net__server_new_offline(bus, 0.001);
    guard(s, data, size);
    char *out = rpc__dispatch(s, (const char *)data, size, NULL);
    /* The answer is always JSON: an object, or an array for a batch. */
    json_object *o = json_tokener_parse(out);
    if (!o ||
        !(json_object_is_type(o, json_type_object) || json_object_is_type(o, json_type_array)))
        __builtin_trap();
    json_object_put(o);
    g_free(out);
    bmq_server_stop(s);
    bmq_unfollow(f);
    bmq_bus_free(bus);
    return 0;
}
