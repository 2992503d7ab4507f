/* hub_reload.c - SIGHUP and hub.reload: instances added, removed and
 * reconfigured while the others keep running untouched; an invalid new
 * config is refused and the running one kept; changes to the server's
 * settings are named as applying at the next start.
 */
#include <signal.h>
#include <string.h>

#include "hub_harness.h"

static const char *first =
    "{\"plugins\": [\n"
    "  {\"plugin\": \"testplug\", \"id\": \"keep\", \"config\": {\"journal\": \"@@JOURNAL@@\"}},\n"
    "  {\"plugin\": \"testplug\", \"id\": \"gone\", \"config\": {\"journal\": \"@@JOURNAL@@\"}},\n"
    "  {\"plugin\": \"testplug\", \"id\": \"tune\", \"config\": {\"journal\": \"@@JOURNAL@@\"}},\n"
    "  {\"plugin\": \"testplug_norecfg\", \"id\": \"redo\",\n"
    "   \"config\": {\"journal\": \"@@JOURNAL@@\"}}\n"
    "]}\n";

static const char *second =
    "{\"plugins\": [\n"
    "  {\"plugin\": \"testplug\", \"id\": \"keep\", \"config\": {\"journal\": \"@@JOURNAL@@\"}},\n"
    "  {\"plugin\": \"testplug\", \"id\": \"tune\",\n"
    "   \"config\": {\"journal\": \"@@JOURNAL@@\", \"greeting\": \"tuned\"}},\n"
    "  {\"plugin\": \"testplug_norecfg\", \"id\": \"redo\",\n"
    "   \"config\": {\"journal\": \"@@JOURNAL@@\", \"greeting\": \"redone\"}},\n"
    "  {\"plugin\": \"testplug\", \"id\": \"new\", \"config\": {\"journal\": \"@@JOURNAL@@\"}}\n"
    "]}\n";

static const char *third =
    "{\"plugins\": [\n"
    "  {\"plugin\": \"testplug\", \"id\": \"keep\", \"config\": {\"journal\": \"@@JOURNAL@@\"}},\n"
    "  {\"plugin\": \"testplug\", \"id\": \"tune\", \"enabled\": false,\n"
    "   \"config\": {\"journal\": \"@@JOURNAL@@\", \"greeting\": \"tuned\"}},\n"
    "  {\"plugin\": \"failplug\", \"id\": \"bad\"}\n"
    "]}\n";

static bool array_is(json_object *diff, const char *key, const char *expected)
{
    json_object *arr = NULL;
    if (!json_object_object_get_ex(diff, key, &arr))
        return false;
    const char *s = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN);
    if (strcmp(s, expected) != 0) {
        fprintf(stderr, "%s is %s, expected %s\n", key, s, expected);
        return false;
    }
    return true;
}

static const char *greeting(hh_hub *h, const char *id, json_object **hold)
{
    *hold = hh_instance(h, id);
    return *hold ? hh_str(*hold, "status.status.greeting") : NULL;
}

int main(void)
{
    hh_env *env = hh_env_new();
    hh_write_config_j(env, first);
    hh_hub *h = hh_start(env, NULL, true);
    char *j = hh_journal(env);
    EXPECT(strcmp(j, "create keep\ncreate gone\ncreate tune\ncreate redo\n") == 0);
    g_free(j);
    g_unlink(env->journal);

    /* SIGHUP: gone removed, tune reconfigured in place, redo recreated (its
     * plugin has no reconfigure), new added, keep untouched. */
    hh_write_config_j(env, second);
    kill(h->pid, SIGHUP);
    EXPECT(hh_wait_log(h, "reloaded:", 5000));
    j = hh_journal(env);
    EXPECT(strcmp(j, "destroy gone\nreconfigure tune\ndestroy redo\ncreate redo\ncreate new\n") ==
           0);
    if (strcmp(j, "destroy gone\nreconfigure tune\ndestroy redo\ncreate redo\ncreate new\n"))
        fprintf(stderr, "journal:\n%s", j);
    g_free(j);
    json_object *hold;
    EXPECT(g_strcmp0(greeting(h, "tune", &hold), "tuned") == 0);
    json_object_put(hold);
    EXPECT(g_strcmp0(greeting(h, "redo", &hold), "redone") == 0);
    json_object_put(hold);
    json_object *gone = hh_instance(h, "gone");
    EXPECT(gone == NULL);
    json_object_put(gone);
    char *s = hh_state(h, "new");
    EXPECT(strcmp(s, "running") == 0);
    g_free(s);

    /* hub.reload over RPC reports the diff. */
    g_unlink(env->journal);
    hh_write_config_j(env, third);
    char *err = NULL;
    json_object *diff = hh_call(h, "hub.reload", "[]", &err);
    EXPECT(diff != NULL);
    if (diff) {
        EXPECT(array_is(diff, "added", "[]"));
        EXPECT(array_is(diff, "removed", "[\"new\",\"redo\"]"));
        EXPECT(array_is(diff, "reconfigured", "[\"tune\"]"));
        EXPECT(array_is(diff, "failed", "[\"bad\"]"));
    }
    json_object_put(diff);
    s = hh_state(h, "tune");
    EXPECT(strcmp(s, "disabled") == 0);
    g_free(s);
    s = hh_state(h, "bad");
    EXPECT(strcmp(s, "failed") == 0);
    g_free(s);

    /* An invalid config is refused; everything keeps running. */
    hh_write_config(env, "{\"plugins\": [{\"plugin\": \"testplug\", \"enabled\": \"yes\"}]}");
    EXPECT(hh_call(h, "hub.reload", "[]", &err) == NULL);
    EXPECT_CONTAINS(err, "plugins[0].enabled");
    EXPECT_CONTAINS(err, env->config_file);
    g_free(err);
    kill(h->pid, SIGHUP);
    EXPECT(hh_wait_log(h, "reload refused", 5000));
    s = hh_state(h, "keep");
    EXPECT(strcmp(s, "running") == 0);
    g_free(s);

    /* Server settings apply at the next start: a reload says which ones
     * changed and does not pass over them in silence. */
    hh_write_config_j(env, "{\"allow_origins\": [\"http://localhost:8080\"],\n"
                           " \"server_names\": [\"hub.lan\"], \"allow\": [\"10.0.0.0/8\"],\n"
                           " \"ntfy\": {\"keepalive\": 10}, \"max_body\": 2048,\n"
                           " \"plugins\": [{\"plugin\": \"testplug\", \"id\": \"keep\",\n"
                           "   \"config\": {\"journal\": \"@@JOURNAL@@\"}}]}\n");
    json_object_put(hh_call(h, "hub.reload", "[]", &err));
    EXPECT(hh_wait_log(h, "apply at the next start", 5000));
    EXPECT(hh_wait_log(h, "allow, server_names, allow_origins, max_body, ntfy", 5000));

    /* keep was never restarted through all of this. */
    j = hh_journal(env);
    EXPECT(strstr(j, "keep") == NULL);
    g_free(j);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    hh_env_free(env);
    return check_result();
}
