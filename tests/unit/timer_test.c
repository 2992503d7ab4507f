/* timer_test.c - the timer plugin loaded by the real plugin host, driven
 * by a real GMainLoop: the schedule (seq, never early, no drift in seq),
 * count, missed ticks, destroy, reconfigure, status and config errors.
 * Nothing here bounds how late a tick may be, nor how many ticks come in
 * a stretch of time: a loaded machine may delay any of them. The checks
 * are on the schedule's accounting (seq, missed, count), which holds at
 * any load. tests/bench/bench_timer prints the lateness instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <berrymq/host.h>

#include "check.h"

typedef struct tick {
    char *id;
    int64_t seq;
    int64_t missed;
    double time;    /* kwarg "time" */
    gint64 seen_us; /* monotonic, at delivery */
} tick;

typedef struct fixture {
    bmq_bus *bus;
    bmq_plugin_host *host;
    bmq_follower *f;
    GPtrArray *ticks;
    GPtrArray *logs;
    char *data_root;
} fixture;

static void tick_free(gpointer p)
{
    tick *t = p;
    g_free(t->id);
    g_free(t);
}

static void on_msg(const bmq_message *m, void *ud)
{
    fixture *fx = ud;
    tick *t = g_new0(tick, 1);
    t->id = g_strdup(bmq_message_id(m));
    json_object *kw = bmq_message_kwargs(m), *v;
    if (json_object_object_get_ex(kw, "seq", &v))
        t->seq = json_object_get_int64(v);
    if (json_object_object_get_ex(kw, "missed", &v))
        t->missed = json_object_get_int64(v);
    if (json_object_object_get_ex(kw, "time", &v))
        t->time = json_object_get_double(v);
    t->seen_us = g_get_monotonic_time();
    g_ptr_array_add(fx->ticks, t);
}

static void on_log(int level, const char *id, const char *line, void *ud)
{
    fixture *fx = ud;
    g_ptr_array_add(fx->logs, g_strdup_printf("%d %s %s", level, id ? id : "-", line));
    if (g_getenv("BMQ_TEST_VERBOSE"))
        fprintf(stderr, "log %d [%s] %s\n", level, id ? id : "-", line);
}

static void fx_init(fixture *fx, const char *pattern)
{
    fx->bus = bmq_bus_new();
    fx->data_root = g_dir_make_tmp("bmq-timer-XXXXXX", NULL);
    CHECK(fx->data_root != NULL);
    fx->host = bmq_plugin_host_new(fx->bus, NULL, fx->data_root);
    bmq_plugin_host_set_log(fx->host, on_log, fx);
    const char *dir = g_getenv("BMQ_PLUGIN_BUILD_DIR");
    CHECK(dir != NULL);
    bmq_plugin_host_add_dir(fx->host, dir);
    fx->ticks = g_ptr_array_new_with_free_func(tick_free);
    fx->logs = g_ptr_array_new_with_free_func(g_free);
    fx->f = bmq_follow(fx->bus, pattern, on_msg, NULL, fx);
    CHECK(fx->f != NULL);
}

static void rm_rf(const char *path)
{
    char *argv[] = {"rm", "-rf", (char *)path, NULL};
    CHECK(g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL));
}

static void fx_clear(fixture *fx)
{
    bmq_plugin_host_free(fx->host);
    bmq_unfollow(fx->f);
    bmq_bus_free(fx->bus);
    g_ptr_array_free(fx->ticks, TRUE);
    g_ptr_array_free(fx->logs, TRUE);
    rm_rf(fx->data_root);
    g_free(fx->data_root);
}

/* Schedule slots covered so far: a coalesced tick stands for 1 + missed. */
static int64_t slots(fixture *fx)
{
    int64_t n = 0;
    for (guint i = 0; i < fx->ticks->len; i++)
        n += 1 + ((tick *)fx->ticks->pdata[i])->missed;
    return n;
}

static gboolean wake(gpointer p)
{
    *(bool *)p = true;
    return G_SOURCE_REMOVE;
}

/* Block in the main loop until @n schedule slots were reported or
 * @timeout_ms passed. */
static void run_until(fixture *fx, int64_t n, int timeout_ms)
{
    bool expired = false;
    guint id = g_timeout_add((guint)timeout_ms, wake, &expired);
    while (!expired && slots(fx) < n)
        g_main_context_iteration(NULL, TRUE);
    if (!expired)
        g_source_remove(id);
}

/* Run the loop for @ms regardless of messages. */
static void run_for(int ms)
{
    bool expired = false;
    g_timeout_add((guint)ms, wake, &expired);
    while (!expired)
        g_main_context_iteration(NULL, TRUE);
}

static bmq_instance *create(fixture *fx, const char *id, const char *json, char **error)
{
    json_object *cfg = json_tokener_parse(json);
    CHECK(cfg != NULL);
    bmq_instance *inst = bmq_instance_create(fx->host, "timer", id, cfg, NULL, error);
    json_object_put(cfg);
    return inst;
}

/* 20 ticks at 50 ms: seq names each absolute deadline (a late tick does not
 * shift the ones after it), no tick comes before its deadline, seq 1..20,
 * and nothing after count. */
static void test_accuracy_and_count(void)
{
    fixture fx = {0};
    fx_init(&fx, "t1:*");
    char *err = NULL;
    gint64 t0 = g_get_monotonic_time();
    double real0 = g_get_real_time() / 1e6;
    bmq_instance *inst = create(&fx, "t1", "{\"interval\": 0.05, \"count\": 20}", &err);
    CHECK(err == NULL);
    CHECK(inst != NULL);
    run_until(&fx, 20, 30000);
    CHECK(slots(&fx) == 20);
    for (guint i = 0; i < fx.ticks->len; i++) {
        tick *t = fx.ticks->pdata[i];
        CHECK_STR(t->id, "t1:tick");
        /* seq names the slot; it only grows (by more after a coalesced tick). */
        int64_t prev = i ? ((tick *)fx.ticks->pdata[i - 1])->seq : 0;
        CHECK(t->seq == (prev + 1 + t->missed));
        /* Never early: t0 precedes the timer's start, so the real deadline
         * is at or after this one (2 ms of slack for clock granularity). */
        double due = (t0 / 1e6) + t->seq * 0.05;
        CHECK((t->seen_us / 1e6 - due) > -0.001);
        /* "time" is the wall clock at the tick: after the start, not after
         * its delivery. */
        CHECK(t->time >= (real0 - 0.001));
        CHECK(t->time <= (g_get_real_time() / 1e6 + 0.001));
    }
    CHECK((((tick *)fx.ticks->pdata[fx.ticks->len - 1])->seq) == 20);
    run_for(200);
    CHECK(slots(&fx) == 20);
    json_object *st = bmq_instance_status(inst), *s, *v;
    CHECK(json_object_object_get_ex(st, "status", &s));
    CHECK(json_object_object_get_ex(s, "seq", &v));
    CHECK(json_object_get_int64(v) == 20);
    CHECK(json_object_object_get_ex(s, "running", &v));
    CHECK(!json_object_get_boolean(v));
    json_object_put(st);
    fx_clear(&fx);
}

/* A blocked loop does not shift the schedule: the late dispatch reports
 * the missed deadlines and seq jumps to the deadline index. */
static void test_missed_ticks(void)
{
    fixture fx = {0};
    fx_init(&fx, "t2:*");
    char *err = NULL;
    gint64 t0 = g_get_monotonic_time();
    bmq_instance *inst = create(&fx, "t2", "{\"interval\": 0.03, \"action\": \"beat\"}", &err);
    CHECK(inst != NULL);
    run_until(&fx, 1, 30000);
    /* Every tick sent so far has reached the follower: the last one is the
     * last slot before the block. */
    bmq_bus_flush(fx.bus);
    guint k = fx.ticks->len;
    CHECK(k >= 1);
    int64_t seq1 = ((tick *)fx.ticks->pdata[k - 1])->seq;
    /* Blocks the loop across at least 3 deadlines after seq1's, which had
     * passed when its tick was sent. */
    g_usleep(100 * 1000);
    run_until(&fx, slots(&fx) + 1, 30000);
    CHECK(fx.ticks->len > k);
    tick *t = fx.ticks->pdata[k];
    CHECK_STR(t->id, "t2:beat");
    CHECK(t->seq >= (seq1 + 3));
    CHECK(t->missed == (t->seq - seq1 - 1));
    /* The next one is back on the grid: due at t0 + seq * interval. */
    run_until(&fx, slots(&fx) + 1, 30000);
    CHECK(fx.ticks->len > k + 1);
    t = fx.ticks->pdata[k + 1];
    CHECK(t->seq == ((tick *)fx.ticks->pdata[k])->seq + 1 + t->missed);
    double due = t0 / 1e6 + t->seq * 0.03;
    CHECK((t->seen_us / 1e6 - due) > -0.001);
    bmq_instance_destroy(inst);
    fx_clear(&fx);
}

static void test_destroy_stops(void)
{
    fixture fx = {0};
    fx_init(&fx, "t3:*");
    bmq_instance *inst = create(&fx, "t3", "{\"interval\": 0.02}", NULL);
    CHECK(inst != NULL);
    run_until(&fx, 3, 30000);
    CHECK(slots(&fx) >= 3);
    bmq_instance_destroy(inst);
    bmq_bus_flush(fx.bus); /* ticks sent before the destroy */
    guint n = fx.ticks->len;
    run_for(150);
    CHECK(fx.ticks->len == n);
    fx_clear(&fx);
}

/* Until the instance's status says running is @want (30 s at most). */
static bool wait_running(bmq_instance *inst, bool want)
{
    for (int i = 0; i < 3000; i++) {
        json_object *st = bmq_instance_status(inst), *s, *v;
        bool running = json_object_object_get_ex(st, "status", &s) &&
                       json_object_object_get_ex(s, "running", &v) && json_object_get_boolean(v);
        json_object_put(st);
        if (running == want)
            return true;
        run_for(10);
    }
    return false;
}

/* "ID:stop" stops the ticks, "ID:start" restarts the schedule; a wildcard
 * action does not count as either. */
static void test_stop_start(void)
{
    fixture fx = {0};
    fx_init(&fx, "t5:tick");
    bmq_instance *inst = create(&fx, "t5", "{\"interval\": 0.04}", NULL);
    CHECK(inst != NULL);
    run_until(&fx, 2, 30000);
    CHECK((bmq_twitter(fx.bus, "t5:*", NULL, NULL)) == 0);
    run_until(&fx, slots(&fx) + 2, 30000); /* still ticking */
    CHECK(slots(&fx) >= 4);
    CHECK((bmq_twitter(fx.bus, "t5:stop", NULL, NULL)) == 0);
    /* The control message is handled on the main loop; then the ticks sent
     * before it reach the follower, and no more come. */
    CHECK(wait_running(inst, false));
    bmq_bus_flush(fx.bus);
    guint n = fx.ticks->len;
    run_for(200);
    CHECK(fx.ticks->len == n);
    CHECK((bmq_twitter(fx.bus, "t5:start", NULL, NULL)) == 0);
    int64_t before = slots(&fx);
    run_until(&fx, before + 2, 30000);
    bmq_instance_destroy(inst);
    bmq_bus_flush(fx.bus);
    CHECK(fx.ticks->len > n);
    /* A fresh schedule: seq counts the slots since the start, from 1. */
    int64_t since = 0;
    for (guint i = n; i < fx.ticks->len; i++) {
        tick *t = fx.ticks->pdata[i];
        since += 1 + t->missed;
        CHECK_EQ(t->seq, since);
    }
    CHECK(since >= 2);
    fx_clear(&fx);
}

static void test_reconfigure_and_status(void)
{
    fixture fx = {0};
    fx_init(&fx, "t4:*");
    bmq_instance *inst = create(&fx, "t4", "{\"interval\": 10}", NULL);
    CHECK(inst != NULL);
    json_object *st = bmq_instance_status(inst), *s, *v;
    CHECK(json_object_object_get_ex(st, "status", &s));
    CHECK(json_object_object_get_ex(s, "next_in_s", &v));
    CHECK(json_object_get_double(v) >= 0.0);
    CHECK(json_object_get_double(v) <= 10.0);
    CHECK(json_object_object_get_ex(s, "interval", &v));
    CHECK(json_object_get_double(v) == 10.0);
    json_object_put(st);

    json_object *bad = json_tokener_parse("{\"interval\": -1}");
    char *err = NULL;
    CHECK((bmq_instance_reconfigure(inst, bad, &err)) < 0);
    CHECK((strstr(err, "interval")) != NULL);
    g_free(err);
    json_object_put(bad);

    json_object *cfg = json_tokener_parse("{\"interval\": 0.02, \"count\": 3, \"action\": \"go\"}");
    err = NULL;
    CHECK((bmq_instance_reconfigure(inst, cfg, &err)) == 0);
    json_object_put(cfg);
    run_until(&fx, 3, 30000);
    run_for(100);
    CHECK(slots(&fx) == 3); /* count 3, then nothing */
    tick *last = fx.ticks->pdata[fx.ticks->len - 1];
    CHECK_STR(last->id, "t4:go");
    CHECK(last->seq == 3);
    bmq_instance_destroy(inst);
    fx_clear(&fx);
}

static void test_bad_configs(void)
{
    static const struct {
        const char *json;
        const char *key;
    } cases[] = {
        {"{}", "interval"},
        {"{\"interval\": 0}", "interval"},
        {"{\"interval\": -2.5}", "interval"},
        {"{\"interval\": \"5\"}", "interval"},
        {"{\"interval\": null}", "interval"},
        {"{\"interval\": 1, \"count\": 0}", "count"},
        {"{\"interval\": 1, \"count\": -3}", "count"},
        {"{\"interval\": 1, \"count\": 2.5}", "count"},
        {"{\"interval\": 1, \"count\": \"2\"}", "count"},
        {"{\"interval\": 1, \"action\": \"a:b\"}", "action"},
        {"{\"interval\": 1, \"action\": \"\"}", "action"},
        {"{\"interval\": 1, \"action\": 7}", "action"},
        {"{\"interval\": 1, \"action\": \"stop\"}", "reserved"},
        {"[1, 2]", "object"},
    };
    fixture fx = {0};
    fx_init(&fx, "bad:*");
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *err = NULL;
        bmq_instance *inst = create(&fx, "bad", cases[i].json, &err);
        fprintf(stderr, "%s -> %s\n", cases[i].json, err ? err : "(none)");
        CHECK(inst == NULL);
        CHECK(err != NULL);
        CHECK((strstr(err, cases[i].key)) != NULL);
        g_free(err);
    }
    /* An unknown key only warns. */
    char *err = NULL;
    bmq_instance *inst = create(&fx, "warn", "{\"interval\": 1, \"intreval\": 2}", &err);
    CHECK(inst != NULL);
    bool warned = false;
    for (guint i = 0; i < fx.logs->len; i++)
        warned = warned || strstr(fx.logs->pdata[i], "intreval") != NULL;
    CHECK(warned);
    bmq_instance_destroy(inst);
    fx_clear(&fx);
}

int main(int argc, char **argv)
{
    RUN(test_accuracy_and_count);
    RUN(test_missed_ticks);
    RUN(test_destroy_stops);
    RUN(test_stop_start);
    RUN(test_reconfigure_and_status);
    RUN(test_bad_configs);
    return 0;
}
