/* hub_browser.c - a real browser cannot drive the hub: headless Chromium
 * loads a page served from another loopback port (python3 -m http.server)
 * whose script tries a no-cors text/plain fetch, a fetch with no content
 * type, a fetch calling hub.load and a <form enctype="text/plain"> submit
 * against the running hub (hub_browser_page.html), then the ntfy API on the
 * same port: images and a GET form on /TOPIC/publish and /TOPIC/trigger
 * (no Origin on those), no-cors posts to /TOPIC and /, beacons, an
 * EventSource and a WebSocket. Nothing may arrive and nothing may be
 * loaded; the attempts must have reached the hub and been refused.
 * Skipped (77) only when Chromium is not installed.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hub_harness.h"
#include "raw_http.h"

static unsigned free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

static bool wait_port(unsigned port)
{
    for (int i = 0; i < 500; i++) {
        rh_reply r;
        if (rh_exchange_tcp(port, "GET / HTTP/1.0\r\n\r\n", &r)) {
            rh_reply_clear(&r);
            return true;
        }
        g_usleep(10000);
    }
    return false;
}

int main(void)
{
    char *chromium = g_find_program_in_path("chromium");
    if (!chromium)
        chromium = g_find_program_in_path("chromium-browser");
    if (!chromium) {
        fprintf(stderr, "SKIPPED: chromium is not installed (Debian package 'chromium'); the "
                        "browser test needs a real browser\n");
        return 77;
    }
    char *python = g_find_program_in_path("python3");
    if (!python) {
        fprintf(stderr, "SKIPPED: python3 (the page's web server) is not installed\n");
        return 77;
    }
    hh_env *env = hh_env_new();
    hh_write_config(env, "{\"plugins\": [{\"plugin\": \"testplug\", \"id\": \"sink\","
                         " \"config\": {\"follow\": \"probe:*\"}}]}");
    hh_hub *h = hh_start(env, NULL, true);
    const char *hub_port = strrchr(h->listen, ':') + 1;

    /* The attacker's page, on another port of the same loopback address. */
    char *page_dir = g_build_filename(env->root, "page", NULL);
    g_mkdir_with_parents(page_dir, 0755);
    char *src = g_build_filename(g_getenv("BMQ_SOURCE_DIR"), "tests", "integration",
                                 "hub_browser_page.html", NULL);
    char *text = NULL;
    EXPECT(g_file_get_contents(src, &text, NULL, NULL));
    char **parts = g_strsplit(text ? text : "", "HUBPORT", -1);
    char *page = g_strjoinv(hub_port, parts);
    char *index = g_build_filename(page_dir, "index.html", NULL);
    g_file_set_contents(index, page, -1, NULL);
    unsigned web_port = free_port();
    char *web_port_s = g_strdup_printf("%u", web_port);
    const char *web_argv[] = {python,      "-m",          "http.server", web_port_s, "--bind",
                              "127.0.0.1", "--directory", page_dir,      NULL};
    GPid web = 0;
    EXPECT(g_spawn_async(NULL, (char **)web_argv, NULL,
                         G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                             G_SPAWN_STDERR_TO_DEV_NULL,
                         NULL, NULL, &web, NULL));
    EXPECT(wait_port(web_port));

    char *url = g_strdup_printf("http://127.0.0.1:%u/index.html", web_port);
    char *profile = g_build_filename(env->root, "chromium", NULL);
    char *profile_arg = g_strdup_printf("--user-data-dir=%s", profile);
    const char *chrome_argv[] = {chromium,
                                 "--headless",
                                 "--no-sandbox",
                                 "--disable-gpu",
                                 "--no-first-run",
                                 profile_arg,
                                 "--virtual-time-budget=10000",
                                 "--dump-dom",
                                 url,
                                 NULL};
    char **cenv = g_get_environ();
    char *home = g_build_filename(env->root, "home", NULL);
    cenv = g_environ_setenv(cenv, "HOME", home, TRUE);
    char *dom = NULL, *cerr = NULL;
    int status = -1;
    EXPECT(
        g_spawn_sync(NULL, (char **)chrome_argv, cenv, 0, NULL, NULL, &dom, &cerr, &status, NULL));
    /* The script ran to its end: every attempt was made. */
    EXPECT_CONTAINS(dom, "finished:nocors,notype,load,ntfy");
    if (check_failures)
        fprintf(stderr, "chromium stderr:\n%s\n", cerr ? cerr : "");

    /* Nothing arrived, nothing was loaded; the four RPC attempts and the
     * ntfy ones (all but those Chromium itself may drop) were refused. */
    json_object *s = NULL;
    const char *n = NULL;
    for (int i = 0; i < 300; i++) { /* the form's request may still be on its way */
        json_object_put(s);
        s = hh_call(h, "hub.status", "[]", NULL);
        n = s ? hh_str(s, "server.counters.refused_browser") : NULL;
        if (n && atoi(n) >= 12)
            break;
        g_usleep(10000);
    }
    if (!n || atoi(n) < 12)
        fprintf(stderr, "refused_browser %s, expected 12 or more\n", n ? n : "(none)");
    EXPECT(n && atoi(n) >= 12);
    json_object_put(s);
    json_object *sink = hh_instance(h, "sink");
    const char *rec = sink ? hh_str(sink, "status.status.received") : NULL;
    EXPECT(rec && atoi(rec) == 0);
    json_object_put(sink);
    json_object *evil = hh_instance(h, "evil");
    EXPECT(evil == NULL);
    json_object_put(evil);

    kill(web, SIGTERM);
    waitpid(web, NULL, 0);
    EXPECT(hh_stop(h) == 0);
    hh_free(h);
    g_strfreev(cenv);
    g_strfreev(parts);
    g_free(home);
    g_free(dom);
    g_free(cerr);
    g_free(profile);
    g_free(profile_arg);
    g_free(url);
    g_free(web_port_s);
    g_free(index);
    g_free(page);
    g_free(text);
    g_free(src);
    g_free(page_dir);
    g_free(python);
    g_free(chromium);
    hh_env_free(env);
    return check_result();
}
