/* core_bus.c - following, guards, namespaces, unfollow, multiplicity,
 * auto_twitter, twitter_exception, talk and statistics. */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <berrymq/berrymq.h>

#include "check.h"

typedef struct rec {
    atomic_int n;
    char last[300];
    char log[2048];
} rec;

static void record(const bmq_message *m, void *ud)
{
    rec *r = ud;
    atomic_fetch_add(&r->n, 1);
    snprintf(r->last, sizeof(r->last), "%s", bmq_message_id(m));
    size_t l = strlen(r->log);
    snprintf(r->log + l, sizeof(r->log) - l, "%s%s", l ? " " : "", bmq_message_id(m));
}

static rec *rec_new(void)
{
    return calloc(1, sizeof(rec));
}

/* The original's behaviours. */
static void test_original(void)
{
    bmq_bus *bus = bmq_bus_new();
    rec *entry = rec_new(), *test = rec_new(), *all = rec_new(), *exact = rec_new();
    bmq_follower *f1 = bmq_follow(bus, "x:entry", record, NULL, entry);
    bmq_follower *f2 = bmq_follow(bus, "x:test", record, NULL, test);
    bmq_follower *f3 = bmq_follow(bus, "*", record, NULL, all);
    bmq_follower *f4 = bmq_follow(bus, "y:run", record, NULL, exact);
    CHECK(f1 && f2 && f3 && f4);

    CHECK_EQ(bmq_twitter(bus, "x", NULL, NULL), 0); /* x = x:* reaches any action of x */
    CHECK_EQ(atomic_load(&entry->n), 1);
    CHECK_STR(entry->last, "x:*");
    CHECK_EQ(atomic_load(&test->n), 1);
    CHECK_EQ(atomic_load(&exact->n), 0);

    CHECK_EQ(bmq_twitter(bus, "*:test", NULL, NULL), 0); /* wildcard name in the message */
    CHECK_EQ(atomic_load(&test->n), 2);
    CHECK_STR(test->last, "*:test");
    CHECK_EQ(atomic_load(&entry->n), 1);
    CHECK_EQ(atomic_load(&exact->n), 0);

    CHECK_EQ(bmq_twitter(bus, "*:*", NULL, NULL), 0); /* reaches everyone */
    CHECK_EQ(atomic_load(&entry->n), 2);
    CHECK_EQ(atomic_load(&test->n), 3);
    CHECK_EQ(atomic_load(&exact->n), 1);

    CHECK_EQ(bmq_twitter(bus, "y:run", NULL, NULL), 0);
    CHECK_EQ(bmq_twitter(bus, "y:walk", NULL, NULL), 0);
    CHECK_EQ(atomic_load(&exact->n), 2);
    CHECK_EQ(atomic_load(&all->n), 5);
    bmq_bus_free(bus); /* frees the followers still attached */
    free(entry), free(test), free(all), free(exact);
}

/* A local name (_hub:quit) is reached only by messages that name it: a
 * wildcard name in a message ("*:quit", "*:*") comes from anyone, also
 * over RPC, and must not steer what only the process itself may. */
static void test_local_names(void)
{
    bmq_bus *bus = bmq_bus_new();
    rec *quit = rec_new(), *notify = rec_new(), *all = rec_new(), *quit_any = rec_new();
    bmq_follower *f1 = bmq_follow(bus, "_hub:quit", record, NULL, quit);
    bmq_follower *f2 = bmq_follow(bus, "_notify:*", record, NULL, notify);
    bmq_follower *f3 = bmq_follow(bus, "*:*", record, NULL, all);
    bmq_follower *f4 = bmq_follow(bus, "*:quit", record, NULL, quit_any);
    CHECK(f1 && f2 && f3 && f4);
    CHECK_EQ(bmq_twitter(bus, "*:quit", NULL, NULL), 0);
    CHECK_EQ(bmq_twitter(bus, "*:*", NULL, NULL), 0);
    CHECK_EQ(bmq_twitter(bus, "*:pause", NULL, NULL), 0);
    CHECK_EQ(bmq_twitter(bus, "*", NULL, NULL), 0);
    EXPECT_EQ(atomic_load(&quit->n), 0);
    EXPECT_EQ(atomic_load(&notify->n), 0);
    EXPECT_EQ(atomic_load(&all->n), 4);
    EXPECT_EQ(atomic_load(&quit_any->n), 3);
    CHECK_EQ(bmq_twitter(bus, "_hub:quit", NULL, NULL), 0); /* named: delivered */
    CHECK_EQ(bmq_twitter(bus, "_hub:*", NULL, NULL), 0);
    CHECK_EQ(bmq_twitter(bus, "_notify:pause", NULL, NULL), 0);
    EXPECT_EQ(atomic_load(&quit->n), 2);
    EXPECT_EQ(atomic_load(&notify->n), 1); /* _hub:* names another local name */
    EXPECT_STR(notify->log, "_notify:pause");
    EXPECT_EQ(atomic_load(&all->n), 7); /* a wildcard follower sees local messages */
    bmq_bus_free(bus);
    free(quit), free(notify), free(all), free(quit_any);
}

static bool guard_even(const bmq_message *m, void *ud)
{
    json_object *v = json_object_array_get_idx(bmq_message_args(m), 0);
    return v && json_object_get_int(v) % 2 == 0;
}

static void test_guard(void)
{
    bmq_bus *bus = bmq_bus_new();
    rec *r = rec_new();
    bmq_follower *f = bmq_follow(bus, "n:*", record, guard_even, r);
    for (int i = 0; i < 10; i++)
        bmq_twitter(bus, "n:v", NULL, NULL);
    CHECK_EQ(atomic_load(&r->n), 0); /* no args: guard says no */
    for (int i = 0; i < 10; i++) {
        json_object *a = json_object_new_array();
        json_object_array_add(a, json_object_new_int(i));
        bmq_twitter(bus, "n:v", a, NULL);
    }
    CHECK_EQ(atomic_load(&r->n), 5);
    bmq_bus_stats st;
    bmq_bus_get_stats(bus, &st);
    CHECK_EQ(st.sent, 20);
    CHECK_EQ(st.delivered, 5);
    CHECK_EQ(st.followers, 1);
    bmq_unfollow(f);
    bmq_bus_get_stats(bus, &st);
    CHECK_EQ(st.followers, 0);
    bmq_bus_free(bus);
    free(r);
}

static void test_namespaces(void)
{
    bmq_bus *bus = bmq_bus_new();
    rec *plain = rec_new(), *ns1 = rec_new(), *ns2 = rec_new(), *every = rec_new(),
        *ns1any = rec_new(), *anyb = rec_new();
    bmq_follow(bus, "a:b", record, NULL, plain);
    bmq_follow(bus, "a@ns1:b", record, NULL, ns1);
    bmq_follow(bus, "a@ns2:b", record, NULL, ns2);
    bmq_follow(bus, "*@*:*", record, NULL, every);
    bmq_follow(bus, "*@ns1", record, NULL, ns1any);
    bmq_follow(bus, "a@*:b", record, NULL, anyb);

    bmq_twitter(bus, "a@ns1:b", NULL, NULL);
    CHECK_EQ(atomic_load(&plain->n), 0);
    CHECK_EQ(atomic_load(&ns1->n), 1);
    CHECK_EQ(atomic_load(&ns2->n), 0);
    CHECK_EQ(atomic_load(&ns1any->n), 1);
    CHECK_STR(ns1->last, "a@ns1:b");

    bmq_twitter(bus, "a:b", NULL, NULL);
    CHECK_EQ(atomic_load(&plain->n), 1);
    CHECK_EQ(atomic_load(&ns1->n), 1);
    CHECK_EQ(atomic_load(&ns1any->n), 1);

    bmq_twitter(bus, "*@ns2:*", NULL, NULL);
    CHECK_EQ(atomic_load(&ns2->n), 1);
    CHECK_EQ(atomic_load(&plain->n), 1);
    bmq_twitter(bus, "zz@ns3:q", NULL, NULL); /* nobody in ns3 but the spanning ones */
    CHECK_EQ(atomic_load(&every->n), 4);
    CHECK_EQ(atomic_load(&anyb->n), 3);
    bmq_bus_free(bus);
    free(plain), free(ns1), free(ns2), free(every), free(ns1any), free(anyb);
}

/* ---- unfollow from inside followers ---------------------------------- */

typedef struct selfish {
    bmq_follower *me;
    bmq_follower *other;
    int calls;
} selfish;

static void unfollow_self(const bmq_message *m, void *ud)
{
    selfish *s = ud;
    s->calls++;
    bmq_unfollow(s->me);
}

static void unfollow_other(const bmq_message *m, void *ud)
{
    selfish *s = ud;
    s->calls++;
    if (s->other) {
        bmq_unfollow(s->other);
        s->other = NULL;
    }
}

static void test_unfollow_inside(void)
{
    bmq_bus *bus = bmq_bus_new();
    selfish a = {0}, b = {0};
    a.me = bmq_follow(bus, "u:x", unfollow_self, NULL, &a);
    b.me = bmq_follow(bus, "u:x", unfollow_other, NULL, &b);
    rec *r = rec_new();
    b.other = bmq_follow(bus, "u", record, NULL, r);
    for (int i = 0; i < 3; i++)
        bmq_twitter(bus, "u:x", NULL, NULL);
    CHECK_EQ(a.calls, 1);
    CHECK_EQ(b.calls, 3);
    /* r was unfollowed by b during the first send, before its turn came
     * in that very send: it never ran */
    CHECK_EQ(atomic_load(&r->n), 0);
    bmq_twitter(bus, "u:y", NULL, NULL);
    CHECK_EQ(atomic_load(&r->n), 0);
    bmq_unfollow(b.me);
    bmq_unfollow(NULL);
    bmq_bus_stats st;
    bmq_bus_get_stats(bus, &st);
    CHECK_EQ(st.followers, 0);
    bmq_bus_free(bus);
    free(r);
}

/* unfollow from another thread waits for running invocations, so the
 * user data can be freed at once (ASan would catch a late access). */
typedef struct slow {
    atomic_int inside;
    atomic_int done;
} slow;

static void slow_fn(const bmq_message *m, void *ud)
{
    slow *s = ud;
    atomic_store(&s->inside, 1);
    usleep(100 * 1000);
    atomic_fetch_add(&s->done, 1);
}

static void *send_one(void *bus)
{
    bmq_twitter(bus, "slow:x", NULL, NULL);
    return NULL;
}

static void test_unfollow_waits(void)
{
    bmq_bus *bus = bmq_bus_new();
    slow *s = calloc(1, sizeof(*s));
    bmq_follower *f = bmq_follow(bus, "slow", slow_fn, NULL, s);
    pthread_t th;
    pthread_create(&th, NULL, send_one, bus);
    while (!atomic_load(&s->inside))
        usleep(1000);
    bmq_unfollow(f);
    CHECK_EQ(atomic_load(&s->done), 1); /* the running call finished first */
    free(s);
    pthread_join(th, NULL);
    bmq_bus_free(bus);
}

/* The same with the invocation on a pool thread. */
static void test_unfollow_waits_pool(void)
{
    bmq_bus *bus = bmq_bus_new();
    CHECK_EQ(bmq_set_multiplicity(bus, 1), 0);
    slow *s = calloc(1, sizeof(*s));
    bmq_follower *f = bmq_follow(bus, "slow", slow_fn, NULL, s);
    bmq_twitter(bus, "slow:x", NULL, NULL);
    bmq_twitter(bus, "slow:y", NULL, NULL); /* queued behind: must not run */
    while (!atomic_load(&s->inside))
        usleep(1000);
    bmq_unfollow(f);
    CHECK_EQ(atomic_load(&s->done), 1);
    free(s);
    bmq_bus_flush(bus);
    bmq_bus_free(bus);
}

/* ---- multiplicity ----------------------------------------------------- */

static atomic_int mult_hits;
static void count_fn(const bmq_message *m, void *ud)
{
    atomic_fetch_add(&mult_hits, 1);
}

static void test_multiplicity(void)
{
    bmq_bus *bus = bmq_bus_new();
    CHECK_EQ(bmq_get_multiplicity(bus), 0);
    bmq_follow(bus, "m", count_fn, NULL, NULL);
    bmq_queue *q = bmq_queue_new(bus, "m", false);
    CHECK_EQ(bmq_set_multiplicity(bus, 2), 0);
    CHECK_EQ(bmq_get_multiplicity(bus), 2);
    for (int i = 0; i < 1000; i++) {
        bmq_twitter(bus, "m:x", NULL, NULL);
        if (i == 300)
            bmq_set_multiplicity(bus, 4);
        if (i == 600)
            bmq_set_multiplicity(bus, 1);
        if (i == 800)
            bmq_set_multiplicity(bus, 0);
        if (i == 900)
            bmq_set_multiplicity(bus, 3);
    }
    /* queues are filled by the sender: visible at once */
    CHECK_EQ(bmq_queue_qsize(q), 1000);
    bmq_bus_flush(bus);
    CHECK_EQ(atomic_load(&mult_hits), 1000);
    CHECK_EQ(bmq_set_multiplicity(bus, 100000), -BMQ_EINVAL);
    bmq_bus_stats st;
    bmq_bus_get_stats(bus, &st);
    CHECK_EQ(st.sent, 1000);
    CHECK_EQ(st.delivered, 2000);
    CHECK_EQ(st.queues, 1);
    /* pending work is drained by bus_free */
    for (int i = 0; i < 100; i++)
        bmq_twitter(bus, "m:x", NULL, NULL);
    bmq_bus_free(bus);
    CHECK_EQ(atomic_load(&mult_hits), 1100);
}

/* ---- auto_twitter / twitter_exception / talk -------------------------- */

typedef struct call_ctx {
    rec *r;
    int rc;
} call_ctx;

static int wrapped(void *ud)
{
    call_ctx *c = ud;
    size_t l = strlen(c->r->log);
    snprintf(c->r->log + l, sizeof(c->r->log) - l, " CALL");
    return c->rc;
}

static void test_auto_twitter(void)
{
    bmq_bus *bus = bmq_bus_new();
    rec *r = rec_new();
    bmq_queue *q = bmq_queue_new(bus, "job:exit", false);
    bmq_follow(bus, "job", record, NULL, r);
    call_ctx c = {r, 42};
    json_object *args = json_tokener_parse("[\"a\"]");
    CHECK_EQ(bmq_auto_twitter(bus, "job", BMQ_AUTO_BOTH, wrapped, &c, args), 42);
    CHECK_STR(r->log, "job:entry CALL job:exit");
    bmq_message *m = bmq_queue_get_nowait(q);
    CHECK(m);
    CHECK_STR(bmq_message_to_json(m),
              "{\"id\":\"job:exit\",\"args\":[\"a\"],\"kwargs\":{\"result\":42}}");
    bmq_message_unref(m);
    r->log[0] = 0;
    CHECK_EQ(bmq_auto_twitter(bus, "job", BMQ_AUTO_ENTRY, wrapped, &c, NULL), 42);
    CHECK_STR(r->log, "job:entry CALL");
    r->log[0] = 0;
    CHECK_EQ(bmq_auto_twitter(bus, "job", BMQ_AUTO_EXIT, wrapped, &c, NULL), 42);
    CHECK_STR(r->log, " CALL job:exit");
    CHECK_EQ(bmq_auto_twitter(bus, "bad:name", BMQ_AUTO_BOTH, wrapped, &c, NULL), -BMQ_EID);
    bmq_bus_free(bus);
    free(r);
}

static int failing(void *ud, char **errtext)
{
    int *mode = ud;
    if (*mode == 0)
        return 0;
    if (*mode == 1)
        *errtext = strdup("disk on fire");
    return -BMQ_EIO;
}

static void test_twitter_exception(void)
{
    bmq_bus *bus = bmq_bus_new();
    bmq_queue *q = bmq_queue_new(bus, "task:error", false);
    int mode = 0;
    CHECK_EQ(bmq_twitter_exception(bus, "task", failing, &mode), 0);
    CHECK_EQ(bmq_queue_qsize(q), 0);
    mode = 1;
    CHECK_EQ(bmq_twitter_exception(bus, "task", failing, &mode), -BMQ_EIO);
    bmq_message *m = bmq_queue_get_nowait(q);
    CHECK(m);
    CHECK_STR(bmq_message_to_json(m),
              "{\"id\":\"task:error\",\"args\":[],\"kwargs\":{\"code\":-16,\"message\":\"disk on "
              "fire\"}}");
    bmq_message_unref(m);
    mode = 2;
    CHECK_EQ(bmq_twitter_exception(bus, "task", failing, &mode), -BMQ_EIO);
    m = bmq_queue_get_nowait(q);
    CHECK(m);
    CHECK_STR(json_object_get_string(json_object_object_get(bmq_message_kwargs(m), "message")),
              "input/output error");
    bmq_message_unref(m);
    bmq_bus_free(bus);
}

static json_object *doubler(const bmq_message *m, void *ud)
{
    int v = json_object_get_int(json_object_array_get_idx(bmq_message_args(m), 0));
    return json_object_new_int(v * (int)(intptr_t)ud);
}

static json_object *silent(const bmq_message *m, void *ud)
{
    return NULL;
}

static void test_talk(void)
{
    bmq_bus *bus = bmq_bus_new();
    bmq_follow_talk(bus, "calc:double", doubler, NULL, (void *)(intptr_t)2);
    bmq_follow_talk(bus, "calc:*", doubler, NULL, (void *)(intptr_t)3);
    bmq_follow_talk(bus, "calc", silent, NULL, NULL);
    bmq_queue *replies = bmq_queue_new(bus, "me:reply", false);
    json_object *args = json_tokener_parse("[21]");
    CHECK_EQ(bmq_talk(bus, "calc:double", "me:reply", args, NULL), 0);
    CHECK_EQ(bmq_queue_qsize(replies), 2);
    int sum = 0;
    for (int i = 0; i < 2; i++) {
        bmq_message *m = bmq_queue_get_nowait(replies);
        CHECK(m);
        sum += json_object_get_int(json_object_array_get_idx(bmq_message_args(m), 0));
        CHECK_STR(json_object_get_string(json_object_object_get(bmq_message_kwargs(m), "request")),
                  "calc:double");
        CHECK_EQ(
            strlen(json_object_get_string(json_object_object_get(bmq_message_kwargs(m), "uid"))),
            32);
        bmq_message_unref(m);
    }
    CHECK_EQ(sum, 42 + 63);
    /* a plain twitter to a talk follower sends no reply */
    bmq_twitter_json(bus, "calc:double", "[1]", NULL);
    CHECK_EQ(bmq_queue_qsize(replies), 0);
    CHECK_EQ(bmq_talk(bus, "calc:double", "bad:call:back", NULL, NULL), -BMQ_EID);
    bmq_bus_free(bus);
}

static void test_default_bus(void)
{
    bmq_bus *d = bmq_bus_default();
    CHECK(d && d == bmq_bus_default());
    rec *r = rec_new();
    bmq_follower *f = bmq_follow(d, "dflt", record, NULL, r);
    bmq_twitter(d, "dflt:x", NULL, NULL);
    CHECK_EQ(atomic_load(&r->n), 1);
    bmq_unfollow(f);
    bmq_bus_free(d); /* refused: the default bus lives for the process */
    bmq_twitter(d, "dflt:x", NULL, NULL);
    CHECK_EQ(atomic_load(&r->n), 1);
    free(r);
}

/* Many names: each follower gets exactly its own messages; the index
 * shrinks back as followers leave. A message named "*" reaches every name. */
static void test_many(void)
{
    enum { K = 2000 };
    bmq_bus *bus = bmq_bus_new();
    static rec recs[K];
    static bmq_follower *fs[K];
    char id[64];
    memset(recs, 0, sizeof(recs));
    for (int i = 0; i < K; i++) {
        snprintf(id, sizeof(id), i % 2 ? "n%d:reload" : "n%d@ns%d:*", i, i % 7);
        fs[i] = bmq_follow(bus, id, record, NULL, &recs[i]);
        CHECK(fs[i]);
    }
    for (int i = 0; i < K; i++) {
        snprintf(id, sizeof(id), i % 2 ? "n%d:reload" : "n%d@ns%d:x", i, i % 7);
        CHECK_EQ(bmq_twitter(bus, id, NULL, NULL), 0);
    }
    for (int i = 0; i < K; i++)
        CHECK_EQ(atomic_load(&recs[i].n), 1);
    /* "*:reload" reaches every follower of anything:reload, nobody else */
    bmq_twitter(bus, "*:reload", NULL, NULL);
    for (int i = 0; i < K; i++)
        CHECK_EQ(atomic_load(&recs[i].n), i % 2 ? 2 : 1);
    bmq_twitter(bus, "*@ns3:*", NULL, NULL);
    for (int i = 0; i < K; i += 2)
        CHECK_EQ(atomic_load(&recs[i].n), i % 7 == 3 ? 2 : 1);
    for (int i = 0; i < K; i += 2)
        bmq_unfollow(fs[i]);
    bmq_bus_stats st;
    bmq_bus_get_stats(bus, &st);
    CHECK_EQ(st.followers, K / 2);
    bmq_twitter(bus, "*", NULL, NULL);
    for (int i = 0; i < K; i++)
        CHECK_EQ(atomic_load(&recs[i].n), i % 2 ? 3 : (i % 7 == 3 ? 2 : 1));
    for (int i = 1; i < K; i += 2)
        bmq_unfollow(fs[i]);
    bmq_bus_get_stats(bus, &st);
    CHECK_EQ(st.followers, 0);
    bmq_bus_free(bus);
}

int main(void)
{
    RUN(test_original);
    RUN(test_local_names);
    RUN(test_guard);
    RUN(test_namespaces);
    RUN(test_unfollow_inside);
    RUN(test_unfollow_waits);
    RUN(test_unfollow_waits_pool);
    RUN(test_multiplicity);
    RUN(test_auto_twitter);
    RUN(test_twitter_exception);
    RUN(test_talk);
    RUN(test_default_bus);
    RUN(test_many);
    return 0;
}
