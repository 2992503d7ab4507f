/* desktop_ntfy.c - an ntfy publish shows on the desktop: the real hub with
 * its notify plugin on a private X server and session bus with the real
 * dunst. Publishes made the ways ntfy documents (curl with a body and
 * headers, curl with a JSON body to /, a GET with query parameters) and
 * with `berrymq publish` each become a Notify call that dunst answers, with
 * the title as summary, the message as body and the priority as urgency.
 * A screenshot of the screen is left as desktop_ntfy.png in the test's
 * working directory. */
#include "desktop_env.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static desk_env *env;

static bool shown(void *summary)
{
    desk_notify *n = desk_monitor_find(env, summary);
    return n && n->returned_id != 0;
}

/* curl @args against the hub; its exit status, stdout in *out. */
static int curl(char **out, const char *const *args)
{
    const char *argv[24] = {"curl", "-sS", "--fail-with-body", "--max-time", "20"};
    size_t n = 5;
    for (; *args && n < 23; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    return desk_run(argv, out);
}

/* The popup with @summary: body and urgency as asked. */
static void check_popup(const char *summary, const char *body, int urgency)
{
    EXPECT(desk_wait(shown, (void *)summary, 15000));
    desk_notify *n = desk_monitor_find(env, summary);
    if (!n)
        return;
    if (!n->body || strcmp(n->body, body) != 0 || n->urgency != urgency)
        fprintf(stderr, "popup \"%s\": body \"%s\" urgency %d, want \"%s\" %d\n", summary,
                n->body ? n->body : "(none)", n->urgency, body, urgency);
    EXPECT(n->body && strcmp(n->body, body) == 0);
    EXPECT(n->urgency == urgency);
}

static const char config[] = "{\"listen\": \"127.0.0.1:0\", \"plugins\": ["
                             "{\"plugin\": \"notify\", \"id\": \"notify\", \"config\": {}}]}";

int main(void)
{
    char *why = NULL;
    char *curl_path = g_find_program_in_path("curl");
    g_free(curl_path);
    if (!curl_path) {
        fprintf(stderr, "skipped: curl is not installed\n");
        return DESK_SKIP;
    }
    env = desk_env_start(&why);
    if (!env) {
        fprintf(stderr, "skipped: %s\n", why);
        g_free(why);
        return DESK_SKIP;
    }
    EXPECT(desk_monitor_start(env));
    EXPECT(desk_dunst_start(env));
    char *cfg = g_build_filename(desk_env_dir(env), "hub.json", NULL);
    g_file_set_contents(cfg, config, -1, NULL);
    desk_hub h;
    EXPECT(desk_hub_start(&h, cfg, "instance 'notify' started"));
    char *addr = desk_hub_addr(&h);
    EXPECT(addr != NULL);
    char *base = g_strdup_printf("http://%s", addr ? addr : "127.0.0.1:1");

    /* The body is the message; headers carry the rest (priority 4 is high:
     * critical on the desktop). The answer is ntfy's message JSON. */
    char *url = g_strdup_printf("%s/backups", base), *out = NULL;
    const char *a1[] = {"-H", "Title: Nightly backup",
                        "-H", "Priority: high",
                        "-H", "Tags: floppy_disk",
                        "-d", "Backup done: 42 GB",
                        url,  NULL};
    EXPECT(curl(&out, a1) == 0);
    EXPECT(out && strstr(out, "\"event\":\"message\"") && strstr(out, "\"topic\":\"backups\""));
    g_free(out);
    g_free(url);
    check_popup("Nightly backup", "Backup done: 42 GB", 2);

    /* A JSON body to /, told apart from JSON-RPC by its shape; priority 2
     * is low. */
    out = NULL;
    const char *a2[] = {"-d",
                        "{\"topic\": \"builds\", \"title\": \"Build 118\", \"message\": "
                        "\"All green\", \"priority\": 2}",
                        base, NULL};
    EXPECT(curl(&out, a2) == 0);
    EXPECT(out && strstr(out, "\"topic\":\"builds\""));
    g_free(out);
    check_popup("Build 118", "All green", 0);

    /* A GET with query parameters, as webhooks without a body do. */
    url = g_strdup_printf("%s/doorbell/publish?title=Doorbell&message=Someone+is+at+the+door"
                          "&priority=3",
                          base);
    out = NULL;
    const char *a3[] = {url, NULL};
    EXPECT(curl(&out, a3) == 0);
    g_free(out);
    g_free(url);
    check_popup("Doorbell", "Someone is at the door", 1);

    /* The CLI's convenience form. */
    const char *a4[] = {"publish", "alerts", "Disk almost full", "-t",
                        "Disk",    "-p",     "urgent",           NULL};
    EXPECT(desk_cli(a4) == 0);
    check_popup("Disk", "Disk almost full", 2);

    /* A bad topic is refused and nothing pops up. */
    url = g_strdup_printf("%s/no%%20spaces", base);
    out = NULL;
    const char *a5[] = {"-H", "Title: Never shown", "-d", "x", url, NULL};
    EXPECT(curl(&out, a5) != 0);
    EXPECT(out && strstr(out, "\"http\":400"));
    g_free(out);
    g_free(url);
    desk_spin(500);
    EXPECT(desk_monitor_find(env, "Never shown") == NULL);

    char *cwd = g_get_current_dir();
    char *shot = g_build_filename(cwd, "desktop_ntfy.png", NULL);
    g_free(cwd);
    if (desk_screenshot(env, shot))
        fprintf(stderr, "screenshot: %s\n", shot);
    g_free(shot);

    EXPECT(desk_hub_end(&h, SIGTERM) == 0);
    g_free(base);
    g_free(addr);
    g_free(cfg);
    desk_env_stop(env);
    return check_result();
}
