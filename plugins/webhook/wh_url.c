/* wh_url.c - the webhook URL: checked and rewritten with libcurl's own URL
 * parser (the one that will send the requests), and redacted for logs and
 * status: a URL often carries a secret in its userinfo or its query
 * (Gotify's ?token=...). */
#include <string.h>

#include <curl/curl.h>

#include "webhook.h"

static char *part(CURLU *u, CURLUPart what)
{
    char *v = NULL;
    if (curl_url_get(u, what, &v, 0) != CURLUE_OK)
        return NULL;
    char *r = g_strdup(v);
    curl_free(v);
    return r;
}

int wh__url_check(const char *url, bool *https, char **error)
{
    CURLU *u = curl_url();
    int rc = 0;
    /* Without CURLU_GUESS_SCHEME / DEFAULT_SCHEME a missing scheme fails. */
    CURLUcode uc = u ? curl_url_set(u, CURLUPART_URL, url, 0) : CURLUE_OUT_OF_MEMORY;
    char *scheme = uc == CURLUE_OK ? part(u, CURLUPART_SCHEME) : NULL;
    char *host = uc == CURLUE_OK ? part(u, CURLUPART_HOST) : NULL;
    if (uc != CURLUE_OK) {
        *error = g_strdup_printf("\"url\": not a valid URL (%s)", curl_url_strerror(uc));
        rc = -BMQ_EINVAL;
    } else if (!scheme ||
               (g_ascii_strcasecmp(scheme, "http") && g_ascii_strcasecmp(scheme, "https"))) {
        *error = g_strdup_printf("\"url\": the scheme must be http or https, not \"%s\"",
                                 scheme ? scheme : "");
        rc = -BMQ_EINVAL;
    } else if (!host || !*host) {
        *error = g_strdup("\"url\": no host");
        rc = -BMQ_EINVAL;
    } else {
        *https = g_ascii_strcasecmp(scheme, "https") == 0;
    }
    g_free(scheme);
    g_free(host);
    curl_url_cleanup(u);
    return rc;
}

/* "a=1&b&c=3" -> "a=***&b&c=***" */
static void redact_query(GString *out, const char *q)
{
    char **kv = g_strsplit(q, "&", -1);
    for (char **p = kv; *p; p++) {
        if (p != kv)
            g_string_append_c(out, '&');
        const char *eq = strchr(*p, '=');
        if (eq) {
            g_string_append_len(out, *p, eq - *p);
            g_string_append(out, "=***");
        } else {
            g_string_append(out, *p);
        }
    }
    g_strfreev(kv);
}

char *wh__url_redact(const char *url)
{
    CURLU *u = curl_url();
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        curl_url_cleanup(u);
        return g_strdup("(invalid URL)");
    }
    char *scheme = part(u, CURLUPART_SCHEME), *user = part(u, CURLUPART_USER);
    char *password = part(u, CURLUPART_PASSWORD), *host = part(u, CURLUPART_HOST);
    char *port = part(u, CURLUPART_PORT), *path = part(u, CURLUPART_PATH);
    char *query = part(u, CURLUPART_QUERY);
    GString *s = g_string_new(scheme);
    g_string_append(s, "://");
    if (user || password)
        g_string_append(s, "***@");
    g_string_append(s, host ? host : "");
    if (port)
        g_string_append_printf(s, ":%s", port);
    g_string_append(s, path ? path : "/");
    if (query) {
        g_string_append_c(s, '?');
        redact_query(s, query);
    }
    g_free(scheme);
    g_free(user);
    g_free(password);
    g_free(host);
    g_free(port);
    g_free(path);
    g_free(query);
    curl_url_cleanup(u);
    return g_string_free(s, FALSE);
}

char *wh__url_append_path(const char *url, const char *suffix)
{
    CURLU *u = curl_url();
    char *out = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
        char *path = part(u, CURLUPART_PATH);
        const char *p = path ? path : "/";
        char *np;
        if (g_str_has_suffix(p, suffix))
            np = g_strdup(p);
        else if (g_str_has_suffix(p, "/"))
            np = g_strconcat(p, suffix[0] == '/' ? suffix + 1 : suffix, NULL);
        else
            np = g_strconcat(p, suffix, NULL);
        char *v = NULL;
        if (curl_url_set(u, CURLUPART_PATH, np, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_URL, &v, 0) == CURLUE_OK) {
            out = g_strdup(v);
            curl_free(v);
        }
        g_free(np);
        g_free(path);
    }
    curl_url_cleanup(u);
    return out;
}
