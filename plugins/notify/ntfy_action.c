/* ntfy_action.c - what a click does for a notification published the ntfy
 * way (kwargs "click" and "actions" as an array of ntfy actions): "view"
 * and "click" open their URI with the config's open_command (xdg-open),
 * "http" sends its request (method, headers, body) from a worker thread,
 * "broadcast" (an Android intent) only sends the usual NAME:action-KEY
 * message. The instance waits for its running requests when it ends
 * (each is bounded by HTTP_TIMEOUT_S). */
#include "nplugin.h"

#include <curl/curl.h>
#include <string.h>

#define HTTP_TIMEOUT_S 15L

/* A URI a desktop opener may be handed: it has a scheme, is not a local
 * file and cannot pass for an option of the opener. */
static bool openable(const char *uri)
{
    char *scheme = uri && *uri != '-' ? g_uri_parse_scheme(uri) : NULL;
    bool ok = scheme && g_ascii_strcasecmp(scheme, "file") != 0;
    g_free(scheme);
    return ok;
}

void nplugin__ntfy_open(nplugin *p, const char *uri)
{
    if (!openable(uri)) {
        p->host->log(p->host, BMQ_LOG_WARNING, "ntfy action: \"%s\" is not a URI to open; ignored",
                     uri ? uri : "");
        return;
    }
    const char *argv[] = {p->open_command, uri, NULL};
    GError *err = NULL;
    /* Not DO_NOT_REAP_CHILD: GLib reaps the opener itself. */
    if (!g_spawn_async(NULL, (char **)argv, NULL,
                       G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                       &err)) {
        p->host->log(p->host, BMQ_LOG_WARNING, "ntfy action: cannot open %s with %s: %s", uri,
                     p->open_command, err->message);
        g_error_free(err);
        return;
    }
    p->host->log(p->host, BMQ_LOG_INFO, "ntfy action: opened %s", uri);
}

typedef struct http_job {
    nplugin *p;
    char *method, *url, *body;
    struct curl_slist *headers;
} http_job;

static size_t discard(char *ptr, size_t size, size_t n, void *data)
{
    (void)ptr;
    (void)data;
    return size * n;
}

static gpointer http_run(gpointer data)
{
    http_job *j = data;
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *c = curl_easy_init();
    CURLcode rc = CURLE_FAILED_INIT;
    long status = 0;
    if (c) {
        curl_easy_setopt(c, CURLOPT_URL, j->url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, HTTP_TIMEOUT_S);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, j->headers);
        if (strcmp(j->method, "GET") == 0) {
            curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        } else {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->body);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(j->body));
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, j->method);
        }
        rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
    }
    const bmq_host *host = j->p->host;
    if (rc != CURLE_OK)
        host->log(host, BMQ_LOG_WARNING, "ntfy action: %s %s failed: %s", j->method, j->url,
                     *errbuf ? errbuf : curl_easy_strerror(rc));
    else
        host->log(host, status >= 200 && status < 300 ? BMQ_LOG_INFO : BMQ_LOG_WARNING,
                     "ntfy action: %s %s answered %ld", j->method, j->url, status);
    curl_slist_free_all(j->headers);
    g_free(j->method);
    g_free(j->url);
    g_free(j->body);
    g_mutex_lock(&j->p->http_lock);
    j->p->http_running--;
    g_cond_broadcast(&j->p->http_cond);
    g_mutex_unlock(&j->p->http_lock);
    g_free(j);
    return NULL;
}

/* A string field of @a, or @def when absent or not a string. */
static const char *field(json_object *a, const char *key, const char *def)
{
    json_object *v = NULL;
    return json_object_object_get_ex(a, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : def;
}

void nplugin__ntfy_http(nplugin *p, json_object *action)
{
    const char *url = field(action, "url", NULL);
    if (!url || !(g_str_has_prefix(url, "http://") || g_str_has_prefix(url, "https://"))) {
        p->host->log(p->host, BMQ_LOG_WARNING, "ntfy action: http action without an http(s) url");
        return;
    }
    http_job *j = g_new0(http_job, 1);
    j->p = p;
    j->url = g_strdup(url);
    j->method = g_ascii_strup(field(action, "method", "POST"), -1); /* ntfy's default */
    j->body = g_strdup(field(action, "body", ""));
    json_object *h = NULL;
    if (json_object_object_get_ex(action, "headers", &h) && json_object_is_type(h, json_type_object)) {
        json_object_object_foreach(h, name, value)
        {
            if (!json_object_is_type(value, json_type_string) || strpbrk(name, ":\r\n") ||
                strpbrk(json_object_get_string(value), "\r\n"))
                continue;
            char *line = g_strdup_printf("%s: %s", name, json_object_get_string(value));
            j->headers = curl_slist_append(j->headers, line);
            g_free(line);
        }
    }
    g_mutex_lock(&p->http_lock);
    p->http_running++;
    g_mutex_unlock(&p->http_lock);
    /* Detached: the plugin is never unloaded (-z nodelete), and
     * nplugin__ntfy_wait keeps @p alive until the request ends. */
    g_thread_unref(g_thread_new("ntfy-http", http_run, j));
}

void nplugin__ntfy_wait(nplugin *p)
{
    g_mutex_lock(&p->http_lock);
    while (p->http_running > 0)
        g_cond_wait(&p->http_cond, &p->http_lock);
    g_mutex_unlock(&p->http_lock);
}
