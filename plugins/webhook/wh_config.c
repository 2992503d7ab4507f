/* wh_config.c - the webhook instance config: defaults, types, ranges.
 * Every rejection is one line naming the key and what it expects.
 *
 *   url           http(s) URL (required)
 *   filter        pattern or list of patterns ("*:notify")
 *   format        ntfy | gotify | json | slack | template ("json")
 *   method        POST | PUT | PATCH ("POST")
 *   headers       {"Name": "value", ...} added to every request
 *   token         sent as Authorization: Bearer (Gotify: also X-Gotify-Key)
 *   user/password HTTP Basic authentication
 *   timeout       seconds per request (10)
 *   ca_file       PEM file of the CAs to trust instead of the system's
 *   insecure      true: no certificate verification (false; logged)
 *   rate          "N/sec|min|hour|day": limit with coalescing (none)
 *   template      body template (format template, see wh_template.c)
 *   content_type  of the template body ("text/plain; charset=utf-8")
 *   queue         outbox bound (1000)
 *   retries       attempts on 5xx/429 before a message is given up (10;
 *                 0 = no limit); connection errors retry without limit
 *   retry_min     first backoff in seconds (1)
 *   retry_max     backoff cap in seconds (300)
 *   drain         seconds stopping waits for the outbox to empty (2)
 *   hub           the "hub" field of the json format (the host name)
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "webhook.h"

static const char *const known_keys[] = {
    "url",      "filter",  "format",    "method",    "headers", "token",    "user",
    "password", "timeout", "ca_file",   "insecure",  "rate",    "template", "content_type",
    "queue",    "retries", "retry_min", "retry_max", "drain",   "hub",      NULL,
};

static int fail(char **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static int fail(char **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    *error = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return -BMQ_EINVAL;
}

static json_object *member(json_object *cfg, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(cfg, key, &v) || json_object_is_type(v, json_type_null))
        return NULL;
    return v;
}

/* A string member; @dflt (nullable) when absent. Empty strings are refused
 * unless @empty_ok. */
static int get_string(json_object *cfg, const char *key, const char *dflt, bool empty_ok,
                      char **out, char **error)
{
    *out = g_strdup(dflt);
    return bmq_config_get_string(cfg, key, empty_ok ? 0 : BMQ_CONFIG_NONEMPTY, out, error);
}

static int get_int(json_object *cfg, const char *key, int dflt, int lo, int hi, guint *out,
                   char **error)
{
    int64_t n = dflt;
    int rc = bmq_config_get_int(cfg, key, 0, lo, hi, &n, error);
    *out = (guint)n;
    return rc;
}

/* Seconds (integer or fractional) as milliseconds. */
static int get_seconds(json_object *cfg, const char *key, double dflt, double lo, double hi,
                       guint *out_ms, char **error)
{
    double s = dflt;
    int rc = bmq_config_get_double(cfg, key, 0, lo, hi, &s, error);
    *out_ms = (guint)(s * 1000.0 + 0.5);
    return rc;
}

static int get_filters(json_object *cfg, wh_config *c, char **error)
{
    char **filters = NULL;
    int rc = bmq_config_get_strv(cfg, "filter", BMQ_CONFIG_NONEMPTY, &filters, error);
    if (rc)
        return rc;
    if (!filters) {
        filters = g_new0(char *, 2);
        filters[0] = g_strdup("*:notify");
    }
    for (char **f = filters; *f; f++) {
        if (bmq_id_validate(*f) != 0) {
            rc = fail(error, "key 'filter': \"%s\" is not a valid pattern", *f);
            g_strfreev(filters);
            return rc;
        }
    }
    c->filters = filters;
    c->filter_text = g_strjoinv(", ", c->filters);
    return 0;
}

/* RFC 9110 token characters. */
static bool header_name_ok(const char *n)
{
    if (!*n)
        return false;
    for (const char *p = n; *p; p++)
        if (!g_ascii_isalnum(*p) && !strchr("!#$%&'*+-.^_`|~", *p))
            return false;
    return true;
}

static int get_headers(json_object *cfg, wh_config *c, char **error)
{
    json_object *v = member(cfg, "headers");
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    if (v && !json_object_is_type(v, json_type_object)) {
        g_ptr_array_free(a, TRUE);
        return fail(error, "key 'headers': expected an object of \"Name\": \"value\" strings");
    }
    if (v) {
        json_object_object_foreach(v, name, val)
        {
            const char *s =
                json_object_is_type(val, json_type_string) ? json_object_get_string(val) : NULL;
            int rc = 0;
            if (!header_name_ok(name))
                rc = fail(error, "key 'headers': \"%s\" is not a valid header name", name);
            else if (!g_ascii_strcasecmp(name, "Content-Length") ||
                     !g_ascii_strcasecmp(name, "Transfer-Encoding"))
                rc = fail(error, "key 'headers': \"%s\" is set by the plugin", name);
            else if (!s)
                rc = fail(error, "key 'headers': the value of \"%s\" must be a string", name);
            else if (strpbrk(s, "\r\n") || strlen(s) != (size_t)json_object_get_string_len(val))
                rc = fail(error, "key 'headers': the value of \"%s\" must be one line", name);
            if (rc) {
                g_ptr_array_free(a, TRUE);
                return rc;
            }
            g_ptr_array_add(a, g_strdup_printf("%s: %s", name, s));
        }
    }
    g_ptr_array_add(a, NULL);
    c->headers = (char **)g_ptr_array_free(a, FALSE);
    return 0;
}

/* "10/min": n per period. */
static int get_rate(json_object *cfg, wh_config *c, char **error)
{
    json_object *v = member(cfg, "rate");
    if (!v)
        return 0;
    static const struct {
        const char *unit;
        double seconds;
    } units[] = {{"s", 1},       {"sec", 1},  {"second", 1},  {"m", 60},    {"min", 60},
                 {"minute", 60}, {"h", 3600}, {"hour", 3600}, {"d", 86400}, {"day", 86400}};
    const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
    char *end = NULL;
    long n = strtol(s, &end, 10);
    double period = 0;
    if (end && end != s && *end == '/') {
        char *unit = g_strstrip(g_strdup(end + 1));
        for (size_t i = 0; i < G_N_ELEMENTS(units); i++)
            if (g_ascii_strcasecmp(unit, units[i].unit) == 0)
                period = units[i].seconds;
        g_free(unit);
    }
    if (period == 0 || n < 1 || n > 1000000)
        return fail(error, "key 'rate': expected \"N/unit\" like \"10/min\" (N from 1 to 1000000, "
                           "unit sec, min, hour or day)");
    c->rate_n = (guint)n;
    c->rate_period = period;
    c->rate_text = g_strdup(s);
    return 0;
}

static bool content_type_is_json(const char *ct)
{
    size_t n = strcspn(ct, ";");
    char *t = g_strstrip(g_ascii_strdown(ct, (gssize)n));
    bool json = strcmp(t, "application/json") == 0 || g_str_has_suffix(t, "+json");
    g_free(t);
    return json;
}

/* A JSON template must give JSON: render one sample message and parse it,
 * so that a quoting mistake shows now rather than as a 400 later. */
static int check_json_template(wh_config *c, char **error)
{
    json_object *args = json_tokener_parse("[\"a \\\"quoted\\\" arg\", 2]");
    json_object *kwargs = json_tokener_parse("{\"title\": \"T\", \"body\": \"line 1\\nline 2\"}");
    wh_fields f = {
        .id = "sample:check",
        .name = "sample",
        .action = "check",
        .args = args,
        .kwargs = kwargs,
        .title = "T",
        .body = "line 1\nline 2",
        .time = 0,
        .hub = c->hub,
    };
    char *text = wh__template_render(c->tmpl, &f, true);
    json_tokener *tok = json_tokener_new();
    json_object *o = json_tokener_parse_ex(tok, text, (int)strlen(text));
    enum json_tokener_error je = json_tokener_get_error(tok);
    size_t end = o ? json_tokener_get_parse_end(tok) : 0;
    while (o && text[end] && g_ascii_isspace(text[end]))
        end++;
    bool ok = o && je == json_tokener_success && text[end] == '\0';
    int rc = 0;
    if (!ok)
        rc = fail(error,
                  "key 'template': with content_type %s the body must be JSON, and a sample "
                  "message gives %s (a value outside quotes needs {field!json})",
                  c->content_type,
                  je == json_tokener_success ? "trailing text" : json_tokener_error_desc(je));
    json_object_put(o);
    json_tokener_free(tok);
    g_free(text);
    json_object_put(args);
    json_object_put(kwargs);
    return rc;
}

static const char *const format_names[] = {"ntfy", "gotify", "json", "slack", "template", NULL};

const char *wh__format_name(wh_format f)
{
    return format_names[f];
}

static int get_format(json_object *cfg, wh_config *c, char **error)
{
    const char *const *names = format_names;
    char *fmt = NULL, *tmpl = NULL;
    int rc = get_string(cfg, "format", "json", false, &fmt, error);
    int idx = -1;
    for (int i = 0; rc == 0 && names[i]; i++)
        if (strcmp(fmt, names[i]) == 0)
            idx = i;
    if (rc == 0 && idx < 0)
        rc = fail(error, "key 'format': expected ntfy, gotify, json, slack or template, got \"%s\"",
                  fmt);
    c->format = (wh_format)idx;
    if (rc == 0)
        rc = get_string(cfg, "template", NULL, false, &tmpl, error);
    if (rc == 0)
        rc = get_string(cfg, "content_type", "text/plain; charset=utf-8", false, &c->content_type,
                        error);
    if (rc == 0 && c->format == WH_FORMAT_TEMPLATE && !tmpl)
        rc = fail(error, "key 'template': required with format template");
    if (rc == 0 && c->format != WH_FORMAT_TEMPLATE && (tmpl || member(cfg, "content_type")))
        rc = fail(error, "keys 'template' and 'content_type': go with format template only");
    if (rc == 0 && strpbrk(c->content_type, "\r\n"))
        rc = fail(error, "key 'content_type': must be one line");
    if (rc == 0 && tmpl) {
        char *terr = NULL;
        c->tmpl = wh__template_compile(tmpl, &terr);
        if (!c->tmpl) {
            rc = fail(error, "key 'template': %s", terr);
            g_free(terr);
        }
    }
    if (rc == 0 && c->tmpl) {
        c->json_body = content_type_is_json(c->content_type);
        if (c->json_body)
            rc = check_json_template(c, error);
    }
    g_free(fmt);
    g_free(tmpl);
    return rc;
}

static int get_auth(json_object *cfg, wh_config *c, char **error)
{
    int rc = get_string(cfg, "token", NULL, false, &c->token, error);
    if (rc == 0)
        rc = get_string(cfg, "user", NULL, false, &c->user, error);
    if (rc == 0)
        rc = get_string(cfg, "password", NULL, true, &c->password, error);
    if (rc == 0 && c->token && (c->user || c->password))
        rc = fail(error, "keys 'token' and 'user'/'password': exclude each other");
    if (rc == 0 && c->password && !c->user)
        rc = fail(error, "key 'password': needs \"user\"");
    if (rc == 0 && c->token && strpbrk(c->token, "\r\n"))
        rc = fail(error, "key 'token': must be one line");
    return rc;
}

static int get_tls(json_object *cfg, wh_config *c, char **error)
{
    int rc = get_string(cfg, "ca_file", NULL, false, &c->ca_file, error);
    if (rc == 0 && c->ca_file && access(c->ca_file, R_OK) != 0)
        rc = fail(error, "key 'ca_file': cannot read %s", c->ca_file);
    if (rc == 0)
        rc = bmq_config_get_bool(cfg, "insecure", 0, &c->insecure, error);
    if (rc == 0 && (c->ca_file || c->insecure) && !c->https)
        rc = fail(error, "keys 'ca_file' and 'insecure': need an https url");
    return rc;
}

static char *summary_id(const char *instance_id)
{
    bool plain =
        instance_id && *instance_id && instance_id[0] != '_' && !strpbrk(instance_id, ":@*");
    char *id = plain ? g_strconcat(instance_id, ":summary", NULL) : NULL;
    if (!id || bmq_id_validate(id) != 0) {
        g_free(id);
        id = g_strdup("webhook:summary");
    }
    return id;
}

int wh__config_parse(json_object *cfg, const char *instance_id, wh_config *c, char **error)
{
    memset(c, 0, sizeof *c);
    int rc = bmq_config_check_keys(cfg, known_keys, error);
    if (rc)
        return rc;
    char *method = NULL;
    rc = bmq_config_get_string(cfg, "url", BMQ_CONFIG_REQUIRED | BMQ_CONFIG_NONEMPTY, &c->url,
                               error);
    if (rc == 0)
        rc = wh__url_check(c->url, &c->https, error);
    if (rc == 0)
        rc = get_string(cfg, "hub", g_get_host_name(), false, &c->hub, error);
    if (rc == 0)
        rc = get_filters(cfg, c, error);
    if (rc == 0)
        rc = get_format(cfg, c, error);
    if (rc == 0)
        rc = get_string(cfg, "method", "POST", false, &method, error);
    if (rc == 0) {
        c->method = g_ascii_strup(method, -1);
        if (strcmp(c->method, "POST") && strcmp(c->method, "PUT") && strcmp(c->method, "PATCH"))
            rc = fail(error, "key 'method': expected POST, PUT or PATCH, got \"%s\"", method);
    }
    if (rc == 0)
        rc = get_headers(cfg, c, error);
    if (rc == 0)
        rc = get_auth(cfg, c, error);
    if (rc == 0)
        rc = get_seconds(cfg, "timeout", 10, 0.1, 600, &c->timeout_ms, error);
    if (rc == 0)
        rc = get_tls(cfg, c, error);
    if (rc == 0)
        rc = get_rate(cfg, c, error);
    if (rc == 0)
        rc = get_int(cfg, "queue", 1000, 1, 1000000, &c->queue_max, error);
    if (rc == 0)
        rc = get_int(cfg, "retries", 10, 0, 1000, &c->retries, error);
    if (rc == 0)
        rc = get_seconds(cfg, "retry_min", 1, 0.01, 3600, &c->retry_min_ms, error);
    if (rc == 0)
        rc = get_seconds(cfg, "retry_max", 300, 0.01, 86400, &c->retry_max_ms, error);
    if (rc == 0 && c->retry_max_ms < c->retry_min_ms)
        rc = fail(error, "key 'retry_max': must not be below \"retry_min\"");
    if (rc == 0)
        rc = get_seconds(cfg, "drain", 2, 0, 30, &c->drain_ms, error);
    g_free(method);
    if (rc == 0) {
        c->url_shown = wh__url_redact(c->url);
        c->target = c->format == WH_FORMAT_GOTIFY ? wh__url_append_path(c->url, "/message")
                                                  : g_strdup(c->url);
        c->summary_id = summary_id(instance_id);
        if (!c->target)
            rc = fail(error, "key 'url': cannot add /message to it");
    }
    if (rc != 0)
        wh__config_clear(c);
    return rc;
}

void wh__config_clear(wh_config *c)
{
    g_free(c->url);
    g_free(c->url_shown);
    g_free(c->target);
    g_strfreev(c->filters);
    g_free(c->filter_text);
    g_free(c->method);
    g_strfreev(c->headers);
    if (c->token)
        memset(c->token, 0, strlen(c->token));
    g_free(c->token);
    g_free(c->user);
    if (c->password)
        memset(c->password, 0, strlen(c->password));
    g_free(c->password);
    g_free(c->ca_file);
    g_free(c->rate_text);
    wh__template_free(c->tmpl);
    g_free(c->content_type);
    g_free(c->hub);
    g_free(c->summary_id);
    memset(c, 0, sizeof *c);
}
