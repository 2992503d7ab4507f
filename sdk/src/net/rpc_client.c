/* rpc_client.c - JSON-RPC 1.0 over HTTP with libcurl. One easy handle per
 * client, reused: HTTP/1.1 peers keep the connection alive, HTTP/1.0 peers
 * (original nodes) close it after each response and curl reconnects. */
#include "net_internal.h"

#include <berrymq/json.h>

#include <curl/curl.h>
#include <limits.h>
#include <string.h>

struct bmq_rpc_client {
    CURL *curl;
    char *url;
    struct curl_slist *headers;
    GString *resp;
    long timeout_ms;
    long connect_ms;
    int64_t next_id;
    char local_ip[64];
    char errbuf[CURL_ERROR_SIZE];
    CURLM *multi; /* (nullable) for requests overlapped with other work */
    char *secret;
};

static gpointer curl_init_once(gpointer unused)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return NULL;
}

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    GString *s = user;
    g_string_append_len(s, data, (gssize)(size * n));
    return size * n;
}

char *rpc__url_for(const char *host, uint16_t port)
{
    if (strchr(host, ':'))
        return g_strdup_printf("http://[%s]:%u/JSON", host, (unsigned)port);
    return g_strdup_printf("http://%s:%u/JSON", host, (unsigned)port);
}

/* Accepts "host:port", "http://host:port" and "http://host:port/path". */
static char *normalize_url(const char *url)
{
    if (!url || !*url)
        return NULL;
    char *full = strstr(url, "://") ? g_strdup(url) : g_strconcat("http://", url, NULL);
    CURLU *u = curl_url();
    char *host = NULL, *path = NULL, *scheme = NULL, *port = NULL, *out = NULL;
    if (curl_url_set(u, CURLUPART_URL, full, 0) != CURLUE_OK)
        goto done;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcmp(scheme, "http") && strcmp(scheme, "https")))
        goto done;
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)
        goto done;
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK) {
        char p[8];
        g_snprintf(p, sizeof p, "%u", (unsigned)BMQ_DEFAULT_PORT);
        curl_url_set(u, CURLUPART_PORT, p, 0);
    }
    if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK || !strcmp(path, "/"))
        curl_url_set(u, CURLUPART_PATH, "/JSON", 0);
    char *s = NULL;
    if (curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK) {
        out = g_strdup(s);
        curl_free(s);
    }
done:
    curl_free(host);
    curl_free(path);
    curl_free(scheme);
    curl_free(port);
    curl_url_cleanup(u);
    g_free(full);
    return out;
}

bmq_rpc_client *bmq_rpc_client_new(const char *url, const char *secret)
{
    static GOnce once = G_ONCE_INIT;
    g_once(&once, curl_init_once, NULL);
    char *norm = normalize_url(url);
    if (!norm)
        return NULL;
    bmq_rpc_client *c = g_new0(bmq_rpc_client, 1);
    c->url = norm;
    c->curl = curl_easy_init();
    c->resp = g_string_sized_new(256);
    c->timeout_ms = 10000;
    c->connect_ms = 5000;
    c->next_id = 1;
    c->headers = curl_slist_append(NULL, "Content-Type: application/json");
    /* No "Expect: 100-continue": HTTP/1.0 peers never answer it. */
    c->headers = curl_slist_append(c->headers, "Expect:");
    c->secret = g_strdup(secret && *secret ? secret : NULL);
    if (secret && *secret) {
        char *h = g_strconcat("Authorization: Bearer ", secret, NULL);
        c->headers = curl_slist_append(c->headers, h);
        g_free(h);
    }
    curl_easy_setopt(c->curl, CURLOPT_URL, c->url);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c->resp);
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c->curl, CURLOPT_NOPROXY, "*");
    return c;
}

void bmq_rpc_client_free(bmq_rpc_client *c)
{
    if (!c)
        return;
    if (c->multi) {
        curl_multi_remove_handle(c->multi, c->curl);
        curl_multi_cleanup(c->multi);
    }
    curl_easy_cleanup(c->curl);
    curl_slist_free_all(c->headers);
    g_free(c->secret);
    g_string_free(c->resp, TRUE);
    g_free(c->url);
    g_free(c);
}

void bmq_rpc_client_set_timeout(bmq_rpc_client *c, double seconds)
{
    if (c)
        c->timeout_ms = seconds <= 0 ? 0 : (long)(seconds * 1000.0 + 0.5);
}

void rpc__client_set_connect_timeout(bmq_rpc_client *c, double seconds)
{
    if (c)
        c->connect_ms = seconds <= 0 ? 0 : (long)(seconds * 1000.0 + 0.5);
}

const char *rpc__client_local_ip(bmq_rpc_client *c)
{
    return c->local_ip;
}

static void prepare(bmq_rpc_client *c, const char *body, size_t len)
{
    g_string_truncate(c->resp, 0);
    c->errbuf[0] = '\0';
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms);
}

/* Turn a finished transfer into our result codes. */
static int conclude(bmq_rpc_client *c, CURLcode cc, const char **text, size_t *text_len,
                    char **errtext)
{
    *text = NULL;
    *text_len = 0;
    if (cc != CURLE_OK) {
        if (errtext)
            *errtext = g_strdup_printf("%s: %s", c->url,
                                       c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc));
        return -BMQ_ENET;
    }
    char *ip = NULL;
    if (curl_easy_getinfo(c->curl, CURLINFO_LOCAL_IP, &ip) == CURLE_OK && ip)
        g_strlcpy(c->local_ip, ip, sizeof c->local_ip);
    long status = 0;
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status == 401 || status == 403) {
        if (errtext)
            *errtext = g_strdup_printf("%s: HTTP %ld (%s)", c->url, status,
                                       status == 401 ? "missing or wrong secret" : "forbidden");
        return -BMQ_EDENIED;
    }
    if (status != 200) {
        if (errtext)
            *errtext = g_strdup_printf("%s: HTTP %ld", c->url, status);
        return -BMQ_EPROTO;
    }
    *text = c->resp->str;
    *text_len = c->resp->len;
    return 0;
}

int rpc__client_post_text(bmq_rpc_client *c, const char *body, size_t len, const char **text,
                          size_t *text_len, char **errtext)
{
    prepare(c, body, len);
    return conclude(c, curl_easy_perform(c->curl), text, text_len, errtext);
}

bmq_rpc_client *rpc__client_clone(bmq_rpc_client *c)
{
    bmq_rpc_client *n = bmq_rpc_client_new(c->url, c->secret);
    if (n) {
        n->timeout_ms = c->timeout_ms;
        n->connect_ms = c->connect_ms;
    }
    return n;
}

int rpc__client_start(bmq_rpc_client *c, const char *body, size_t len)
{
    if (!c->multi && !(c->multi = curl_multi_init()))
        return -BMQ_ENOMEM;
    prepare(c, body, len);
    if (curl_multi_add_handle(c->multi, c->curl) != CURLM_OK)
        return -BMQ_ENET;
    int running = 0;
    curl_multi_perform(c->multi, &running); /* connect and send what fits */
    return 0;
}

int rpc__client_finish(bmq_rpc_client *c, const char **text, size_t *text_len, char **errtext)
{
    CURLcode cc = CURLE_RECV_ERROR;
    for (;;) {
        int running = 0, left = 0;
        if (curl_multi_perform(c->multi, &running) != CURLM_OK)
            break;
        CURLMsg *m;
        bool done = false;
        while ((m = curl_multi_info_read(c->multi, &left))) {
            if (m->msg == CURLMSG_DONE && m->easy_handle == c->curl) {
                cc = m->data.result;
                done = true;
            }
        }
        if (done || !running)
            break;
        curl_multi_poll(c->multi, NULL, 0, 1000, NULL);
    }
    curl_multi_remove_handle(c->multi, c->curl);
    return conclude(c, cc, text, text_len, errtext);
}

int rpc__client_post(bmq_rpc_client *c, const char *body, size_t len, json_object **reply,
                     char **errtext)
{
    *reply = NULL;
    const char *text;
    size_t tlen;
    int rc = rpc__client_post_text(c, body, len, &text, &tlen, errtext);
    if (rc < 0)
        return rc;
    json_object *o = NULL;
    if (bmq_json_parse(text, tlen, 0, &o, NULL) != 0)
        o = NULL;
    if (!o ||
        !(json_object_is_type(o, json_type_object) || json_object_is_type(o, json_type_array))) {
        if (errtext)
            *errtext = g_strdup_printf("%s: reply is not JSON-RPC", c->url);
        json_object_put(o);
        return -BMQ_EPROTO;
    }
    *reply = o;
    return 0;
}

int rpc__response_result(json_object *resp, json_object **result, char **errtext)
{
    json_object *err = NULL, *res = NULL;
    if (!json_object_is_type(resp, json_type_object)) {
        if (errtext)
            *errtext = g_strdup("reply is not a JSON-RPC response");
        return -BMQ_EPROTO;
    }
    if (json_object_object_get_ex(resp, "error", &err) && err) {
        if (errtext) {
            json_object *msg = NULL;
            if (json_object_is_type(err, json_type_object) &&
                json_object_object_get_ex(err, "message", &msg) &&
                json_object_is_type(msg, json_type_string))
                *errtext = g_strdup(json_object_get_string(msg));
            else
                *errtext = g_strdup(json_object_to_json_string_ext(err, JSON_C_TO_STRING_PLAIN));
        }
        return -BMQ_EPROTO;
    }
    if (!json_object_object_get_ex(resp, "result", &res)) {
        if (errtext)
            *errtext = g_strdup("reply has no result");
        return -BMQ_EPROTO;
    }
    if (result)
        *result = json_object_get(res);
    return 0;
}

int bmq_rpc_client_call(bmq_rpc_client *c, const char *method, json_object *params,
                        json_object **result, char **errtext)
{
    if (result)
        *result = NULL;
    if (errtext)
        *errtext = NULL;
    if (!c || !method) {
        json_object_put(params);
        return -BMQ_EINVAL;
    }
    if (!params)
        params = json_object_new_array();
    json_object *req = json_object_new_object();
    json_object_object_add(req, "id", json_object_new_int64(c->next_id++));
    json_object_object_add(req, "method", json_object_new_string(method));
    json_object_object_add(req, "params", params);
    size_t len = 0;
    const char *body = json_object_to_json_string_length(req, JSON_C_TO_STRING_PLAIN, &len);
    json_object *reply = NULL;
    int rc = rpc__client_post(c, body, len, &reply, errtext);
    json_object_put(req);
    if (rc < 0)
        return rc;
    rc = rpc__response_result(reply, result, errtext);
    json_object_put(reply);
    return rc;
}
