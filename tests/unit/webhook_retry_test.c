/* webhook_retry_test.c - delivery when the server is not well: retries on
 * 5xx and on 429 with Retry-After, no retry on 400, giving up after the
 * configured attempts, timeouts, an outage with messages queued (each one
 * arrives once, in order, when the server starts), the outbox bound,
 * connection reuse, the rate limit's summary, and what stopping does with
 * what is still queued. A real HTTP server on loopback throughout. */
#include "webhook_harness.h"

/* A retry test instance on @port: json format, fast backoff. */
static bmq_instance *make(fixture *fx, const char *id, int port, const char *extra)
{
    return FX_NEW(fx, id,
                  "{\"url\": \"http://127.0.0.1:%d/in\", \"filter\": \"r:*\", \"retry_min\": 0.05,"
                  " \"retry_max\": 0.2%s%s}",
                  port, extra ? ", " : "", extra ? extra : "");
}

/* args[0] of the json body of request @i. */
static char *arg0(hs_server *s, guint i)
{
    const hs_request *r = hs_get(s, i);
    CHECK(r != NULL);
    json_object *o = json_tokener_parse(r->body), *args;
    CHECK(o != NULL && json_object_object_get_ex(o, "args", &args));
    char *v = g_strdup(json_object_get_string(json_object_array_get_idx(args, 0)));
    json_object_put(o);
    return v;
}

static void send_n(fixture *fx, int from, int to)
{
    for (int i = from; i < to; i++) {
        char *args = g_strdup_printf("[\"m%d\"]", i);
        fx_send(fx, "r:x", args, NULL);
        g_free(args);
    }
}

static void test_retry_5xx(void)
{
    fixture fx;
    fx_init(&fx);
    hs_server *s = hs_start(0, NULL, NULL);
    hs_answer script[] = {{500, NULL, "boom\nsecond line"}, {502, NULL, ""}, {200, NULL, "ok"}};
    hs_script(s, script, 3);
    bmq_instance *in = make(&fx, "r5", hs_port(s), NULL);
    send_n(&fx, 0, 1);
    CHECK(hs_wait_count(s, 3, WAIT_S));
    CHECK(fx_wait_stat(in, "sent", 1, WAIT_S));
    for (guint i = 0; i < 3; i++)
        CHECK_STR(hs_get(s, i)->body, hs_get(s, 0)->body);
    CHECK_EQ(fx_stat(in, "retries"), 2);
    CHECK_EQ(fx_stat(in, "failed"), 0);
    CHECK_EQ(fx_stat(in, "last_status"), 200);
    CHECK_EQ(fx_stat(in, "retrying"), 0);
    char *err = fx_stat_str(in, "last_error");
    CHECK_STR(err, "null");
    g_free(err);
    CHECK(fx_wait_logged(&fx, "r:x: HTTP 500 Internal Server Error: boom; retrying in", 10));
    CHECK(!fx_logged(&fx, "second line"));
    CHECK(fx_wait_logged(&fx, "answers again", 10));
    CHECK_EQ(hs_count(s), 3);
    fx_free(&fx);
    hs_stop(s);
}

static void test_retry_after_429(void)
{
    fixture fx;
    fx_init(&fx);
    hs_server *s = hs_start(0, NULL, NULL);
    hs_answer script[] = {{429, "2", "slow down"}};
    hs_script(s, script, 1);
    bmq_instance *in = make(&fx, "r429", hs_port(s), NULL);
    send_n(&fx, 0, 1);
    CHECK(hs_wait_count(s, 1, WAIT_S));
    CHECK(fx_wait_stat(in, "retrying", 1, WAIT_S) || hs_count(s) > 1);
    /* Read while the retry is still ahead (the server saw one request). */
    char *err = fx_stat_str(in, "last_error");
    int64_t status = fx_stat(in, "last_status");
    if (hs_count(s) == 1) {
        CHECK_STR(err, "HTTP 429 Too Many Requests: slow down");
        CHECK_EQ(status, 429);
    }
    g_free(err);
    CHECK(hs_wait_count(s, 2, WAIT_S));
    CHECK(fx_wait_stat(in, "sent", 1, WAIT_S));
    /* Retry-After: 2 overrides the 0.05 s backoff: never sooner. */
    CHECK(hs_get(s, 1)->at_us - hs_get(s, 0)->at_us >= 2 * G_USEC_PER_SEC);
    CHECK(fx_wait_logged(&fx, "HTTP 429 Too Many Requests: slow down; retrying in 2.0 s", 10));
    CHECK_STR(hs_get(s, 1)->body, hs_get(s, 0)->body);
    fx_free(&fx);
    hs_stop(s);
}

static void test_no_retry_400(void)
{
    fixture fx;
    fx_init(&fx);
    hs_server *s = hs_start(0, NULL, NULL);
    hs_answer script[] = {{400, NULL, "topic invalid\nsecond line"}};
    hs_script(s, script, 1);
    bmq_instance *in = make(&fx, "r400", hs_port(s), NULL);
    send_n(&fx, 0, 1);
    CHECK(fx_wait_stat(in, "failed", 1, WAIT_S));
    char *err = fx_stat_str(in, "last_error");
    CHECK_STR(err, "HTTP 400 Bad Request: topic invalid");
    g_free(err);
    CHECK_EQ(fx_stat(in, "last_status"), 400);
    CHECK_EQ(fx_stat(in, "queued"), 0);
    CHECK(
        fx_wait_logged(&fx, "refused r:x: HTTP 400 Bad Request: topic invalid (not retried)", 10));
    CHECK(!fx_logged(&fx, "second line"));
    /* The next message goes out, and success clears last_error. */
    send_n(&fx, 1, 2);
    CHECK(fx_wait_stat(in, "sent", 1, WAIT_S));
    CHECK_EQ(hs_count(s), 2);
    char *a = arg0(s, 0), *b = arg0(s, 1);
    CHECK_STR(a, "m0");
    CHECK_STR(b, "m1");
    g_free(a);
    g_free(b);
    err = fx_stat_str(in, "last_error");
    CHECK_STR(err, "null");
    g_free(err);
    CHECK_EQ(fx_stat(in, "last_status"), 200);
    CHECK_EQ(fx_stat(in, "retries"), 0);
    fx_free(&fx);
    hs_stop(s);
}

static void test_give_up(void)
{
    fixture fx;
    fx_init(&fx);
    hs_server *s = hs_start(0, NULL, NULL);
    hs_answer script[] = {{503, NULL, "down"}, {503, NULL, "still down"}};
    hs_script(s, script, 2);
    bmq_instance *in = make(&fx, "rgive", hs_port(s), "\"retries\": 2");
    send_n(&fx, 0, 2);
    CHECK(hs_wait_count(s, 3, WAIT_S));
    CHECK(fx_wait_stat(in, "sent", 1, WAIT_S));
    CHECK_EQ(fx_stat(in, "failed"), 1);
    const char *want[] = {"m0", "m0", "m1"};
    for (guint i = 0; i < 3; i++) {
        char *v = arg0(s, i);
        CHECK_STR(v, want[i]);
        g_free(v);
    }
    CHECK(fx_wait_logged(
        &fx, "gave up on r:x: HTTP 503 Service Unavailable: still down (2 attempts)", 10));
    fx_free(&fx);
    hs_stop(s);
}

static void test_timeout(void)
{
    fixture fx;
    fx_init(&fx);
    hs_server *s = hs_start(0, NULL, NULL);
    hs_hold(s, true);
    bmq_instance *in = make(&fx, "rto", hs_port(s), "\"timeout\": 0.3");
    send_n(&fx, 0, 1);
    CHECK(fx_wait_logged(&fx, "timed out after", WAIT_S));
    CHECK_EQ(fx_stat(in, "sent"), 0);
    hs_hold(s, false);
    CHECK(fx_wait_stat(in, "sent", 1, WAIT_S));
    char *v = arg0(s, hs_count(s) - 1);
    CHECK_STR(v, "m0");
    g_free(v);
    fx_free(&fx);
    hs_stop(s);
}

/* Five messages while nothing listens; then the server starts. */
static void test_outage(void)
{
    fixture fx;
    fx_init(&fx);
    int port = fx_free_port();
    bmq_instance *in = FX_NEW(&fx, "rout",
                              "{\"url\": \"http://127.0.0.1:%d/in\", \"filter\": \"r:*\", "
                              "\"retry_min\": 0.05, \"retry_max\": 0.5}",
                              port);
    send_n(&fx, 0, 5);
    CHECK(fx_wait_stat(in, "retrying", 1, WAIT_S));
    CHECK_EQ(fx_stat(in, "queued"), 5);
    CHECK_EQ(fx_stat(in, "sent"), 0);
    char *err = fx_stat_str(in, "last_error");
    CHECK_CONTAINS(err, "Couldn't connect to server");
    g_free(err);
    CHECK(fx_wait_logged(&fx, "Couldn't connect to server", 10));

    hs_server *s = hs_start(port, NULL, NULL);
    CHECK(s != NULL);
    CHECK(hs_wait_count(s, 5, WAIT_S));
    CHECK(fx_wait_stat(in, "sent", 5, WAIT_S));
    CHECK_EQ(fx_stat(in, "queued"), 0);
    CHECK_EQ(fx_stat(in, "failed"), 0);
    CHECK_EQ(fx_stat(in, "dropped"), 0);
    CHECK_EQ(hs_count(s), 5);
    for (guint i = 0; i < 5; i++) {
        char *v = arg0(s, i), *want = g_strdup_printf("m%u", i);
        CHECK_STR(v, want);
        g_free(v);
        g_free(want);
    }
    CHECK(fx_wait_logged(&fx, "answers again", 10));
    fx_free(&fx);
    hs_stop(s);
}

/* A full outbox drops the oldest messages, and says so once. */
static void test_outbox_bound(void)
{
    fixture fx;
    fx_init(&fx);
    int port = fx_free_port();
    bmq_instance *in = FX_NEW(&fx, "rbound",
                              "{\"url\": \"http://127.0.0.1:%d/in\", \"filter\": \"r:*\", "
                              "\"retry_min\": 2, \"retry_max\": 2, \"queue\": 3}",
                              port);
    send_n(&fx, 0, 1);
    /* m0 waits for its retry (at least 1 s away): the next four queue
     * behind it and push the two oldest out. */
    CHECK(fx_wait_stat(in, "retrying", 1, WAIT_S));
    send_n(&fx, 1, 5);
    CHECK_EQ(fx_stat(in, "dropped"), 2);
    CHECK_EQ(fx_stat(in, "queued"), 3);
    CHECK(fx_wait_logged(&fx, "outbox full (3 messages for http://127.0.0.1", 10));
    hs_server *s = hs_start(port, NULL, NULL);
    CHECK(s != NULL);
    CHECK(fx_wait_stat(in, "sent", 3, WAIT_S));
    CHECK_EQ(hs_count(s), 3);
    /* m2 m3 m4; or, had the test been held up past the retry so that m0
     * was being sent while the others came, m0 m3 m4 (the message in
     * flight is never the one dropped). */
    char *first = arg0(s, 0), *second = arg0(s, 1), *third = arg0(s, 2);
    if (strcmp(first, "m2") != 0)
        CHECK_STR(first, "m0");
    CHECK_STR(second, "m3");
    CHECK_STR(third, "m4");
    g_free(first);
    g_free(second);
    g_free(third);
    fx_free(&fx);
    hs_stop(s);
}

static void test_keepalive(void)
{
    fixture fx;
    fx_init(&fx);
    hs_server *s = hs_start(0, NULL, NULL);
    bmq_instance *in = make(&fx, "rkeep", hs_port(s), NULL);
    send_n(&fx, 0, 20);
    CHECK(hs_wait_count(s, 20, WAIT_S));
    CHECK(fx_wait_stat(in, "sent", 20, WAIT_S));
    CHECK_EQ(hs_connections(s), 1);
    for (guint i = 0; i < 20; i++) {
        char *v = arg0(s, i), *want = g_strdup_printf("m%u", i);
        CHECK_STR(v, want);
        CHECK_EQ(hs_get(s, i)->conn, 1);
        g_free(v);
        g_free(want);
    }
    fx_free(&fx);
    hs_stop(s);
}

/* "rate": 20/min: a burst of 30 gives 20 (or a few more, had tokens come
 * back meanwhile) requests, then one summary for the rest. */
static void test_rate_summary(void)
{
    fixture fx;
    fx_init(&fx);
    hs_server *s = hs_start(0, NULL, NULL);
    bmq_instance *in = make(&fx, "rl", hs_port(s), "\"rate\": \"20/min\"");
    send_n(&fx, 0, 30);
    guint k = 0;
    json_object *summary = NULL;
    gint64 end = g_get_monotonic_time() + (gint64)WAIT_S * G_USEC_PER_SEC;
    for (guint i = 0; !summary && g_get_monotonic_time() < end;) {
        if (!hs_wait_count(s, i + 1, 0.1))
            continue;
        json_object *o = json_tokener_parse(hs_get(s, i)->body), *id;
        CHECK(o && json_object_object_get_ex(o, "id", &id));
        if (strcmp(json_object_get_string(id), "rl:summary") == 0) {
            summary = o;
        } else {
            CHECK_STR(json_object_get_string(id), "r:x");
            char *v = arg0(s, i), *want = g_strdup_printf("m%u", i);
            CHECK_STR(v, want);
            g_free(v);
            g_free(want);
            json_object_put(o);
            k++;
        }
        i++;
    }
    CHECK(summary != NULL);
    CHECK(k >= 20 && k < 30);
    json_object *kw, *count, *title;
    CHECK(json_object_object_get_ex(summary, "kwargs", &kw));
    CHECK(json_object_object_get_ex(kw, "count", &count));
    CHECK(json_object_object_get_ex(kw, "title", &title));
    CHECK_EQ(json_object_get_int64(count), 30 - k);
    char *want = g_strdup_printf("%u more from r:*", 30 - k);
    CHECK_STR(json_object_get_string(title), want);
    g_free(want);
    json_object_put(summary);
    CHECK(fx_wait_stat(in, "sent", k + 1, WAIT_S));
    CHECK_EQ(fx_stat(in, "coalesced"), 30 - k);
    CHECK_EQ(fx_stat(in, "summaries"), 1);
    CHECK_EQ(fx_stat(in, "held_back"), 0);
    fx_free(&fx);
    hs_stop(s);
}

/* Stopping while the server answers waits for what is queued ("drain");
 * stopping while it is down does not wait and says what is lost. */
static void test_stop(void)
{
    fixture fx;
    fx_init(&fx);
    hs_server *s = hs_start(0, NULL, NULL);
    bmq_instance *in = make(&fx, "rstop", hs_port(s), "\"drain\": 30");
    send_n(&fx, 0, 50);
    bmq_instance_destroy(in);
    CHECK_EQ(hs_count(s), 50);
    CHECK(!fx_logged(&fx, "not delivered"));

    int port = fx_free_port();
    in = FX_NEW(&fx, "rdown",
                "{\"url\": \"http://127.0.0.1:%d/in\", \"filter\": \"r:*\", \"drain\": 30}", port);
    send_n(&fx, 0, 3);
    CHECK(fx_wait_stat(in, "retrying", 1, WAIT_S));
    bmq_instance_destroy(in);
    CHECK(fx_wait_logged(&fx, "stopping with 3 messages not delivered to http://127.0.0.1", 10));
    fx_free(&fx);
    hs_stop(s);
}

int main(void)
{
    RUN(test_retry_5xx);
    RUN(test_retry_after_429);
    RUN(test_no_retry_400);
    RUN(test_give_up);
    RUN(test_timeout);
    RUN(test_outage);
    RUN(test_outbox_bound);
    RUN(test_keepalive);
    RUN(test_rate_summary);
    RUN(test_stop);
    return 0;
}
