/* core_message.c - message construction, accessors, lazy values, refcounts. */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <berrymq/berrymq.h>

#include "check.h"

static void test_accessors(void)
{
    int err = 1;
    json_object *args = json_tokener_parse("[1, \"two\"]");
    json_object *kw = json_tokener_parse("{\"k\": \"v\", \"priority\": 3}");
    bmq_message *m = bmq_message_new("app@work:notify", args, kw, &err);
    CHECK(m);
    CHECK_EQ(err, 0);
    CHECK_STR(bmq_message_id(m), "app@work:notify");
    CHECK_STR(bmq_message_namespace(m), "work");
    CHECK(bmq_message_args(m) == args);
    CHECK(bmq_message_kwargs(m) == kw);
    CHECK_EQ(json_object_array_length(bmq_message_args(m)), 2);
    CHECK_STR(bmq_message_to_json(m),
              "{\"id\":\"app@work:notify\",\"args\":[1,\"two\"],\"kwargs\":{\"k\":\"v\","
              "\"priority\":3}}");
    CHECK_STR(bmq_message_args_json(m), "[1,\"two\"]");
    CHECK_STR(bmq_message_kwargs_json(m), "{\"k\":\"v\",\"priority\":3}");
    /* computed once: the same pointer every time */
    CHECK(bmq_message_to_json(m) == bmq_message_to_json(m));
    CHECK(bmq_message_origin(m) == NULL);
    CHECK(bmq_message_ref(m) == m);
    bmq_message_unref(m);
    bmq_message_unref(m);
    bmq_message_unref(NULL);
}

static void test_empty_args(void)
{
    bmq_message *m = bmq_message_new("a:b", NULL, NULL, NULL);
    CHECK(m);
    CHECK_STR(bmq_message_args_json(m), "[]");
    CHECK_STR(bmq_message_kwargs_json(m), "{}");
    CHECK_STR(bmq_message_to_json(m), "{\"id\":\"a:b\",\"args\":[],\"kwargs\":{}}");
    json_object *a = bmq_message_args(m);
    CHECK(a && json_object_is_type(a, json_type_array) && json_object_array_length(a) == 0);
    CHECK(bmq_message_args(m) == a);
    json_object *k = bmq_message_kwargs(m);
    CHECK(k && json_object_is_type(k, json_type_object) && json_object_object_length(k) == 0);
    bmq_message_unref(m);
}

static void test_types(void)
{
    int err = 0;
    CHECK(bmq_message_new("a:b", json_object_new_object(), NULL, &err) == NULL);
    CHECK_EQ(err, -BMQ_ETYPE);
    CHECK(bmq_message_new("a:b", NULL, json_object_new_array(), &err) == NULL);
    CHECK_EQ(err, -BMQ_ETYPE);
    CHECK(bmq_message_new("a:b", json_object_new_int(3), json_object_new_string("x"), &err) ==
          NULL);
    CHECK_EQ(err, -BMQ_ETYPE);
    bmq_bus *bus = bmq_bus_new();
    CHECK_EQ(bmq_twitter(bus, "a:b", json_object_new_object(), NULL), -BMQ_ETYPE);
    CHECK_EQ(bmq_twitter_json(bus, "a:b", "[1,", NULL), -BMQ_EINVAL);
    CHECK_EQ(bmq_twitter_json(bus, "a:b", "[1] x", NULL), -BMQ_EINVAL);
    CHECK_EQ(bmq_twitter_json(bus, "a:b", "{}", NULL), -BMQ_ETYPE);
    CHECK_EQ(bmq_twitter_json(bus, "a:b", NULL, "[]"), -BMQ_ETYPE);
    CHECK_EQ(bmq_twitter_json(bus, "a:b", "[1]", "{\"a\":[]}"), 0);
    CHECK_EQ(bmq_twitter_json(bus, "a:b", NULL, NULL), 0);
    CHECK_EQ(bmq_twitter_json(bus, "a:b", "null", " null "), 0);
    CHECK_EQ(bmq_twitter_json(bus, "a:b", "", NULL), -BMQ_EINVAL);
    CHECK_EQ(bmq_twitter_json(bus, "a:b", "\"str\"", NULL), -BMQ_ETYPE);
    bmq_bus_free(bus);
}

static void test_uid_origin(void)
{
    static const int tag = 0;
    bmq_message *a = bmq_message_new("a:b", NULL, NULL, NULL);
    bmq_message *b = bmq_message_new("a:b", NULL, NULL, NULL);
    const char *ua = bmq_message_uid(a);
    CHECK(ua && strlen(ua) == 32);
    for (const char *p = ua; *p; p++)
        CHECK((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'));
    CHECK(bmq_message_uid(a) == ua);
    CHECK(strcmp(ua, bmq_message_uid(b)) != 0);
    bmq_message *c = bmq_message_new_full("a:b", NULL, NULL, "0123abcd", &tag, NULL);
    CHECK_STR(bmq_message_uid(c), "0123abcd");
    CHECK(bmq_message_origin(c) == &tag);
    int err = 0;
    CHECK(bmq_message_new_full("a:b", NULL, NULL, "", NULL, &err) == NULL);
    CHECK_EQ(err, -BMQ_EINVAL);
    bmq_message_unref(a);
    bmq_message_unref(b);
    bmq_message_unref(c);
}

/* Lazy values computed by several threads at once: every thread must see
 * the same pointer (run under TSan/ASan for the races). */
static bmq_message *shared_msg;
static const char *seen_uid[4], *seen_json[4];
static json_object *seen_args[4];

static void *lazy_thread(void *arg)
{
    int i = (int)(intptr_t)arg;
    seen_uid[i] = bmq_message_uid(shared_msg);
    seen_json[i] = i & 1 ? bmq_message_to_json(shared_msg) : NULL;
    if (!(i & 1))
        bmq_message_args_json(shared_msg), seen_json[i] = bmq_message_to_json(shared_msg);
    seen_args[i] = bmq_message_args(shared_msg);
    return NULL;
}

static void test_lazy_threads(void)
{
    for (int round = 0; round < 50; round++) {
        shared_msg = bmq_message_new("lazy:x", json_tokener_parse("[1,{\"a\":\"/\"}]"),
                                     round & 1 ? json_tokener_parse("{\"q\":null}") : NULL, NULL);
        pthread_t th[4];
        for (int i = 0; i < 4; i++)
            pthread_create(&th[i], NULL, lazy_thread, (void *)(intptr_t)i);
        for (int i = 0; i < 4; i++)
            pthread_join(th[i], NULL);
        for (int i = 1; i < 4; i++) {
            CHECK(seen_uid[i] == seen_uid[0]);
            CHECK(seen_json[i] == seen_json[0]);
            CHECK(seen_args[i] == seen_args[0]);
        }
        CHECK_STR(bmq_message_args_json(shared_msg), "[1,{\"a\":\"/\"}]");
        bmq_message_unref(shared_msg);
    }
}

/* uids stay unique across threads and across fork(). */
static void *uid_batch(void *arg)
{
    char *out = arg;
    for (int i = 0; i < 2000; i++) {
        bmq_message *m = bmq_message_new("u:x", NULL, NULL, NULL);
        memcpy(out + i * 33, bmq_message_uid(m), 33);
        bmq_message_unref(m);
    }
    return NULL;
}

static int cmp_uid(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_uid_unique(void)
{
    enum { T = 4, PER = 2000 };
    char *all = calloc(T * PER, 33);
    pthread_t th[T];
    for (int i = 0; i < T; i++)
        pthread_create(&th[i], NULL, uid_batch, all + (size_t)i * PER * 33);
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    qsort(all, T * PER, 33, cmp_uid);
    for (int i = 1; i < T * PER; i++)
        CHECK(strcmp(all + (i - 1) * 33, all + i * 33) != 0);
    free(all);

    bmq_message *m = bmq_message_new("u:x", NULL, NULL, NULL);
    (void)bmq_message_uid(m); /* this thread's generator is now seeded */
    bmq_message_unref(m);
    int fd[2];
    CHECK(pipe(fd) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    m = bmq_message_new("u:x", NULL, NULL, NULL);
    if (pid == 0) {
        ssize_t w = write(fd[1], bmq_message_uid(m), 32);
        _exit(w == 32 ? 0 : 1);
    }
    char child[33] = {0};
    CHECK(read(fd[0], child, 32) == 32);
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(strcmp(child, bmq_message_uid(m)) != 0);
    bmq_message_unref(m);
    close(fd[0]);
    close(fd[1]);
}

/* What people read: args by spaces, kwargs as lines, strings decoded. */
static void test_render(void)
{
    bmq_message *m = bmq_message_new(
        "build:notify",
        json_tokener_parse("[\"a b\", 1, {\"x\": [2, \"q\\\"\"]}, true, 1.5]"),
        json_tokener_parse("{\"title\": \"T\", \"k\": \"line 1\\nline 2\", \"n\": null, "
                           "\"\\u00e9t\\u00e9\": \"\\ud83d\\ude00 \\/ \\\\\"}"),
        NULL);
    CHECK(m);
    const char *skip[] = {"title", NULL};
    char *text = bmq_message_render(m, skip);
    CHECK_STR(text, "a b 1 {\"x\":[2,\"q\\\"\"]} true 1.5\nk: line 1\nline 2\nn: null\n"
                    "\xc3\xa9t\xc3\xa9: \xf0\x9f\x98\x80 / \\");
    free(text);
    text = bmq_message_render(m, NULL);
    CHECK(strncmp(text, "a b 1", 5) == 0 && strstr(text, "\ntitle: T\n"));
    free(text);
    bmq_message_unref(m);
    m = bmq_message_new("x:y", NULL, NULL, NULL);
    text = bmq_message_render(m, NULL);
    CHECK_STR(text, "");
    free(text);
    bmq_message_unref(m);
}

int main(void)
{
    RUN(test_accessors);
    RUN(test_render);
    RUN(test_empty_args);
    RUN(test_types);
    RUN(test_uid_origin);
    RUN(test_lazy_threads);
    RUN(test_uid_unique);
    return 0;
}
