/* core_share.c - one message read by many threads at once: followers on a
 * pool of workers each render the same message, ask for its JSON texts and
 * uid, read its kwargs and keep a reference a while, as the plugins'
 * any-thread followers do. Every follower sees the same text. Built twice:
 * as is, and with ThreadSanitizer over core/ (core_share_tsan). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <berrymq/berrymq.h>

#include "check.h"

enum { FOLLOWERS = 8, SENDERS = 2 };

static const char *const want_text = "build 42 {\"ok\":[true,null]}\nwho: ci\nwhy: line 1\nline 2";

static atomic_long calls, wrong;

static void on_msg(const bmq_message *m, void *ud)
{
    (void)ud;
    bmq_message *keep = bmq_message_ref(m);
    char *text = bmq_message_render(keep, NULL);
    json_object *who = NULL;
    bool ok = text && strcmp(text, want_text) == 0 && bmq_message_uid(keep) &&
              strlen(bmq_message_to_json(keep)) > 20 && bmq_message_args_json(keep)[0] == '[' &&
              bmq_message_kwargs_json(keep)[0] == '{' &&
              json_object_object_get_ex(bmq_message_kwargs(keep), "who", &who) &&
              strcmp(json_object_get_string(who), "ci") == 0;
    if (!ok) {
        fprintf(stderr, "rendered \"%s\"\n", text ? text : "(null)");
        atomic_fetch_add(&wrong, 1);
    }
    free(text);
    bmq_message_unref(keep);
    atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
}

typedef struct {
    bmq_bus *bus;
    int n;
} sender_arg;

static void *sender(void *p)
{
    sender_arg *a = p;
    for (int i = 0; i < a->n; i++)
        CHECK(bmq_twitter_json(a->bus, "share:run", "[\"build\", 42, {\"ok\": [true, null]}]",
                               "{\"who\": \"ci\", \"why\": \"line 1\\nline 2\"}") == 0);
    return NULL;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    bmq_bus *bus = bmq_bus_new();
    CHECK(bmq_set_multiplicity(bus, 4) == 0);
    for (int i = 0; i < FOLLOWERS; i++)
        CHECK(bmq_follow(bus, i % 2 ? "share:*" : "*:run", on_msg, NULL, NULL) != NULL);
    pthread_t th[SENDERS];
    sender_arg arg = {bus, n};
    for (int i = 0; i < SENDERS; i++)
        pthread_create(&th[i], NULL, sender, &arg);
    for (int i = 0; i < SENDERS; i++)
        pthread_join(th[i], NULL);
    bmq_bus_free(bus); /* drains the pool first */
    EXPECT_EQ(atomic_load(&wrong), 0);
    EXPECT_EQ(atomic_load(&calls), (long)n * SENDERS * FOLLOWERS);
    return check_result();
}
