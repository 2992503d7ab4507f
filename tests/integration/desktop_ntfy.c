/* desktop_ntfy.c - an ntfy publish shows on the desktop: the real hub with
 * its notify plugin on a private X server and session bus with the real
 * dunst. Publishes made the ways ntfy documents (curl with a body and
 * headers, curl with a JSON body to /, a GET with query parameters) and
 * with `berrymq publish` each become a Notify call that dunst answers, with
 * the title as summary, the message as body and the priority as urgency.
 * ntfy's actions and click become buttons; clicked through dunst, a "view"
 * action and a click open their URL (the plugin's open_command, here a
 * script that writes it down) and an "http" action sends its request to a
 * real HTTP server.
 * A screenshot of the screen is left as desktop_ntfy.png in the test's
 * working directory. */
#include "desktop_env.h"
#include "http_server.h"

#include <glib/gstdio.h>
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
                             "{\"plugin\": \"notify\", \"id\": \"notify\", \"config\": "
                             "{\"open_command\": \"%s\"}}]}";

static char *opened_path; /* what the open_command script was given, a line each */

static bool opened(void *uri)
{
    char *text = NULL;
    bool found = false;
    if (g_file_get_contents(opened_path, &text, NULL, NULL)) {
        char *line = g_strconcat(uri, "\n", NULL);
        found = strstr(text, line) != NULL;
        g_free(line);
    }
    g_free(text);
    return found;
}

/* Choose the notification's first action in dunst (its context menu picks
 * the first one offered; with a default action, dunst invokes that) until
 * @done says it happened. */
static bool click_until(bool (*done)(void *), void *data)
{
    const char *action0[] = {"action", "0", NULL};
    for (int i = 0; i < 10; i++) {
        g_free(desk_dunstctl(env, action0));
        if (desk_wait(done, data, 1000))
            return true;
    }
    return false;
}

static hs_server *srv;

static bool http_seen(void *n)
{
    return hs_count(srv) >= GPOINTER_TO_UINT(n);
}

/* Publish ntfy actions and a click, each on a notification of its own,
 * and click them. */
static void check_actions(const char *base)
{
    const char *close_all[] = {"close-all", NULL};

    /* JSON form, a view action: a button with its label opens the URL. */
    g_free(desk_dunstctl(env, close_all));
    char *out = NULL;
    const char *a1[] = {"-d",
                        "{\"topic\": \"deploy\", \"title\": \"Deploy done\", \"message\": "
                        "\"v2 is live\", \"actions\": [{\"action\": \"view\", \"label\": "
                        "\"Open site\", \"url\": \"https://example.com/v2\"}]}",
                        base, NULL};
    EXPECT(curl(&out, a1) == 0);
    g_free(out);
    check_popup("Deploy done", "v2 is live", 1);
    desk_notify *n = desk_monitor_find(env, "Deploy done");
    EXPECT(n && n->actions && g_strv_length(n->actions) == 2 &&
           strcmp(n->actions[0], "ntfy-0") == 0 && strcmp(n->actions[1], "Open site") == 0);
    EXPECT(click_until(opened, "https://example.com/v2"));

    /* Short form in a header, an http action: the request as described. */
    g_free(desk_dunstctl(env, close_all));
    char *url = g_strdup_printf("%s/deploy", base);
    char *act = g_strdup_printf("Actions: http, Restart web, http://127.0.0.1:%d/restart, "
                                "method=PUT, headers.X-Token=abc123, body=now",
                                hs_port(srv));
    out = NULL;
    const char *a2[] = {"-H", "Title: Web down", "-H", act, "-d", "web1 answers 502", url, NULL};
    EXPECT(curl(&out, a2) == 0);
    g_free(out);
    g_free(act);
    check_popup("Web down", "web1 answers 502", 1);
    n = desk_monitor_find(env, "Web down");
    EXPECT(n && n->actions && g_strv_length(n->actions) == 2 &&
           strcmp(n->actions[1], "Restart web") == 0);
    EXPECT(click_until(http_seen, GUINT_TO_POINTER(1)));
    const hs_request *r = hs_get(srv, 0);
    EXPECT(r && strcmp(r->method, "PUT") == 0 && strcmp(r->path, "/restart") == 0 &&
           strcmp(r->body, "now") == 0);
    EXPECT(r && hs_header(r, "X-Token") && strcmp(hs_header(r, "X-Token"), "abc123") == 0);

    /* Click: a click on the notification itself opens it. */
    g_free(desk_dunstctl(env, close_all));
    out = NULL;
    const char *a3[] = {"-H", "Title: Logs ready", "-H", "Click: https://example.com/logs/7",
                        "-d", "see the logs", url, NULL};
    EXPECT(curl(&out, a3) == 0);
    g_free(out);
    g_free(url);
    check_popup("Logs ready", "see the logs", 1);
    n = desk_monitor_find(env, "Logs ready");
    EXPECT(n && n->actions && g_strv_length(n->actions) == 2 &&
           strcmp(n->actions[0], "default") == 0);
    EXPECT(click_until(opened, "https://example.com/logs/7"));
}

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
    srv = hs_start(0, NULL, NULL);
    EXPECT(srv != NULL);
    opened_path = g_build_filename(desk_env_dir(env), "opened.txt", NULL);
    char *opener = g_build_filename(desk_env_dir(env), "opener.sh", NULL);
    char *script = g_strdup_printf("#!/bin/sh\nprintf '%%s\\n' \"$1\" >> '%s'\n", opened_path);
    g_file_set_contents(opener, script, -1, NULL);
    g_chmod(opener, 0700);
    g_free(script);
    char *cfg = g_build_filename(desk_env_dir(env), "hub.json", NULL);
    char *cfg_text = g_strdup_printf(config, opener);
    g_file_set_contents(cfg, cfg_text, -1, NULL);
    g_free(cfg_text);
    g_free(opener);
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

    if (srv)
        check_actions(base);

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
    hs_stop(srv);
    g_free(opened_path);
    return check_result();
}
