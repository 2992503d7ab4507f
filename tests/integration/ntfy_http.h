/* ntfy_http.h - libcurl helpers for the ntfy API tests: one request with
 * headers and a body, and streams read on their own thread. */
#ifndef BMQ_TEST_NTFY_HTTP_H
#define BMQ_TEST_NTFY_HTTP_H

#include <curl/curl.h>
#include <glib.h>
#include <json-c/json.h>
#include <string.h>

typedef struct nt_resp {
    long status;
    char *body;         /* (transfer full) */
    char *content_type; /* (transfer full, nullable) */
} nt_resp;

G_GNUC_UNUSED static size_t nt_collect(char *p, size_t size, size_t n, void *user)
{
    g_string_append_len(user, p, (gssize)(size * n));
    return size * n;
}

/* @method NULL = GET (POST when @body is given); @headers NULL-terminated. */
G_GNUC_UNUSED static nt_resp nt_request(const char *method, const char *url,
                                        const char *const *headers, const char *body, size_t len)
{
    nt_resp r = {0};
    CURL *c = curl_easy_init();
    GString *out = g_string_new(NULL);
    struct curl_slist *hl = NULL;
    for (const char *const *h = headers; h && *h; h++)
        hl = curl_slist_append(hl, *h);
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, nt_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (method)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
        char *ct = NULL;
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        r.content_type = ct ? g_strdup(ct) : NULL;
    }
    r.body = g_string_free(out, FALSE);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return r;
}

G_GNUC_UNUSED static void nt_resp_clear(nt_resp *r)
{
    g_free(r->body);
    g_free(r->content_type);
    memset(r, 0, sizeof *r);
}

/* The value at @key of the JSON object @text as a string ("" if absent). */
G_GNUC_UNUSED static char *nt_field(const char *text, const char *key)
{
    json_object *o = json_tokener_parse(text), *v;
    char *s =
        g_strdup(o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : "");
    json_object_put(o);
    return s;
}

/* A stream read on its own thread until nt_stream_stop. */
typedef struct nt_stream {
    char *url;
    GThread *thread;
    GMutex lock;
    GString *data;
    long status;
    int result; /* CURLcode once the transfer ended */
    bool ended;
    volatile gint stop;
    /* nt_stream_wait's count of its last needle up to scan_pos, so a long
     * stream is not scanned from its start at every poll */
    char *scan_needle;
    size_t scan_pos;
    int scan_count;
} nt_stream;

G_GNUC_UNUSED static int nt_progress(void *user, curl_off_t a, curl_off_t b, curl_off_t c,
                                     curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    nt_stream *s = user;
    return g_atomic_int_get(&s->stop) ? 1 : 0;
}

G_GNUC_UNUSED static size_t nt_stream_write(char *p, size_t size, size_t n, void *user)
{
    nt_stream *s = user;
    g_mutex_lock(&s->lock);
    g_string_append_len(s->data, p, (gssize)(size * n));
    g_mutex_unlock(&s->lock);
    return size * n;
}

G_GNUC_UNUSED static gpointer nt_stream_run(gpointer data)
{
    nt_stream *s = data;
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, s->url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, nt_stream_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, nt_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    int rc = curl_easy_perform(c);
    long st = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(c);
    g_mutex_lock(&s->lock);
    s->result = rc;
    s->status = st;
    s->ended = true;
    g_mutex_unlock(&s->lock);
    return NULL;
}

G_GNUC_UNUSED static nt_stream *nt_stream_start(const char *url)
{
    nt_stream *s = g_new0(nt_stream, 1);
    s->url = g_strdup(url);
    g_mutex_init(&s->lock);
    s->data = g_string_new(NULL);
    s->thread = g_thread_new("nt-stream", nt_stream_run, s);
    return s;
}

/* Wait until the stream's text holds @needle @count times (or it ended);
 * returns whether it does. */
G_GNUC_UNUSED static bool nt_stream_wait(nt_stream *s, const char *needle, int count, int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    size_t nlen = strlen(needle);
    for (;;) {
        g_mutex_lock(&s->lock);
        if (!s->scan_needle || strcmp(s->scan_needle, needle) != 0 || s->scan_pos > s->data->len) {
            g_free(s->scan_needle);
            s->scan_needle = g_strdup(needle);
            s->scan_pos = 0;
            s->scan_count = 0;
        }
        /* only what arrived since the last poll (a match may straddle) */
        const char *p = s->data->str + s->scan_pos, *stop = s->data->str + s->data->len;
        const char *hit;
        while (nlen && (size_t)(stop - p) >= nlen &&
               (hit = memmem(p, (size_t)(stop - p), needle, nlen))) {
            s->scan_count++;
            p = hit + nlen;
        }
        size_t tail = nlen ? nlen - 1 : 0;
        size_t upto = (size_t)(stop - s->data->str);
        s->scan_pos = MAX((size_t)(p - s->data->str), upto > tail ? upto - tail : 0);
        int found = s->scan_count;
        bool ended = s->ended;
        g_mutex_unlock(&s->lock);
        if (found >= count)
            return true;
        if (ended || g_get_monotonic_time() > end)
            return false;
        g_usleep(10 * 1000);
    }
}

G_GNUC_UNUSED static char *nt_stream_text(nt_stream *s)
{
    g_mutex_lock(&s->lock);
    char *t = g_strdup(s->data->str);
    g_mutex_unlock(&s->lock);
    return t;
}

G_GNUC_UNUSED static bool nt_stream_wait_end(nt_stream *s, int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    for (;;) {
        g_mutex_lock(&s->lock);
        bool ended = s->ended;
        g_mutex_unlock(&s->lock);
        if (ended)
            return true;
        if (g_get_monotonic_time() > end)
            return false;
        g_usleep(10 * 1000);
    }
}

G_GNUC_UNUSED static void nt_stream_free(nt_stream *s)
{
    g_atomic_int_set(&s->stop, 1);
    g_thread_join(s->thread);
    g_string_free(s->data, TRUE);
    g_mutex_clear(&s->lock);
    g_free(s->scan_needle);
    g_free(s->url);
    g_free(s);
}

#endif
