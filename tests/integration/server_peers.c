/* server_peers.c - what a peer other than the hub's own user may hold:
 * asking for ttl 0 (never expires) or a huge ttl gets max_ttl, a small ttl
 * is kept, and past max_queues_per_peer tokens it is refused naming the
 * limit and the peer; the hub's own user keeps ttl 0. Two such peers, each
 * with the secret (without it neither gets in at all):
 *   - a remote peer: the hub listens on a non-loopback address of this
 *     machine (with an allow-list) and curl connects to that address, so
 *     the hub sees a client address that is not loopback (skipped when the
 *     machine has no such address);
 *   - another local user: curl run as uid 65534 (setpriv) over loopback
 *     TCP (needs root; skipped otherwise).
 */
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hub_harness.h"

#define SECRET  "s3cret"
#define MAX_TTL 120

static bool other_uid; /* run curl as uid 65534 */

/* POST @body to @url with the secret; the output (transfer full). @sock
 * (nullable): through this Unix socket, as the hub's own user. */
static char *curl_post(const char *url, const char *body, const char *sock)
{
    GPtrArray *a = g_ptr_array_new();
    if (sock) {
        g_ptr_array_add(a, "curl");
        g_ptr_array_add(a, "--unix-socket");
        g_ptr_array_add(a, (gpointer)sock);
        g_ptr_array_add(a, "-s");
        g_ptr_array_add(a, "http://localhost/JSON");
        g_ptr_array_add(a, "-d");
        g_ptr_array_add(a, (gpointer)body);
    } else if (other_uid) {
        const char *pre[] = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
        for (size_t i = 0; i < G_N_ELEMENTS(pre); i++)
            g_ptr_array_add(a, (gpointer)pre[i]);
    }
    const char *args[] = {"curl", "-s", "-H", "Authorization: Bearer " SECRET, url, "-d", body};
    for (size_t i = 0; !sock && i < G_N_ELEMENTS(args); i++)
        g_ptr_array_add(a, (gpointer)args[i]);
    g_ptr_array_add(a, NULL);
    char *out = NULL;
    int status = -1;
    GError *e = NULL;
    if (!g_spawn_sync("/", (char **)a->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL,
                      &status, &e)) {
        fprintf(stderr, "spawn curl: %s\n", e->message);
        g_error_free(e);
        check_failures++;
    }
    g_ptr_array_free(a, TRUE);
    return out ? out : g_strdup("");
}

/* The token in a JSON-RPC answer's result (transfer full), or NULL. */
static char *token_of(const char *answer)
{
    json_object *o = json_tokener_parse(answer), *r;
    char *t = NULL;
    if (o && json_object_object_get_ex(o, "result", &r) && json_object_is_type(r, json_type_string))
        t = g_strdup(json_object_get_string(r));
    json_object_put(o);
    return t;
}

/* The ttl hub.status shows for @token, -1 when it has no such link. */
static double ttl_of(hh_hub *h, const char *token)
{
    json_object *st = hh_call(h, "hub.status", "[]", NULL), *server, *links;
    double ttl = -1;
    if (token && st && json_object_object_get_ex(st, "server", &server) &&
        json_object_object_get_ex(server, "links", &links))
        for (size_t i = 0; i < json_object_array_length(links); i++) {
            json_object *l = json_object_array_get_idx(links, i), *t, *v;
            if (json_object_object_get_ex(l, "token", &t) &&
                json_object_is_type(t, json_type_string) &&
                strcmp(json_object_get_string(t), token) == 0 &&
                json_object_object_get_ex(l, "ttl", &v))
                ttl = json_object_get_double(v);
        }
    json_object_put(st);
    return ttl;
}

/* The hub at @listen (extra --listen, nullable) with @allow (nullable);
 * the peer reaches it at @host. @peer_key: how the refusal names it. */
static void peer_limits(const char *listen, const char *allow, const char *host,
                        const char *peer_key)
{
    hh_env *env = hh_env_new();
    char *cfg = g_strdup_printf("{\"secret\": \"" SECRET "\", \"max_ttl\": %d, "
                                "\"max_queues_per_peer\": 3%s%s%s, \"plugins\": []}",
                                MAX_TTL, allow ? ", \"allow\": [\"" : "", allow ? allow : "",
                                allow ? "\"]" : "");
    hh_write_config(env, cfg);
    g_free(cfg);
    const char *extra[] = {"--listen", listen, NULL};
    hh_hub *h = hh_start(env, listen ? extra : NULL, true);
    EXPECT(h->listen != NULL);
    if (!h->listen) {
        hh_free(h);
        hh_env_free(env);
        return;
    }
    const char *port = strrchr(h->listen, ':') + 1;
    char *url = g_strdup_printf("http://%s:%s/JSON", host, port);
    static const struct {
        const char *body;
        double ttl; /* what the hub grants */
    } asks[] = {
        {"{\"id\":1,\"method\":\"connect_via_queue\",\"params\":[\"never:*\",0]}", MAX_TTL},
        {"{\"id\":2,\"method\":\"connect_via_queue\",\"params\":[\"huge:*\",1e9]}", MAX_TTL},
        {"{\"id\":3,\"method\":\"connect_via_queue\",\"params\":[\"short:*\",10]}", 10},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(asks); i++) {
        char *out = curl_post(url, asks[i].body, NULL);
        char *tok = token_of(out);
        EXPECT(tok != NULL);
        double ttl = ttl_of(h, tok);
        fprintf(stderr, "%s asked %s: ttl %g\n", peer_key, asks[i].body, ttl);
        EXPECT(ttl == asks[i].ttl);
        g_free(tok);
        g_free(out);
    }
    /* a fourth token is one too many for this peer */
    char *out = curl_post(url, "{\"id\":4,\"method\":\"connect_oneway\",\"params\":[0]}", NULL);
    char *want = g_strdup_printf("connect_oneway: too many connections from %s: at most 3 queues "
                                 "and links per peer (max_queues_per_peer)",
                                 peer_key);
    EXPECT_CONTAINS(out, want);
    g_free(want);
    g_free(out);
    /* the hub's own user (its Unix socket) keeps ttl 0 */
    char *sock = g_build_filename(env->root, "run", "berrymq", "hub.sock", NULL);
    out = curl_post(NULL, "{\"id\":5,\"method\":\"connect_via_queue\",\"params\":[\"own:*\",0]}",
                    sock);
    char *tok = token_of(out);
    EXPECT(tok != NULL);
    EXPECT(ttl_of(h, tok) == 0);
    g_free(tok);
    g_free(out);
    g_free(sock);
    g_free(url);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    hh_env_free(env);
}

/* A non-loopback IPv4 address of this machine (transfer full), or NULL. */
static char *outside_address(void)
{
    struct ifaddrs *ifs = NULL, *i;
    char *found = NULL;
    if (getifaddrs(&ifs) != 0)
        return NULL;
    for (i = ifs; i && !found; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP) ||
            (i->ifa_flags & IFF_LOOPBACK))
            continue;
        char buf[INET_ADDRSTRLEN];
        struct in_addr a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
        if ((ntohl(a.s_addr) >> 24) != 127 && inet_ntop(AF_INET, &a, buf, sizeof buf))
            found = g_strdup(buf);
    }
    freeifaddrs(ifs);
    return found;
}

int main(void)
{
    char *curl = g_find_program_in_path("curl"), *setpriv = g_find_program_in_path("setpriv");
    if (!curl) {
        fprintf(stderr, "curl missing; skipped\n");
        return 77;
    }
    g_setenv("HH_SECRET", SECRET, TRUE);
    int ran = 0;
    char *addr = outside_address();
    if (addr) {
        fprintf(stderr, "== remote peer (%s)\n", addr);
        char *listen = g_strdup_printf("%s:0", addr);
        char *allow = g_strdup_printf("%s/32", addr);
        char *key = g_strdup_printf("ip:%s", addr);
        peer_limits(listen, allow, addr, key);
        g_free(key);
        g_free(allow);
        g_free(listen);
        ran++;
    } else {
        fprintf(stderr, "no non-loopback address: remote peer part skipped\n");
    }
    if (geteuid() == 0 && setpriv) {
        fprintf(stderr, "== another local user (uid 65534)\n");
        other_uid = true;
        peer_limits(NULL, NULL, "127.0.0.1", "uid:65534");
        ran++;
    } else {
        fprintf(stderr, "not root or no setpriv: other-user part skipped\n");
    }
    g_free(addr);
    g_free(curl);
    g_free(setpriv);
    if (check_failures)
        return check_result();
    return ran ? 0 : 77;
}
