/* wh_sender.c - delivery: one thread and one libcurl multi handle per
 * instance.
 *
 * Followers only append to the outbox (wh_outbox.c) and, when the thread
 * sleeps, wake it with curl_multi_wakeup(): nothing on the bus ever waits
 * for the network. The thread sends the outbox head, one request at a
 * time so that messages arrive in the order they were sent, on one easy
 * handle whose connection the multi handle keeps alive and reuses (HTTP/2
 * over TLS when the server offers it).
 *
 * Answers:
 *   2xx                   delivered: the head is acked
 *   429, 5xx              retried after Retry-After when the server sent
 *                         one, else after an exponential backoff with
 *                         jitter; given up after cfg->retries attempts
 *   other 4xx, 3xx        refused: logged with the answer's first line,
 *                         not retried
 *   no answer (connect, TLS, timeout, reset)
 *                         retried with backoff for as long as it takes:
 *                         an outage must not lose what is queued (only the
 *                         outbox bound drops, oldest first)
 * Secrets: the token and password are set on the request only; logs and
 * status show the redacted URL (cfg->url_shown).
 */
#include <string.h>

#include <curl/curl.h>

#include "webhook.h"

#define RESPONSE_KEEP     1024 /* bytes of an answer kept for the log */
#define LINE_MAX_SHOWN    200
#define RETRY_AFTER_MAX_S 3600

struct wh_sender {
    const bmq_host *host;
    const wh_config *cfg;
    wh_rate *rate;
    CURLM *multi;
    CURL *easy;
    GThread *thread;

    GMutex lock; /* guards everything down to the counters */
    wh_outbox outbox;
    wh_entry *busy; /* the head while it is being sent */
    bool idle;      /* the thread waits with nothing to do: wake it */
    bool stop;
    gint64 drain_until;
    gint64 retry_at; /* monotonic us; 0 = now */
    bool overflow_logged;
    guint64 sent, failed, dropped, retries;
    char *last_error;
    long last_status;
    const char *http_version; /* of the last answer, static */

    /* Sender thread only. */
    struct curl_slist *slist;
    guint backoff_ms;
    bool down; /* connection errors since the last answer */
    GString *answer;
    char *status_line;
    char errbuf[CURL_ERROR_SIZE];
};

static gpointer curl_init_once(gpointer unused)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return NULL;
}

/* ---- answer capture ---------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    wh_sender *s = user;
    size_t len = size * n;
    if (s->answer->len < RESPONSE_KEEP)
        g_string_append_len(s->answer, data, (gssize)MIN(len, RESPONSE_KEEP - s->answer->len));
    return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *user)
{
    wh_sender *s = user;
    size_t len = size * n;
    /* The status line of the last answer (after any 100 Continue). */
    if (len > 5 && strncmp(data, "HTTP/", 5) == 0) {
        g_free(s->status_line);
        s->status_line = g_strstrip(g_strndup(data, MIN(len, (size_t)LINE_MAX_SHOWN)));
    }
    return len;
}

/* One printable line of at most LINE_MAX_SHOWN bytes (transfer full). */
static char *one_line(const char *text, size_t len)
{
    size_t n = 0;
    while (n < len && text[n] != '\n' && text[n] != '\r')
        n++;
    char *l = g_strndup(text, MIN(n, (size_t)LINE_MAX_SHOWN));
    for (char *p = l; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    if (!g_utf8_validate(l, -1, NULL)) {
        char *v = g_utf8_make_valid(l, -1);
        g_free(l);
        l = v;
    }
    return g_strstrip(l);
}

/* "HTTP 503 Service Unavailable: first line of the body" (transfer full). */
static char *describe_answer(wh_sender *s, long http)
{
    const char *reason = "";
    if (s->status_line) {
        /* "HTTP/1.1 503 Service Unavailable" -> "Service Unavailable" */
        const char *p = strchr(s->status_line, ' ');
        p = p ? strchr(p + 1, ' ') : NULL;
        reason = p ? p + 1 : "";
    }
    char *line = one_line(s->answer->str, s->answer->len);
    char *d = g_strdup_printf("HTTP %ld%s%s%s%s", http, *reason ? " " : "", reason,
                              *line ? ": " : "", line);
    g_free(line);
    return d;
}

/* ---- state shared with other threads ------------------------------------ */

static void set_error_locked(wh_sender *s, char *desc)
{
    g_free(s->last_error);
    s->last_error = desc;
}

static void wake(wh_sender *s, bool force)
{
    g_mutex_lock(&s->lock);
    bool w = force || s->idle;
    s->idle = false;
    g_mutex_unlock(&s->lock);
    if (w)
        curl_multi_wakeup(s->multi);
}

bool wh__sender_wants(wh_sender *s, const bmq_message *m)
{
    g_mutex_lock(&s->lock);
    bool w = !s->stop && wh__outbox_wants(&s->outbox, m);
    g_mutex_unlock(&s->lock);
    return w;
}

void wh__sender_set_cursor(wh_sender *s, bmq_cursor *c)
{
    g_mutex_lock(&s->lock);
    s->dropped += wh__outbox_set_cursor(&s->outbox, c);
    g_mutex_unlock(&s->lock);
    wake(s, true);
}

void wh__sender_push(wh_sender *s, const bmq_message *m)
{
    wh_entry *e = wh__entry_new(m, (double)g_get_real_time() / 1e6);
    g_mutex_lock(&s->lock);
    if (s->stop || !wh__outbox_wants(&s->outbox, m)) {
        g_mutex_unlock(&s->lock);
        wh__entry_free(e);
        return;
    }
    wh_entry *old = wh__outbox_push(&s->outbox, e, s->busy);
    bool log_overflow = false;
    if (old) {
        s->dropped++;
        log_overflow = !s->overflow_logged;
        s->overflow_logged = true;
    }
    bool w = s->idle;
    s->idle = false;
    g_mutex_unlock(&s->lock);
    if (old) {
        if (log_overflow)
            s->host->log(s->host, BMQ_LOG_WARNING,
                         "outbox full (%u messages for %s): dropping the oldest", s->cfg->queue_max,
                         s->cfg->url_shown);
        wh__entry_free(old);
    }
    if (w)
        curl_multi_wakeup(s->multi);
}

/* The summary of @n messages the rate limit held back, as a message of
 * its own so that every format renders it like any other. */
static void push_summary_locked(wh_sender *s, guint64 n)
{
    const wh_config *c = s->cfg;
    json_object *kw = json_object_new_object();
    char *title = g_strdup_printf("%" G_GUINT64_FORMAT " more from %s", n, c->filter_text);
    char *body = g_strdup_printf("%" G_GUINT64_FORMAT " message%s matching %s held back by the "
                                 "rate limit (%s).",
                                 n, n == 1 ? "" : "s", c->filter_text, c->rate_text);
    json_object_object_add(kw, "title", json_object_new_string(title));
    json_object_object_add(kw, "body", json_object_new_string(body));
    json_object_object_add(kw, "count", json_object_new_int64((int64_t)n));
    json_object_object_add(kw, "pattern", json_object_new_string(c->filter_text));
    json_object_object_add(kw, "urgency", json_object_new_string("low"));
    g_free(title);
    g_free(body);
    bmq_message *m = bmq_message_new(c->summary_id, NULL, kw, NULL);
    if (!m)
        return;
    wh_entry *old =
        wh__outbox_push(&s->outbox, wh__entry_new(m, (double)g_get_real_time() / 1e6), s->busy);
    bmq_message_unref(m);
    if (old) {
        s->dropped++;
        wh__entry_free(old);
    }
}

/* ---- one request ------------------------------------------------------- */

static bool has_header(const wh_request *r, const char *name)
{
    size_t n = strlen(name);
    for (guint i = 0; i < r->headers->len; i++) {
        const char *h = r->headers->pdata[i];
        if (g_ascii_strncasecmp(h, name, n) == 0 && h[n] == ':')
            return true;
    }
    return false;
}

static void start(wh_sender *s, wh_entry *e)
{
    const wh_config *c = s->cfg;
    if (!e->req)
        e->req = wh__request_new(c, e->msg, e->time);
    const wh_request *r = e->req;
    for (guint i = 0; i < r->headers->len; i++)
        s->slist = curl_slist_append(s->slist, r->headers->pdata[i]);
    if (c->token && !has_header(r, "Authorization")) {
        char *h = g_strconcat("Authorization: Bearer ", c->token, NULL);
        s->slist = curl_slist_append(s->slist, h);
        memset(h, 0, strlen(h));
        g_free(h);
        /* Gotify before 2.0 reads the token from its own header only. */
        if (c->format == WH_FORMAT_GOTIFY && !has_header(r, "X-Gotify-Key")) {
            h = g_strconcat("X-Gotify-Key: ", c->token, NULL);
            s->slist = curl_slist_append(s->slist, h);
            memset(h, 0, strlen(h));
            g_free(h);
        }
    }
    /* No "Expect: 100-continue" round trip for larger bodies. */
    s->slist = curl_slist_append(s->slist, "Expect:");
    g_string_truncate(s->answer, 0);
    g_clear_pointer(&s->status_line, g_free);
    s->errbuf[0] = '\0';
    curl_easy_setopt(s->easy, CURLOPT_URL, r->url);
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->slist);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, r->body);
    curl_multi_add_handle(s->multi, s->easy);
}

static guint next_backoff(wh_sender *s)
{
    const wh_config *c = s->cfg;
    s->backoff_ms = s->backoff_ms ? MIN(s->backoff_ms * 2, c->retry_max_ms) : c->retry_min_ms;
    /* Equal jitter: never sooner than half the step, so that many hubs
     * that lost the same server do not come back at the same moment. */
    guint half = s->backoff_ms / 2;
    return half + (guint)g_random_int_range(0, (gint32)MAX(half, 1u) + 1);
}

static void done_with_head(wh_sender *s)
{
    wh__outbox_ack(&s->outbox);
    s->busy = NULL;
}

static void delivered(wh_sender *s, long http)
{
    g_mutex_lock(&s->lock);
    s->sent++;
    s->last_status = http;
    set_error_locked(s, NULL);
    s->retry_at = 0;
    s->overflow_logged = false;
    done_with_head(s);
    guint left = wh__outbox_length(&s->outbox);
    g_mutex_unlock(&s->lock);
    if (s->down || s->backoff_ms)
        s->host->log(s->host, BMQ_LOG_NOTICE, "%s answers again; %u message%s still queued",
                     s->cfg->url_shown, left, left == 1 ? "" : "s");
    s->down = false;
    s->backoff_ms = 0;
}

/* The head stays queued; once it is no longer busy the outbox bound may
 * drop it, so nothing of @e is used after the lock is released. */
static void retry_later(wh_sender *s, wh_entry *e, char *desc, guint delay_ms, bool first)
{
    g_mutex_lock(&s->lock);
    s->retries++;
    s->retry_at = g_get_monotonic_time() + (gint64)delay_ms * 1000;
    set_error_locked(s, g_strdup(desc));
    guint queued = wh__outbox_length(&s->outbox);
    char when[32];
    if (delay_ms < 1000)
        g_snprintf(when, sizeof when, "%u ms", delay_ms);
    else
        g_snprintf(when, sizeof when, "%.1f s", delay_ms / 1000.0);
    char *line = g_strdup_printf("%s %s: %s; retrying in %s (%u queued)", s->cfg->url_shown,
                                 bmq_message_id(e->msg), desc, when, queued);
    s->busy = NULL;
    g_mutex_unlock(&s->lock);
    s->host->log(s->host, first ? BMQ_LOG_WARNING : BMQ_LOG_INFO, "%s", line);
    g_free(line);
    g_free(desc);
}

/* @e is the busy head: still ours until done_with_head(). */
static void given_up(wh_sender *s, wh_entry *e, long http, char *desc, const char *verb,
                     const char *why)
{
    s->host->log(s->host, BMQ_LOG_WARNING, "%s %s %s: %s (%s)", s->cfg->url_shown, verb,
                 bmq_message_id(e->msg), desc, why);
    g_mutex_lock(&s->lock);
    s->failed++;
    s->last_status = http;
    set_error_locked(s, desc);
    done_with_head(s);
    g_mutex_unlock(&s->lock);
}

static void finish(wh_sender *s, CURLcode code)
{
    const wh_config *c = s->cfg;
    wh_entry *e = s->busy;
    long http = 0;
    curl_off_t retry_after = 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &http);
    curl_easy_getinfo(s->easy, CURLINFO_RETRY_AFTER, &retry_after);
    long version = 0;
    curl_easy_getinfo(s->easy, CURLINFO_HTTP_VERSION, &version);
    if (code == CURLE_OK && version) {
        g_mutex_lock(&s->lock);
        s->http_version = version == CURL_HTTP_VERSION_1_0   ? "1.0"
                          : version == CURL_HTTP_VERSION_1_1 ? "1.1"
                          : version == CURL_HTTP_VERSION_2_0 ? "2"
                                                             : "3";
        g_mutex_unlock(&s->lock);
    }
    curl_multi_remove_handle(s->multi, s->easy);
    curl_slist_free_all(s->slist);
    s->slist = NULL;

    if (code == CURLE_OK && http >= 200 && http < 300) {
        delivered(s, http);
        return;
    }
    if (code != CURLE_OK) {
        /* libcurl's own text is the more precise one when there is any. */
        char *desc = g_strdup(s->errbuf[0] ? s->errbuf : curl_easy_strerror(code));
        bool first = !s->down;
        s->down = true;
        retry_later(s, e, desc, next_backoff(s), first);
        return;
    }
    s->down = false;
    char *desc = describe_answer(s, http);
    if (http == 429 || http >= 500) {
        e->attempts++;
        guint delay = retry_after > 0
                          ? (guint)MIN(retry_after, (curl_off_t)RETRY_AFTER_MAX_S) * 1000
                          : next_backoff(s);
        g_mutex_lock(&s->lock);
        s->last_status = http;
        g_mutex_unlock(&s->lock);
        if (c->retries && e->attempts >= c->retries) {
            char *why = g_strdup_printf("%u attempts", e->attempts);
            /* The next message still waits: the server asked for time. */
            g_mutex_lock(&s->lock);
            s->retry_at = g_get_monotonic_time() + (gint64)delay * 1000;
            g_mutex_unlock(&s->lock);
            given_up(s, e, http, desc, "gave up on", why);
            g_free(why);
            return;
        }
        retry_later(s, e, desc, delay, e->attempts == 1);
        return;
    }
    s->backoff_ms = 0;
    given_up(s, e, http, desc, "refused",
             http >= 300 && http < 400 ? "redirects are not followed: fix the url" : "not retried");
}

/* ---- the thread ---------------------------------------------------------- */

static bool should_quit_locked(wh_sender *s, gint64 now)
{
    if (!s->stop)
        return false;
    if (now >= s->drain_until || s->down)
        return true;
    if (!s->busy && (wh__outbox_length(&s->outbox) == 0 || s->retry_at > now))
        return true;
    return false;
}

/* A backlog message goes out as a follower would have sent it: when a
 * filter pattern takes it (the cursor reads every message when there are
 * several) and the rate limit lets it. */
static bool admit_replayed(void *data, const bmq_message *m)
{
    wh_sender *s = data;
    bool match = false;
    for (char **f = s->cfg->filters; *f && !match; f++)
        match = bmq_id_match(*f, bmq_message_id(m)) && (!bmq_message_is_local(m) || **f == '_');
    return match && wh__rate_admit(s->rate, g_get_monotonic_time());
}

/* Read the next batch of the cursor's backlog into the outbox while it has
 * room. Lock held; released around the read (it waits for the store).
 * true when it read something. */
static bool replay_locked(wh_sender *s)
{
    guint room = s->stop ? 0 : wh__outbox_replay_room(&s->outbox);
    if (!room)
        return false;
    bmq_message **msgs = g_new(bmq_message *, room);
    bmq_cursor *c = s->outbox.cursor;
    g_mutex_unlock(&s->lock);
    int n = s->host->cursor_next(s->host, c, msgs, room);
    if (n < 0)
        s->host->log(s->host, BMQ_LOG_WARNING,
                     "cannot read the messages queued before the restart from the history: %s; "
                     "going on with new ones",
                     bmq_strerror(n));
    g_mutex_lock(&s->lock);
    s->dropped += wh__outbox_replay_add(&s->outbox, msgs, n, room, admit_replayed, s);
    bool done = !s->outbox.replaying;
    g_free(msgs);
    if (done && s->outbox.replayed) {
        guint total = (guint)s->outbox.replayed;
        g_mutex_unlock(&s->lock);
        s->host->log(s->host, BMQ_LOG_NOTICE,
                     "%u message%s queued before the restart taken back from the history", total,
                     total == 1 ? "" : "s");
        g_mutex_lock(&s->lock);
    }
    return n > 0;
}

static gpointer run(gpointer data)
{
    wh_sender *s = data;
    for (;;) {
        gint64 now = g_get_monotonic_time();
        gint64 wait_us = -1;
        wh_entry *go = NULL;
        g_mutex_lock(&s->lock);
        if (should_quit_locked(s, now)) {
            g_mutex_unlock(&s->lock);
            break;
        }
        while (replay_locked(s))
            ;
        if (!s->busy && !s->stop) {
            gint64 sw;
            guint64 n = wh__rate_take_summary(s->rate, now, &sw);
            if (n)
                push_summary_locked(s, n);
            else
                wait_us = sw;
        }
        if (!s->busy) {
            wh_entry *head = wh__outbox_head(&s->outbox);
            if (head && now >= s->retry_at)
                go = s->busy = head;
            else if (head)
                wait_us = wait_us < 0 ? s->retry_at - now : MIN(wait_us, s->retry_at - now);
        }
        if (s->stop)
            wait_us = wait_us < 0 ? s->drain_until - now : MIN(wait_us, s->drain_until - now);
        s->idle = !s->busy;
        g_mutex_unlock(&s->lock);

        if (go)
            start(s, go);
        int running = 0;
        curl_multi_perform(s->multi, &running);
        CURLMsg *msg;
        int left;
        bool finished = false;
        while ((msg = curl_multi_info_read(s->multi, &left))) {
            if (msg->msg == CURLMSG_DONE && s->busy) {
                finish(s, msg->data.result);
                finished = true;
            }
        }
        if (finished)
            continue;
        int timeout_ms = wait_us < 0 ? 60000 : (int)MIN((wait_us + 999) / 1000, 60000);
        curl_multi_poll(s->multi, NULL, 0, timeout_ms, NULL);
    }
    if (s->busy) {
        curl_multi_remove_handle(s->multi, s->easy);
        curl_slist_free_all(s->slist);
        s->slist = NULL;
        s->busy = NULL;
    }
    return NULL;
}

/* Options that are the same for every request of the instance. */
static void setup_easy(wh_sender *s)
{
    const wh_config *c = s->cfg;
    CURL *e = s->easy;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "berryMQ-webhook/" BMQ_VERSION_STRING);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    if (strcmp(c->method, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->method);
    if (c->user) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, c->user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, c->password ? c->password : "");
    }
    if (c->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
    if (c->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
}

wh_sender *wh__sender_new(const bmq_host *host, const wh_config *cfg, wh_rate *rate, char **error)
{
    static GOnce once = G_ONCE_INIT;
    g_once(&once, curl_init_once, NULL);
    wh_sender *s = g_new0(wh_sender, 1);
    s->host = host;
    s->cfg = cfg;
    s->rate = rate;
    s->multi = curl_multi_init();
    s->easy = curl_easy_init();
    if (!s->multi || !s->easy) {
        *error = g_strdup("cannot set up libcurl");
        if (s->easy)
            curl_easy_cleanup(s->easy);
        if (s->multi)
            curl_multi_cleanup(s->multi);
        g_free(s);
        return NULL;
    }
    g_mutex_init(&s->lock);
    wh__outbox_init(&s->outbox, cfg->queue_max);
    /* A host with a history: live messages wait until the cursor (opened
     * once the followers are in place) has given back the backlog. */
    if (BMQ_HOST_HAS(host, cursor_close) && host->history_cursor)
        wh__outbox_hold(&s->outbox, host);
    s->answer = g_string_new(NULL);
    setup_easy(s);
    s->thread = g_thread_new("webhook", run, s);
    return s;
}

void wh__sender_wake(wh_sender *s)
{
    wake(s, false);
}

void wh__sender_free(wh_sender *s)
{
    if (!s)
        return;
    g_mutex_lock(&s->lock);
    s->stop = true;
    s->drain_until = g_get_monotonic_time() + (gint64)s->cfg->drain_ms * 1000;
    g_mutex_unlock(&s->lock);
    wake(s, true);
    g_thread_join(s->thread);
    guint left = wh__outbox_length(&s->outbox);
    if (left)
        s->host->log(s->host, BMQ_LOG_NOTICE, "stopping with %u message%s not delivered to %s%s",
                     left, left == 1 ? "" : "s", s->cfg->url_shown,
                     s->outbox.cursor ? " (kept in the history for the next start)" : "");
    wh__outbox_clear(&s->outbox);
    curl_easy_cleanup(s->easy);
    curl_multi_cleanup(s->multi);
    g_string_free(s->answer, TRUE);
    g_free(s->status_line);
    g_free(s->last_error);
    g_mutex_clear(&s->lock);
    g_free(s);
}

void wh__sender_status(wh_sender *s, json_object *o)
{
    g_mutex_lock(&s->lock);
    gint64 now = g_get_monotonic_time();
    bool retrying = !s->busy && s->retry_at > now && wh__outbox_length(&s->outbox) > 0;
    json_object_object_add(o, "sent", json_object_new_int64((int64_t)s->sent));
    json_object_object_add(o, "failed", json_object_new_int64((int64_t)s->failed));
    json_object_object_add(o, "queued", json_object_new_int64(wh__outbox_length(&s->outbox)));
    json_object_object_add(o, "dropped", json_object_new_int64((int64_t)s->dropped));
    json_object_object_add(o, "retrying", json_object_new_int(retrying ? 1 : 0));
    json_object_object_add(o, "durable", json_object_new_boolean(s->outbox.cursor != NULL));
    json_object_object_add(o, "replayed", json_object_new_int64((int64_t)s->outbox.replayed));
    json_object_object_add(o, "retries", json_object_new_int64((int64_t)s->retries));
    json_object_object_add(o, "last_error",
                           s->last_error ? json_object_new_string(s->last_error) : NULL);
    json_object_object_add(o, "last_status",
                           s->last_status ? json_object_new_int64(s->last_status) : NULL);
    json_object_object_add(o, "http_version",
                           s->http_version ? json_object_new_string(s->http_version) : NULL);
    if (retrying)
        json_object_object_add(o, "next_retry_s",
                               json_object_new_double((double)(s->retry_at - now) / 1e6));
    g_mutex_unlock(&s->lock);
}
