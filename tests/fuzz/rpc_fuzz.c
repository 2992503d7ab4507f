/* rpc_fuzz.c - libFuzzer entry point for the JSON-RPC request parser and
 * dispatcher. Each input runs against a fresh bus and a socket-less server,
 * so every crash reproduces from its input alone. Blocking gets wait at most
 * 1 ms; links created by "interconnect" never touch the network. */
#include "net_internal.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(const bmq_message *m, void *ud)
{
    (void)bmq_message_to_json(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bmq_bus *bus = bmq_bus_new();
    bmq_follower *f = bmq_follow(bus, "*@*:*", sink, NULL, NULL);
    bmq_server *s = net__server_new_offline(bus, 0.001);
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
