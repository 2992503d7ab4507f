/* core_id.c - identifier syntax, the DESIGN.md identifier table and matching. */
#include <berrymq/berrymq.h>

#include "check.h"

/* Every row of the identifier table: written form -> name, action, ns. */
static void test_table(void)
{
    static const struct {
        const char *written, *id, *name, *action, *ns;
        bool local;
    } rows[] = {
        {"test:run", "test:run", "test", "run", "", false},
        {"test:*", "test:*", "test", "*", "", false},
        {"test", "test:*", "test", "*", "", false},
        {"*:run", "*:run", "*", "run", "", false},
        {"*:*", "*:*", "*", "*", "", false},
        {"*", "*:*", "*", "*", "", false},
        {"name@ns:action", "name@ns:action", "name", "action", "ns", false},
        {"_name:action", "_name:action", "_name", "action", "", true},
        {"_name@ns", "_name@ns:*", "_name", "*", "ns", true},
        {"caf\xc3\xa9:ok", "caf\xc3\xa9:ok", "caf\xc3\xa9", "ok", "", false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        CHECK_EQ(bmq_id_validate(rows[i].written), 0);
        int err = 1;
        bmq_message *m = bmq_message_new(rows[i].written, NULL, NULL, &err);
        CHECK(m);
        CHECK_EQ(err, 0);
        CHECK_STR(bmq_message_id(m), rows[i].id);
        CHECK_STR(bmq_message_name(m), rows[i].name);
        CHECK_STR(bmq_message_action(m), rows[i].action);
        CHECK_STR(bmq_message_namespace(m), rows[i].ns);
        CHECK(bmq_message_is_local(m) == rows[i].local);
        bmq_message_unref(m);
    }
}

static void test_invalid(void)
{
    char longid[400];
    memset(longid, 'a', sizeof(longid));
    longid[256] = '\0'; /* 256 bytes: one too many */
    const char *bad[] = {
        "",      ":",     "a:",   ":b",  "a:b:c",   "a@@b", "a@b@c:d",
        "a:b@c", "@ns:b", "a@:b", "a b", " a",      "a\tb", "a\nb",
        "a\x7f", "a*:b",  "a:b*", "**",  "a@n*s:b", longid, "a\x01:b",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(bmq_id_validate(bad[i]), -BMQ_EID);
        int err = 0;
        CHECK(bmq_message_new(bad[i], NULL, NULL, &err) == NULL);
        CHECK_EQ(err, -BMQ_EID);
    }
    CHECK_EQ(bmq_id_validate(NULL), -BMQ_EID);
    longid[255] = '\0'; /* 255 bytes is fine when written in full ... */
    longid[100] = ':';
    CHECK_EQ(bmq_id_validate(longid), 0);
    longid[100] = 'a'; /* ... but a bare name must leave room for ":*" */
    CHECK_EQ(bmq_id_validate(longid), -BMQ_EID);
    longid[253] = '\0';
    CHECK_EQ(bmq_id_validate(longid), 0);
    bmq_message *m = bmq_message_new(longid, NULL, NULL, NULL);
    CHECK(m && strlen(bmq_message_id(m)) == 255);
    CHECK_EQ(bmq_id_validate(bmq_message_id(m)), 0);
    bmq_message_unref(m);
    longid[253] = 'a';
    longid[255] = '\0';
    /* Embedded NUL, seen through the length-aware check. */
    CHECK_EQ(bmq_id_validate_len("a:b\0c", 5), -BMQ_EID);
    CHECK_EQ(bmq_id_validate_len("a:bc", 4), 0);
    CHECK_EQ(bmq_id_validate_len("a:bc", 0), -BMQ_EID);
    CHECK_EQ(bmq_id_validate_len("a:bcdef", 3), 0); /* not NUL-terminated: "a:b" */
    /* A namespace wildcard selects; a message cannot carry one. */
    int err = 0;
    CHECK(bmq_message_new("a@*:b", NULL, NULL, &err) == NULL);
    CHECK_EQ(err, -BMQ_EID);
    CHECK_EQ(bmq_id_validate("a@*:b"), 0);
    /* Bad ids through every entry point. */
    bmq_bus *bus = bmq_bus_new();
    CHECK_EQ(bmq_twitter(bus, "a:b:c", json_object_new_array(), NULL), -BMQ_EID);
    CHECK_EQ(bmq_twitter(bus, NULL, NULL, NULL), -BMQ_EID);
    CHECK_EQ(bmq_twitter(bus, "a b", NULL, json_object_new_object()), -BMQ_EID);
    CHECK_EQ(bmq_twitter_json(bus, "", "[]", "{}"), -BMQ_EID);
    CHECK(bmq_follow(bus, "a:b:c", (bmq_follower_fn)1, NULL, NULL) == NULL);
    CHECK(bmq_queue_new(bus, "", false) == NULL);
    longid[100] = ':';
    CHECK(bmq_queue_new(bus, longid, true) != NULL); /* 255 bytes: accepted */
    longid[100] = 'a';
    CHECK(bmq_queue_new(bus, longid, true) == NULL); /* no room for ":*" */
    bmq_bus_free(bus);
}

static void test_match(void)
{
    static const struct {
        const char *a, *b;
        bool match;
    } rows[] = {
        {"x:entry", "x", true},     /* bare name = x:* */
        {"x:test", "*:test", true}, /* wildcard in the message */
        {"x:test", "y:test", false},  {"x:test", "x:run", false}, {"*", "a:b", true},
        {"a:*", "*:b", true},         {"a:b", "a@ns:b", false},   {"a@ns1:b", "a@ns2:b", false},
        {"a@ns1:b", "a@ns1:*", true}, {"*@*:*", "a@ns:b", true},  {"*@*:*", "a:b", true},
        {"a@*:b", "a@q:c", false},    {"a:b:c", "a:b:c", false},  {"", "", false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (bmq_id_match(rows[i].a, rows[i].b) != rows[i].match ||
            bmq_id_match(rows[i].b, rows[i].a) != rows[i].match) {
            fprintf(stderr, "match(%s, %s) != %d\n", rows[i].a, rows[i].b, rows[i].match);
            exit(1);
        }
    }
}

static void test_strerror(void)
{
    CHECK_STR(bmq_strerror(-BMQ_EID), "malformed identifier");
    CHECK_STR(bmq_strerror(BMQ_EID), "malformed identifier");
    CHECK(bmq_strerror(-9999) != NULL);
}

/* A second, independent statement of the syntax, checked against the
 * library on random strings over a small, hostile alphabet. */
static bool piece_ok(const char *s, size_t n)
{
    if (n == 0)
        return false;
    if (n == 1 && s[0] == '*')
        return true;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '*')
            return false;
    return true;
}

static bool reference_valid(const char *s, size_t len)
{
    if (len < 1 || len > 255)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] == 0x7f)
            return false;
    const char *colon = memchr(s, ':', len);
    if (!colon && len + 2 > 255)
        return false; /* "x" means "x:*", which must fit */
    size_t head = colon ? (size_t)(colon - s) : len;
    if (colon) {
        const char *act = colon + 1;
        size_t an = len - head - 1;
        if (memchr(act, ':', an) || memchr(act, '@', an) || !piece_ok(act, an))
            return false;
    }
    const char *at = memchr(s, '@', head);
    if (at) {
        size_t nn = (size_t)(at - s), sn = head - nn - 1;
        return !memchr(at + 1, '@', sn) && piece_ok(s, nn) && piece_ok(at + 1, sn);
    }
    return piece_ok(s, head);
}

static void test_random(void)
{
    static const char alphabet[] = "ab*:@_ \t\x01\x7f\xc3";
    unsigned seed = 12345;
    char buf[16];
    for (int iter = 0; iter < 200000; iter++) {
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 16) % 9;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        buf[len] = '\0';
        bool want = reference_valid(buf, len);
        if ((bmq_id_validate_len(buf, len) == 0) != want || (bmq_id_validate(buf) == 0) != want) {
            fprintf(stderr, "disagree on \"%s\": reference says %d\n", buf, want);
            exit(1);
        }
        int err;
        bmq_message *m = bmq_message_new(buf, NULL, NULL, &err);
        bool ns_any = want && strstr(buf, "@*") != NULL;
        CHECK((m != NULL) == (want && !ns_any));
        if (m) {
            /* the normalized form is itself valid and means the same */
            CHECK_EQ(bmq_id_validate(bmq_message_id(m)), 0);
            CHECK(bmq_id_match(bmq_message_id(m), buf));
        }
        bmq_message_unref(m);
    }
}

int main(void)
{
    RUN(test_table);
    RUN(test_invalid);
    RUN(test_match);
    RUN(test_strerror);
    RUN(test_random);
    return 0;
}
