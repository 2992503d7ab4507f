/* ntfy_history.c - since= and poll=1 served from the hub's history: the
 * ids the publish answers give come back in polls and streams, and stay
 * the same after a restart (SIGTERM; kill -9 right after a publish was
 * answered: the answer waits until it is stored); since=ID, latest, a
 * duration; "Cache: no" (header, X- header, query) delivered live but not
 * replayed, and recorded with origin "ntfy (no cache)"; filters on replays;
 * a berryMQ message named TOPIC replayed as one of TOPIC; a stream's replay
 * joined to its live messages without gap or duplicate. With "history":
 * false the in-memory cache serves them, and a restart empties it.
 */
#include <signal.h>
#include <string.h>

#include "check.h"
#include "hub_harness.h"
#include "ntfy_http.h"

static char *base;

static char *url(const char *path)
{
    return g_strconcat(base, path, NULL);
}

static nt_resp get(const char *path)
{
    char *u = url(path);
    nt_resp r = nt_request(NULL, u, NULL, NULL, 0);
    g_free(u);
    return r;
}

/* Publish; the id of the answer (transfer full). */
static char *publish(const char *path, const char *const *headers, const char *body)
{
    char *u = url(path);
    nt_resp r = nt_request(NULL, u, headers, body, strlen(body));
    g_free(u);
    CHECK_EQ(r.status, 200);
    char *id = nt_field(r.body, "id");
    nt_resp_clear(&r);
    return id;
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* The "id"s of the message events of a JSON poll, space-separated. */
static char *ids_of(const char *ndjson)
{
    GString *out = g_string_new(NULL);
    char **lines = g_strsplit(ndjson, "\n", -1);
    for (char **l = lines; *l; l++) {
        if (!**l || !strstr(*l, "\"event\":\"message\""))
            continue;
        char *id = nt_field(*l, "id");
        g_string_append_printf(out, "%s%s", out->len ? " " : "", id);
        g_free(id);
    }
    g_strfreev(lines);
    return g_string_free(out, FALSE);
}

/* The "message"s of a JSON poll, space-separated. */
static char *texts_of(const char *ndjson)
{
    GString *out = g_string_new(NULL);
    char **lines = g_strsplit(ndjson, "\n", -1);
    for (char **l = lines; *l; l++) {
        if (!**l || !strstr(*l, "\"event\":\"message\""))
            continue;
        char *m = nt_field(*l, "message");
        g_string_append_printf(out, "%s%s", out->len ? "|" : "", m);
        g_free(m);
    }
    g_strfreev(lines);
    return g_string_free(out, FALSE);
}

static bool is_seq_id(const char *id)
{
    if (strlen(id) != 12 || id[0] != 's')
        return false;
    for (int i = 1; i < 12; i++)
        if (!g_ascii_isdigit(id[i]))
            return false;
    return true;
}

static hh_hub *start(hh_env *env)
{
    hh_hub *h = hh_start(env, NULL, true);
    CHECK(h->listen);
    g_free(base);
    base = g_strconcat("http://", h->listen, NULL);
    return h;
}

static void expect_poll(const char *path, const char *texts)
{
    nt_resp r = get(path);
    EXPECT_EQ(r.status, 200);
    char *t = texts_of(r.body);
    if (strcmp(t, texts))
        fprintf(stderr, "%s answered: %s\n", path, r.body);
    EXPECT_STR(t, texts);
    g_free(t);
    nt_resp_clear(&r);
}

static void with_history(void)
{
    hh_env *env = hh_env_new();
    hh_write_config(env, "{\"plugins\": []}");
    hh_hub *h = start(env);

    char *lu = url("/hist/json");
    nt_stream *live = nt_stream_start(lu);
    g_free(lu);
    CHECK(nt_stream_wait(live, "\"event\":\"open\"", 1, 10000));

    fprintf(stderr, "-- publish 3, and 3 with Cache: no\n");
    const char *h1[] = {"Title: first", "Tags: x,y", "Priority: 1", NULL};
    const char *h2[] = {"Title: second", "Tags: y", "Priority: 5", NULL};
    char *id1 = publish("/hist", h1, "one");
    char *id2 = publish("/hist", h2, "two");
    char *id3 = publish("/hist", NULL, "three");
    EXPECT(is_seq_id(id1) && is_seq_id(id2) && is_seq_id(id3));
    EXPECT(strcmp(id1, id2) < 0 && strcmp(id2, id3) < 0);
    const char *nc1[] = {"Cache: no", NULL};
    const char *nc2[] = {"X-Cache: no", NULL};
    char *ncid1 = publish("/hist", nc1, "nocache header");
    char *ncid2 = publish("/hist", nc2, "nocache x-header");
    char *ncid3 = publish("/hist?cache=no", NULL, "nocache query");
    char *want_ids = g_strjoin(" ", id1, id2, id3, NULL);

    /* the live subscriber sees all six, under the ids the answers gave */
    CHECK(nt_stream_wait(live, "\"event\":\"message\"", 6, 10000));
    char *text = nt_stream_text(live);
    char *live_ids = ids_of(text);
    char *all_ids = g_strjoin(" ", id1, id2, id3, ncid1, ncid2, ncid3, NULL);
    EXPECT_STR(live_ids, all_ids);
    g_free(all_ids);
    g_free(live_ids);
    g_free(text);
    nt_stream_free(live);

    fprintf(stderr, "-- poll: since=all, none, ID, latest, a duration, a time\n");
    nt_resp all = get("/hist/json?poll=1&since=all");
    EXPECT_EQ(all.status, 200);
    char *got = ids_of(all.body);
    EXPECT_STR(got, want_ids);
    g_free(got);
    got = texts_of(all.body);
    EXPECT_STR(got, "one|two|three");
    g_free(got);
    expect_poll("/hist/json?poll=1", "one|two|three");
    char *p = g_strdup_printf("/hist/json?poll=1&since=%s", id1);
    expect_poll(p, "two|three");
    g_free(p);
    p = g_strdup_printf("/hist/json?poll=1&since=%s", id3);
    expect_poll(p, "");
    g_free(p);
    expect_poll("/hist/json?poll=1&since=latest", "three");
    expect_poll("/hist/json?poll=1&since=1h", "one|two|three");
    p = g_strdup_printf("/hist/json?poll=1&since=%" G_GINT64_FORMAT,
                        g_get_real_time() / G_USEC_PER_SEC + 3600);
    expect_poll(p, "");
    g_free(p);

    fprintf(stderr, "-- filters on the replay\n");
    expect_poll("/hist/json?poll=1&priority=high,max", "two");
    expect_poll("/hist/json?poll=1&tags=x", "one");
    expect_poll("/hist/json?poll=1&tags=y", "one|two");
    expect_poll("/hist/json?poll=1&title=second", "two");
    expect_poll("/hist/json?poll=1&since=latest&tags=y", "two");

    fprintf(stderr, "-- a berryMQ message named TOPIC\n");
    char *err = NULL;
    json_object *res = hh_call(h, "hub.twitter", "[\"other:built\", [\"make\", \"ok\"], {}]", &err);
    EXPECT(res != NULL);
    g_free(err);
    json_object_put(res);
    expect_poll("/other/json?poll=1", "make ok");
    expect_poll("/hist,other/json?poll=1", "one|two|three|make ok");
    nt_resp o = get("/other/json?poll=1");
    char *oid = ids_of(o.body);
    EXPECT(is_seq_id(oid));
    g_free(oid);
    nt_resp_clear(&o);

    fprintf(stderr, "-- origins in the history\n");
    res = hh_call(h, "hub.history", "[\"hist\", null, 100]", &err);
    CHECK(res);
    CHECK_EQ(json_object_array_length(res), 6);
    const char *want_origin[] = {
        "ntfy", "ntfy", "ntfy", "ntfy (no cache)", "ntfy (no cache)", "ntfy (no cache)"};
    for (size_t i = 0; i < 6; i++) {
        json_object *rec = json_object_array_get_idx(res, i), *v;
        EXPECT(json_object_object_get_ex(rec, "origin", &v) && v);
        EXPECT_STR(v ? json_object_get_string(v) : NULL, want_origin[i]);
    }
    json_object_put(res);

    fprintf(stderr, "-- the same answer after a restart (SIGTERM)\n");
    EXPECT_EQ(hh_stop(h), 0);
    hh_free(h);
    h = start(env);
    nt_resp again = get("/hist/json?poll=1&since=all");
    EXPECT_STR(again.body, all.body);
    nt_resp_clear(&again);
    p = g_strdup_printf("/hist/json?poll=1&since=%s", id1);
    expect_poll(p, "two|three");
    g_free(p);
    expect_poll("/hist/json?poll=1&since=latest", "three");

    fprintf(stderr, "-- and after kill -9 right after a publish answer\n");
    char *id4 = publish("/hist", NULL, "four");
    EXPECT(is_seq_id(id4) && strcmp(id3, id4) < 0);
    kill(h->pid, SIGKILL); /* the answer came once "four" was stored */
    hh_wait_exit(h, 10000);
    EXPECT(h->exited);
    hh_free(h);
    h = start(env);
    again = get("/hist/json?poll=1&since=all");
    got = texts_of(again.body);
    EXPECT_STR(got, "one|two|three|four");
    g_free(got);
    got = ids_of(again.body);
    char *want4 = g_strjoin(" ", want_ids, id4, NULL);
    EXPECT_STR(got, want4);
    g_free(want4);
    g_free(got);
    EXPECT(g_str_has_prefix(again.body, all.body)); /* the first three unchanged */
    nt_resp_clear(&again);

    fprintf(stderr, "-- a stream's replay, then live: no gap, no duplicate\n");
    char *u = url("/hist/json?since=all");
    nt_stream *js = nt_stream_start(u);
    g_free(u);
    p = g_strdup_printf("/hist/sse?since=%s", id3);
    u = url(p);
    g_free(p);
    nt_stream *sse = nt_stream_start(u);
    g_free(u);
    CHECK(nt_stream_wait(js, "\"message\":\"four\"", 1, 10000));
    CHECK(nt_stream_wait(sse, "\"message\":\"four\"", 1, 10000));
    char *id5 = publish("/hist", NULL, "five");
    CHECK(nt_stream_wait(js, "\"message\":\"five\"", 1, 10000));
    CHECK(nt_stream_wait(sse, "\"message\":\"five\"", 1, 10000));
    text = nt_stream_text(js);
    got = texts_of(text);
    EXPECT_STR(got, "one|two|three|four|five");
    g_free(got);
    g_free(text);
    text = nt_stream_text(sse);
    EXPECT_EQ(count(text, "event: open"), 1);
    EXPECT_EQ(count(text, "\"message\":\"four\""), 1);
    EXPECT_EQ(count(text, "\"message\":\"three\""), 0);
    char *line = g_strdup_printf("id: %s\n", id5);
    EXPECT_CONTAINS(text, line);
    g_free(line);
    g_free(text);
    nt_stream_free(js);
    nt_stream_free(sse);

    json_object *st = hh_call(h, "hub.status", "[]", NULL);
    EXPECT_STR(hh_str(st, "ntfy.cache"), "history");
    json_object_put(st);
    EXPECT_EQ(hh_stop(h), 0);
    hh_free(h);
    nt_resp_clear(&all);
    g_free(want_ids);
    g_free(id1);
    g_free(id2);
    g_free(id3);
    g_free(id4);
    g_free(id5);
    g_free(ncid1);
    g_free(ncid2);
    g_free(ncid3);
    hh_env_free(env);
}

static void without_history(void)
{
    fprintf(stderr, "-- \"history\": false: the in-memory cache, empty after a restart\n");
    hh_env *env = hh_env_new();
    hh_write_config(env, "{\"plugins\": [], \"history\": false}");
    hh_hub *h = start(env);
    char *id1 = publish("/mem", NULL, "one");
    char *id2 = publish("/mem", NULL, "two");
    const char *nc[] = {"Cache: no", NULL};
    g_free(publish("/mem", nc, "not kept"));
    EXPECT_EQ(strlen(id1), 32); /* the message uid: no seq without a history */
    expect_poll("/mem/json?poll=1", "one|two");
    char *p = g_strdup_printf("/mem/json?poll=1&since=%s", id1);
    expect_poll(p, "two");
    g_free(p);
    expect_poll("/mem/json?poll=1&since=latest", "two");
    json_object *st = hh_call(h, "hub.status", "[]", NULL);
    EXPECT_STR(hh_str(st, "ntfy.cache"), "memory");
    json_object_put(st);
    EXPECT_EQ(hh_stop(h), 0);
    hh_free(h);
    h = start(env);
    expect_poll("/mem/json?poll=1", "");
    EXPECT_EQ(hh_stop(h), 0);
    hh_free(h);
    g_free(id1);
    g_free(id2);
    hh_env_free(env);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    with_history();
    without_history();
    g_free(base);
    curl_global_cleanup();
    return check_result();
}
