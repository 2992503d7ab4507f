/* history_basic.c - the hub's message history as a user sees it through
 * hub.history: every non-local message the hub accepted, in order, with
 * seq, time, id, args, kwargs and origin; filters by pattern, seq, time and
 * limit; kept across a restart with seqs going on; "history": false turns
 * it off; bad "history" config is refused with a clear line.
 */
#include <string.h>

#include "hub_harness.h"

static void send(hh_hub *h, const char *params)
{
    char *err = NULL;
    json_object *r = hh_call(h, "hub.twitter", params, &err);
    if (!r)
        fprintf(stderr, "hub.twitter %s: %s\n", params, err);
    EXPECT(r && strcmp(json_object_get_string(r), "ok") == 0);
    json_object_put(r);
    g_free(err);
}

static json_object *history(hh_hub *h, const char *params)
{
    char *err = NULL;
    json_object *r = hh_call(h, "hub.history", params, &err);
    if (!r)
        fprintf(stderr, "hub.history %s: %s\n", params, err);
    EXPECT(json_object_is_type(r, json_type_array));
    g_free(err);
    return r;
}

/* "id1 id2 ..." of a result, for one-line comparisons. */
static char *ids(json_object *arr)
{
    GString *s = g_string_new(NULL);
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
        g_string_append_printf(s, "%s%s", i ? " " : "",
                               hh_str(json_object_array_get_idx(arr, i), "id"));
    return g_string_free(s, FALSE);
}

static void check_ids(hh_hub *h, const char *params, const char *want)
{
    json_object *r = history(h, params);
    char *got = ids(r);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "hub.history %s: got '%s', want '%s'\n", params, got, want);
    EXPECT(strcmp(got, want) == 0);
    g_free(got);
    json_object_put(r);
}

static int64_t seq_of(json_object *arr, size_t i)
{
    json_object *v = NULL;
    json_object_object_get_ex(json_object_array_get_idx(arr, i), "seq", &v);
    return json_object_get_int64(v);
}

static void test_record_and_read(hh_env *env)
{
    hh_write_config(env, "{\"plugins\": []}");
    hh_hub *h = hh_start(env, NULL, true);
    send(h, "[\"build:start\", [\"proj\"], {\"n\": 1}]");
    /* Local identifiers are refused over RPC (and never stored). */
    char *lerr = NULL;
    EXPECT(hh_call(h, "hub.twitter", "[\"_private:x\", [], {}]", &lerr) == NULL);
    g_free(lerr);
    send(h, "[\"build:done\", [\"proj\", 42], {\"ok\": true}]");
    send(h, "[\"mail@work:new\", [], {\"from\": \"a\"}]");
    send(h, "[\"test:run\"]");

    /* The hub's own local messages (_hub:instances at start) are not
     * stored: only the four sent. */
    json_object *all = history(h, "[]");
    EXPECT(json_object_array_length(all) == 4);
    check_ids(h, "[\"_hub:*\"]", "");
    char *got = ids(all);
    EXPECT(strcmp(got, "build:start build:done mail@work:new test:run") == 0);
    g_free(got);
    /* Shape of one record. */
    json_object *rec = json_object_array_get_idx(all, 1);
    EXPECT(strcmp(json_object_to_json_string_ext(json_object_object_get(rec, "args"),
                                                 JSON_C_TO_STRING_PLAIN),
                  "[\"proj\",42]") == 0);
    EXPECT(strcmp(hh_str(rec, "kwargs.ok"), "true") == 0);
    EXPECT_CONTAINS(hh_str(rec, "origin"), "rpc 127.0.0.1");
    const char *time = hh_str(rec, "time");
    EXPECT(time && strlen(time) == 24 && time[10] == 'T' && time[23] == 'Z');
    EXPECT(seq_of(all, 0) < seq_of(all, 1) && seq_of(all, 1) < seq_of(all, 2));

    /* Filters. */
    check_ids(h, "[\"build\"]", "build:start build:done");
    check_ids(h, "[\"*:done\"]", "build:done");
    check_ids(h, "[\"mail@work:*\"]", "mail@work:new");
    check_ids(h, "[null, null, 2]", "mail@work:new test:run");
    char *p = g_strdup_printf("[null, %" G_GINT64_FORMAT "]", seq_of(all, 1));
    check_ids(h, p, "mail@work:new test:run");
    g_free(p);
    p = g_strdup_printf("[null, \"%" G_GINT64_FORMAT "\", 1]", seq_of(all, 0));
    check_ids(h, p, "build:done");
    g_free(p);
    check_ids(h, "[\"build\", \"10m\"]", "build:start build:done");
    check_ids(h, "[null, \"2000-01-01T00:00:00Z\", 1]", "build:start");
    check_ids(h, "[null, \"2999-01-01\"]", "");
    p = g_strdup_printf("[null, 0, 100, {\"until\": %" G_GINT64_FORMAT "}]", seq_of(all, 1));
    check_ids(h, p, "build:start build:done");
    g_free(p);

    /* Bad parameters: a JSON-RPC error, the hub goes on. */
    const char *bad[] = {"[5]",
                         "[\"a b\"]",
                         "[null, \"yesterday\"]",
                         "[null, null, 0]",
                         "[null, null, 100000]",
                         "[null, null, 5, 7]"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        char *err = NULL;
        json_object *r = hh_call(h, "hub.history", bad[i], &err);
        EXPECT(r == NULL && err != NULL);
        json_object_put(r);
        g_free(err);
    }

    /* Status. */
    json_object *st = hh_call(h, "hub.status", "[]", NULL);
    EXPECT(strcmp(hh_str(st, "history.state"), "ok") == 0);
    EXPECT(strcmp(hh_str(st, "history.messages"), "4") == 0);
    EXPECT_CONTAINS(hh_str(st, "history.path"), "/state/berrymq/history.db");
    json_object_put(st);
    int64_t last = seq_of(all, 3);
    json_object_put(all);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);

    /* A restart keeps everything; seqs go on. */
    char *db =
        g_build_filename(env->root, "home", ".local", "state", "berrymq", "history.db", NULL);
    EXPECT(g_file_test(db, G_FILE_TEST_IS_REGULAR));
    g_free(db);
    h = hh_start(env, NULL, true);
    send(h, "[\"after:restart\"]");
    all = history(h, "[]");
    got = ids(all);
    EXPECT(strcmp(got, "build:start build:done mail@work:new test:run after:restart") == 0);
    g_free(got);
    EXPECT(seq_of(all, 4) > last);
    json_object_put(all);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
}

static void test_off(hh_env *env)
{
    hh_write_config(env, "{\"plugins\": [], \"history\": false}");
    hh_hub *h = hh_start(env, NULL, true);
    send(h, "[\"build:start\"]");
    char *err = NULL;
    json_object *r = hh_call(h, "hub.history", "[]", &err);
    EXPECT(r == NULL);
    EXPECT_CONTAINS(err, "history is off");
    g_free(err);
    json_object *st = hh_call(h, "hub.status", "[]", NULL);
    EXPECT(strcmp(hh_str(st, "history.state"), "off") == 0);
    json_object_put(st);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
}

static void test_bad_config(hh_env *env)
{
    const char *cases[][2] = {
        {"{\"history\": 3}", ": history: expected true, false or an object {enabled, "},
        {"{\"history\": {\"max_age\": \"soon\"}}", ": history: max_age: expected"},
        {"{\"history\": {\"max_bytes\": \"lots\"}}", ": history: max_bytes: expected"},
        {"{\"history\": {\"sync\": \"always\"}}", ": history: sync: expected"},
        {"{\"history\": {\"keep\": 1}}", ": history: keep: unknown key"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        hh_write_config(env, cases[i][0]);
        hh_hub *h = hh_start(env, NULL, false);
        EXPECT(hh_wait_exit(h, 10000) == 1);
        hh_finish_log(h);
        char *log = hh_log(h);
        EXPECT_CONTAINS(log, cases[i][1]);
        g_free(log);
        hh_free(h);
    }
}

int main(void)
{
    hh_env *env = hh_env_new();
    test_record_and_read(env);
    test_off(env);
    test_bad_config(env);
    hh_env_free(env);
    return check_result();
}
