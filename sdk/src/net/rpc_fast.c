/* rpc_fast.c - the bulk fast path of the dispatcher: a JSON-RPC batch of
 * send_message requests laid out exactly as our own links write them
 *   [{"id":N,"method":"send_message","params":[T,I,A,K(,{"uid":U})]},...]
 * is scanned without building a json-c tree for the envelope; only each
 * message's args and kwargs are parsed. Anything else (whitespace, escapes,
 * other methods, odd types) returns false before any side effect, and the
 * general path answers it. */
#include "net_internal.h"

#include <berrymq/json.h>

#include <string.h>

typedef struct {
    const char *rid; /* the request id digits */
    size_t rid_len;
    const char *token; /* into the body, not terminated */
    const char *id;
    const char *uid; /* nullable */
    size_t token_len, id_len, uid_len;
    const char *a, *k; /* args / kwargs text */
    size_t a_len, k_len;
    json_object *args;
    json_object *kwargs;
} fast_req;

typedef struct {
    const char *p, *end;
} cursor;

static bool lit(cursor *c, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n))
        return false;
    c->p += n;
    return true;
}

/* A string without escapes or control characters, at most @max bytes: its
 * text stays in the body. */
static bool simple_string(cursor *c, const char **text, size_t *len, size_t max)
{
    if (c->p >= c->end || *c->p != '"')
        return false;
    const char *s = ++c->p;
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '\\' || ch < 0x20)
            return false;
        c->p++;
    }
    if (c->p >= c->end || (size_t)(c->p - s) > max)
        return false;
    *text = s;
    *len = (size_t)(c->p - s);
    c->p++;
    return true;
}

static void copy_z(char *buf, const char *s, size_t len)
{
    memcpy(buf, s, len);
    buf[len] = '\0';
}

/* The extent of one JSON container at the cursor (not validated here: the
 * text is parsed afterwards). */
static bool container(cursor *c, const char **start, size_t *len)
{
    if (c->p >= c->end || (*c->p != '[' && *c->p != '{'))
        return false;
    size_t end = bmq_json_value_len(c->p, (size_t)(c->end - c->p), 64);
    if (!end)
        return false;
    *start = c->p;
    *len = end;
    c->p += end;
    return true;
}

static bool scan_one(cursor *c, fast_req *r)
{
    if (!lit(c, "{\"id\":"))
        return false;
    r->rid = c->p;
    while (c->p < c->end && g_ascii_isdigit(*c->p) && c->p - r->rid < 18)
        c->p++;
    r->rid_len = (size_t)(c->p - r->rid);
    if (!r->rid_len || (r->rid_len > 1 && r->rid[0] == '0') ||
        !lit(c, ",\"method\":\"send_message\",\"params\":[") ||
        !simple_string(c, &r->token, &r->token_len, NET_TOKEN_MAX) || !lit(c, ",") ||
        !simple_string(c, &r->id, &r->id_len, BMQ_ID_MAX) || !lit(c, ",") ||
        !container(c, &r->a, &r->a_len) || *r->a != '[' || !lit(c, ",") ||
        !container(c, &r->k, &r->k_len) || *r->k != '{')
        return false;
    if (lit(c, ",{\"uid\":")) {
        if (!simple_string(c, &r->uid, &r->uid_len, 64) || !r->uid_len || !lit(c, "}"))
            return false;
    }
    /* The general path refuses invalid UTF-8 anywhere in the body (its
     * parser checks every string); these strings skip that parser. */
    if (!g_utf8_validate(r->id, (gssize)r->id_len, NULL) ||
        !g_utf8_validate(r->token, (gssize)r->token_len, NULL) ||
        (r->uid && !g_utf8_validate(r->uid, (gssize)r->uid_len, NULL)))
        return false;
    char id[BMQ_ID_MAX + 1];
    copy_z(id, r->id, r->id_len);
    /* A local name is refused (and logged) by the general path. */
    return id[0] != '_' && bmq_id_validate(id) == 0 && lit(c, "]}");
}

/* Parse every args and kwargs text with one json-c call ("[A1,K1,A2,...]"):
 * each call of the tokener costs a locale switch, more than a small value. */
static bool parse_values(fast_req *reqs, size_t n)
{
    size_t total = 2 * n + 2;
    for (size_t i = 0; i < n; i++)
        total += reqs[i].a_len + reqs[i].k_len;
    GString *all = g_string_sized_new(total); /* one block: no regrowth */
    g_string_append_c(all, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            g_string_append_c(all, ',');
        g_string_append_len(all, reqs[i].a, (gssize)reqs[i].a_len);
        g_string_append_c(all, ',');
        g_string_append_len(all, reqs[i].k, (gssize)reqs[i].k_len);
    }
    g_string_append_c(all, ']');
    json_object *arr = NULL;
    bool ok = bmq_json_parse(all->str, all->len, 0, &arr, NULL) == 0 &&
              json_object_is_type(arr, json_type_array) && json_object_array_length(arr) == 2 * n;
    for (size_t i = 0; ok && i < n; i++) {
        json_object *a = json_object_array_get_idx(arr, 2 * i);
        json_object *k = json_object_array_get_idx(arr, 2 * i + 1);
        ok = json_object_is_type(a, json_type_array) && json_object_is_type(k, json_type_object);
        if (ok) {
            reqs[i].args = json_object_get(a);
            reqs[i].kwargs = json_object_get(k);
        }
    }
    json_object_put(arr); /* the values live on in reqs */
    g_string_free(all, TRUE);
    return ok;
}

static void free_reqs(fast_req *reqs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_object_put(reqs[i].args);
        json_object_put(reqs[i].kwargs);
    }
    g_free(reqs);
}

static const char *deliver(bmq_server *s, fast_req *r, bmq_link **cache)
{
    bmq_link *l = *cache;
    if (!l || !l->token || strlen(l->token) != r->token_len ||
        memcmp(l->token, r->token, r->token_len)) {
        net__link_unref(l);
        char token[NET_TOKEN_MAX + 1];
        copy_z(token, r->token, r->token_len);
        bool expired = false;
        l = *cache = net__bus_lookup(s->nb, token, &expired);
        if (!l)
            return expired ? "timeout" : "invalid token";
        net__link_touch(l);
    }
    char uid[65];
    if (r->uid) {
        copy_z(uid, r->uid, r->uid_len);
        if (net__seen_check_add(s->nb, uid)) {
            net__atomic_add(&s->nb->duplicates, 1);
            return "ok";
        }
    }
    char id[BMQ_ID_MAX + 1];
    copy_z(id, r->id, r->id_len);
    bmq_message *m = bmq_message_new_full(id, r->args, r->kwargs, r->uid ? uid : NULL, l, NULL);
    r->args = r->kwargs = NULL; /* owned by the call in every case */
    if (!m)
        return NULL;
    net__atomic_add(&l->received, 1);
    net__atomic_add(&s->nb->messages_in, 1);
    bmq_twitter_message(s->bus, m);
    return "ok";
}

bool rpc__dispatch_fast(bmq_server *s, const char *body, size_t len, GString *out)
{
    cursor c = {body, body + len};
    if (len > (size_t)G_MAXINT || !lit(&c, "["))
        return false;
    /* a request of our links takes 100 bytes and more: rarely regrown */
    size_t n = 0, cap = MIN(len / 96 + 1, (size_t)NET_MAX_BATCH);
    fast_req *reqs = g_new0(fast_req, cap);
    bool ok = true;
    do {
        if (n == NET_MAX_BATCH) {
            ok = false;
            break;
        }
        if (n == cap) {
            reqs = g_renew(fast_req, reqs, cap * 2);
            memset(reqs + cap, 0, cap * sizeof *reqs);
            cap *= 2;
        }
        ok = scan_one(&c, &reqs[n++]);
    } while (ok && lit(&c, ","));
    if (!ok || !lit(&c, "]") || c.p != c.end || !parse_values(reqs, n)) {
        free_reqs(reqs, n);
        return false;
    }
    /* Every request is well formed: answer them in order, the uid set's
     * memory fetched for all of them first. */
    for (size_t i = 0, k = 0; i < n; i++)
        if (reqs[i].uid)
            net__seen_prefetch(s->nb, reqs[i].uid, reqs[i].uid_len, k++);
    bmq_link *cache = NULL;
    g_string_append_c(out, '[');
    for (size_t i = 0; i < n; i++) {
        net__atomic_add(&s->requests, 1);
        const char *res = deliver(s, &reqs[i], &cache);
        g_string_append(out, i ? ",{\"id\":" : "{\"id\":");
        g_string_append_len(out, reqs[i].rid, (gssize)reqs[i].rid_len);
        if (res) {
            g_string_append(out, ",\"result\":\"");
            g_string_append(out, res);
            g_string_append(out, "\",\"error\":null}");
        } else {
            net__atomic_add(&s->errors, 1);
            g_string_append_printf(out,
                                   ",\"result\":null,\"error\":{\"code\":%d,\"message\":"
                                   "\"send_message: invalid message\"}}",
                                   RPC_EPARAMS);
        }
    }
    g_string_append_c(out, ']');
    net__link_unref(cache);
    free_reqs(reqs, n);
    return true;
}
