/* gntp_parse.c - frame and parse GNTP 1.0 messages (requests from Growl
 * clients, responses and callbacks from Growl servers) and turn a request
 * into a growl_event.
 *
 * The parser restarts from the first byte on every call: the receiver feeds
 * it whatever has arrived so far, and requests are small and bounded, so
 * simplicity wins over an incremental state machine. It is tolerant where
 * real senders differ from the spec (runs of spaces and a trailing space in
 * the information line, header names in any case, extra blank lines between
 * sections) and strict on sizes, so the fuzz target can hammer it.
 */
#include "growl_proto.h"

#include <string.h>

#define GNTP_MAX_RESOURCES 16

typedef struct cursor {
    const guint8 *buf;
    size_t len; /* bytes available (already capped at max_size) */
    size_t pos;
    bool capped; /* more bytes exist beyond len, but max_size forbids them */
} cursor;

enum { LINE_OK = 0, LINE_MORE = 1, LINE_TOO_LONG = -1 };

/* Next line without its CRLF. A bare LF is not a line end: the spec uses
 * it for newlines inside header values. */
static int next_line(cursor *c, const char **start, size_t *n)
{
    const guint8 *p = c->buf + c->pos;
    size_t avail = c->len - c->pos;
    size_t lim = MIN(avail, (size_t)GNTP_MAX_LINE + 2);
    for (size_t i = 1; i < lim; i++) {
        if (p[i] == '\n' && p[i - 1] == '\r') {
            *start = (const char *)p;
            *n = i - 1;
            c->pos += i + 1;
            return LINE_OK;
        }
    }
    return avail > GNTP_MAX_LINE + 1 ? LINE_TOO_LONG : LINE_MORE;
}

static void header_free(gntp_header *h)
{
    if (!h)
        return;
    g_free(h->name);
    g_free(h->value);
    g_free(h);
}

void gntp__msg_free(gntp_msg *m)
{
    if (!m)
        return;
    g_free(m->version);
    g_free(m->type);
    g_free(m->encryption);
    g_free(m->hash_alg);
    g_free(m->key_hash);
    g_free(m->salt);
    g_free(m->info_text);
    if (m->sections)
        g_ptr_array_free(m->sections, TRUE);
    if (m->resources)
        g_hash_table_destroy(m->resources);
    g_free(m);
}

static GPtrArray *section_new(void)
{
    return g_ptr_array_new_with_free_func((GDestroyNotify)header_free);
}

guint gntp__msg_n_sections(const gntp_msg *m)
{
    return m->sections->len;
}

const char *gntp__msg_get(const gntp_msg *m, guint section, const char *name)
{
    if (section >= m->sections->len)
        return NULL;
    GPtrArray *s = m->sections->pdata[section];
    for (guint i = 0; i < s->len; i++) {
        gntp_header *h = s->pdata[i];
        if (g_ascii_strcasecmp(h->name, name) == 0)
            return h->value;
    }
    return NULL;
}

bool gntp__parse_bool(const char *v, bool dflt)
{
    if (!v)
        return dflt;
    if (!g_ascii_strcasecmp(v, "true") || !g_ascii_strcasecmp(v, "yes") || !strcmp(v, "1"))
        return true;
    if (!g_ascii_strcasecmp(v, "false") || !g_ascii_strcasecmp(v, "no") || !strcmp(v, "0"))
        return false;
    return dflt;
}

static char *strndup_clean(const char *p, size_t n)
{
    while (n && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
        n--;
    return g_strndup(p, n);
}

typedef struct perr {
    int code;
    char *err;
} perr;

static int fail(perr *e, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static int fail(perr *e, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_free(e->err);
    e->err = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    e->code = code;
    return -1;
}

/* A line-level failure: MORE (wait for bytes) or too long / too big. */
static int line_fail(cursor *c, int r, perr *e)
{
    if (r == LINE_MORE && !c->capped)
        return GNTP_PARSE_MORE;
    if (r == LINE_MORE)
        return fail(e, GNTP_E_INVALID_REQUEST, "message larger than the limit");
    return fail(e, GNTP_E_INVALID_REQUEST, "line longer than %d bytes", GNTP_MAX_LINE);
}

static bool known_encryption(const char *field)
{
    static const char *const algs[] = {"NONE", "AES", "DES", "3DES"};
    size_t n = strcspn(field, ":");
    for (size_t i = 0; i < G_N_ELEMENTS(algs); i++)
        if (strlen(algs[i]) == n && g_ascii_strncasecmp(field, algs[i], n) == 0)
            return true;
    return false;
}

/* GNTP/<version> <type> <enc>[:<iv>][ <alg>:<hash>.<salt>] */
static int parse_info(const char *line, size_t n, gntp_msg *m, perr *e)
{
    char *copy = g_strndup(line, n);
    char *tok[5] = {0};
    int nt = 0;
    for (char *p = copy; *p && nt < 5;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        tok[nt++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
    }
    int rc = 0;
    if (nt == 0 || g_ascii_strncasecmp(tok[0], "GNTP/", 5) != 0) {
        rc = fail(e, GNTP_E_UNKNOWN_PROTOCOL, "not a GNTP message");
    } else if (strcmp(tok[0] + 5, "1.0") != 0) {
        rc = fail(e, GNTP_E_UNKNOWN_PROTOCOL_VERSION, "unsupported GNTP version '%.16s'",
                  tok[0] + 5);
    } else if (nt < 2) {
        rc = fail(e, GNTP_E_INVALID_REQUEST, "missing message type");
    } else if (tok[1][0] == '-' && nt >= 3 && !known_encryption(tok[2])) {
        /* A reply whose type is followed by words, not an encryption
         * field: some servers put the error there ("-ERROR Invalid
         * request") and no Error-Code header. Keep the words. */
        m->version = g_strdup("1.0");
        m->type = g_ascii_strup(tok[1], -1);
        m->encryption = g_strdup("NONE");
        size_t off = (size_t)(tok[2] - copy);
        m->info_text = g_strstrip(g_strndup(line + off, n - off));
    } else if (nt > 4) {
        rc = fail(e, GNTP_E_INVALID_REQUEST, "malformed information line");
    } else {
        m->version = g_strdup("1.0");
        m->type = g_ascii_strup(tok[1], -1);
        if (nt >= 3) {
            char *colon = strchr(tok[2], ':');
            m->encryption = colon ? g_strndup(tok[2], (gsize)(colon - tok[2])) : g_strdup(tok[2]);
        } else {
            m->encryption = g_strdup("NONE");
        }
        if (nt == 4) {
            char *colon = strchr(tok[3], ':');
            char *dot = colon ? strrchr(colon, '.') : NULL;
            if (!colon || !dot || colon == tok[3] || dot == colon + 1 || !dot[1]) {
                rc = fail(e, GNTP_E_INVALID_REQUEST, "malformed key field");
            } else {
                m->hash_alg = g_strndup(tok[3], (gsize)(colon - tok[3]));
                m->key_hash = g_strndup(colon + 1, (gsize)(dot - colon - 1));
                m->salt = g_strdup(dot + 1);
            }
        }
    }
    g_free(copy);
    return rc;
}

/* Headers up to a blank line. Blank lines before the first header are
 * skipped when @skip_blank (between sections some senders add extra ones). */
static int parse_section(cursor *c, GPtrArray *sec, bool skip_blank, perr *e)
{
    bool any = false;
    for (;;) {
        const char *l;
        size_t n;
        int r = next_line(c, &l, &n);
        if (r != LINE_OK)
            return line_fail(c, r, e);
        if (n == 0) {
            if (!any && skip_blank)
                continue;
            return 0;
        }
        any = true;
        if (memchr(l, '\0', n))
            return fail(e, GNTP_E_INVALID_REQUEST, "NUL byte in a header line");
        /* The optional end-of-message semaphore of keep-alive senders. */
        if (n >= 5 && g_ascii_strncasecmp(l, "GNTP/", 5) == 0)
            continue;
        const char *colon = memchr(l, ':', n);
        if (!colon || colon == l)
            return fail(e, GNTP_E_INVALID_REQUEST, "malformed header line");
        if (sec->len >= GNTP_MAX_HEADERS)
            return fail(e, GNTP_E_INVALID_REQUEST, "too many headers");
        gntp_header *h = g_new0(gntp_header, 1);
        h->name = strndup_clean(l, (size_t)(colon - l));
        h->value = strndup_clean(colon + 1, n - (size_t)(colon - l) - 1);
        if (!*h->name) {
            header_free(h);
            return fail(e, GNTP_E_INVALID_REQUEST, "malformed header line");
        }
        g_ptr_array_add(sec, h);
    }
}

static void collect_resource_ids(gntp_msg *m, GPtrArray *ids)
{
    static const char pfx[] = "x-growl-resource://";
    for (guint s = 0; s < m->sections->len; s++) {
        GPtrArray *sec = m->sections->pdata[s];
        for (guint i = 0; i < sec->len; i++) {
            const char *v = ((gntp_header *)sec->pdata[i])->value;
            if (g_ascii_strncasecmp(v, pfx, sizeof pfx - 1) != 0 || !v[sizeof pfx - 1])
                continue;
            const char *id = v + sizeof pfx - 1;
            bool have = false;
            for (guint k = 0; k < ids->len && !have; k++)
                have = strcmp(ids->pdata[k], id) == 0;
            if (!have)
                g_ptr_array_add(ids, (gpointer)id);
        }
    }
}

static int parse_length(const char *v, size_t max, size_t *out)
{
    if (!v || !*v)
        return -1;
    size_t n = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        n = n * 10 + (size_t)(*p - '0');
        if (n > max)
            return -1;
    }
    *out = n;
    return 0;
}

static void skip_eol(cursor *c)
{
    if (c->len - c->pos >= 2 && c->buf[c->pos] == '\r' && c->buf[c->pos + 1] == '\n')
        c->pos += 2;
}

static int parse_resources(cursor *c, gntp_msg *m, size_t max_size, perr *e)
{
    GPtrArray *ids = g_ptr_array_new();
    collect_resource_ids(m, ids);
    int rc = 0;
    if (ids->len > GNTP_MAX_RESOURCES)
        rc = fail(e, GNTP_E_INVALID_REQUEST, "too many binary resources");
    for (guint i = 0; rc == 0 && i < ids->len; i++) {
        GPtrArray *sec = section_new();
        rc = parse_section(c, sec, true, e);
        if (rc == 0) {
            const char *id = NULL, *len_s = NULL;
            for (guint k = 0; k < sec->len; k++) {
                gntp_header *h = sec->pdata[k];
                if (!g_ascii_strcasecmp(h->name, "Identifier"))
                    id = h->value;
                else if (!g_ascii_strcasecmp(h->name, "Length"))
                    len_s = h->value;
            }
            size_t n = 0;
            if (!id || !*id || !len_s)
                rc = fail(e, GNTP_E_REQUIRED_HEADER_MISSING,
                          "binary section without Identifier or Length");
            else if (parse_length(len_s, max_size, &n) < 0)
                rc = fail(e, GNTP_E_INVALID_REQUEST, "bad binary section Length");
            else if (c->len - c->pos < n)
                rc = c->capped ? fail(e, GNTP_E_INVALID_REQUEST, "message larger than the limit")
                               : GNTP_PARSE_MORE;
            else {
                GBytes *b = g_bytes_new(c->buf + c->pos, n);
                g_hash_table_replace(m->resources, g_strdup(id), b);
                c->pos += n;
                /* The data is followed by a line end and a blank line; a
                 * sender that stops after the data is still complete. */
                skip_eol(c);
                if (i + 1 == ids->len)
                    skip_eol(c);
            }
        }
        g_ptr_array_free(sec, TRUE);
    }
    g_ptr_array_free(ids, TRUE);
    return rc;
}

int gntp__parse(const guint8 *buf, size_t len, bool request, size_t max_size, gntp_msg **out,
                size_t *consumed, int *code, char **err)
{
    *out = NULL;
    *consumed = 0;
    *code = 0;
    *err = NULL;
    perr e = {0, NULL};

    /* Reject what cannot become GNTP as soon as the first bytes show it. */
    static const char magic[] = "GNTP/";
    size_t k = MIN(len, sizeof magic - 1);
    if (g_ascii_strncasecmp((const char *)buf, magic, k) != 0) {
        *code = GNTP_E_UNKNOWN_PROTOCOL;
        *err = g_strdup("not a GNTP message");
        return -1;
    }
    if (max_size == 0)
        max_size = 1;
    cursor c = {buf, MIN(len, max_size), 0, len > max_size};

    gntp_msg *m = g_new0(gntp_msg, 1);
    m->sections = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
    m->resources =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
    const char *l;
    size_t n;
    int rc = next_line(&c, &l, &n);
    if (rc != LINE_OK)
        rc = line_fail(&c, rc, &e);
    else if (memchr(l, '\0', n))
        rc = fail(&e, GNTP_E_INVALID_REQUEST, "NUL byte in the information line");
    else
        rc = parse_info(l, n, m, &e);

    if (rc == 0) {
        GPtrArray *sec = section_new();
        g_ptr_array_add(m->sections, sec);
        rc = parse_section(&c, sec, false, &e);
    }
    if (rc == 0 && request && strcmp(m->type, "REGISTER") == 0) {
        size_t count = 0;
        const char *v = gntp__msg_get(m, 0, "Notifications-Count");
        if (v && parse_length(v, GNTP_MAX_SECTIONS - 1, &count) < 0)
            rc = fail(&e, GNTP_E_INVALID_REQUEST, "bad Notifications-Count '%.16s'", v);
        for (size_t i = 0; rc == 0 && i < count; i++) {
            GPtrArray *s = section_new();
            g_ptr_array_add(m->sections, s);
            rc = parse_section(&c, s, true, &e);
        }
    }
    if (rc == 0 && request)
        rc = parse_resources(&c, m, max_size, &e);

    if (rc == 0) {
        *out = m;
        *consumed = c.pos;
        return 0;
    }
    gntp__msg_free(m);
    if (rc == GNTP_PARSE_MORE) {
        g_free(e.err);
        return GNTP_PARSE_MORE;
    }
    *code = e.code;
    *err = e.err;
    return -1;
}

/* ---- requests as events --------------------------------------------------- */

void growl__event_free(growl_event *ev)
{
    if (!ev)
        return;
    g_free(ev->application);
    g_free(ev->name);
    g_free(ev->id);
    g_free(ev->title);
    g_free(ev->text);
    g_free(ev->icon_url);
    g_free(ev->click);
    if (ev->icon_data)
        g_bytes_unref(ev->icon_data);
    if (ev->notifications)
        g_ptr_array_free(ev->notifications, TRUE);
    if (ev->enabled)
        g_ptr_array_free(ev->enabled, TRUE);
    if (ev->data_headers)
        g_ptr_array_free(ev->data_headers, TRUE);
    g_free(ev);
}

static void set_icon(growl_event *ev, const gntp_msg *m, const char *v)
{
    static const char pfx[] = "x-growl-resource://";
    if (!v || !*v)
        return;
    if (g_ascii_strncasecmp(v, pfx, sizeof pfx - 1) == 0) {
        GBytes *b = g_hash_table_lookup(m->resources, v + sizeof pfx - 1);
        if (b && g_bytes_get_size(b) > 0) {
            if (ev->icon_data)
                g_bytes_unref(ev->icon_data);
            ev->icon_data = g_bytes_ref(b);
        }
        return;
    }
    g_free(ev->icon_url);
    ev->icon_url = growl__utf8_clip(v, 2048);
}

static int check_key(const gntp_msg *m, const char *password, perr *e)
{
    if (g_ascii_strcasecmp(m->encryption, "NONE") != 0)
        return fail(e, GNTP_E_INVALID_REQUEST, "encrypted requests are not supported");
    if (!password || !*password)
        return 0;
    if (!m->hash_alg)
        return fail(e, GNTP_E_NOT_AUTHORIZED, "a password is required");
    if (gntp__hash_from_name(m->hash_alg) <= 0)
        return fail(e, GNTP_E_NOT_AUTHORIZED, "unsupported key hash algorithm");
    if (!gntp__key_verify(m->hash_alg, m->key_hash, m->salt, password))
        return fail(e, GNTP_E_NOT_AUTHORIZED, "wrong password");
    return 0;
}

static const char *need(const gntp_msg *m, guint sec, const char *name, perr *e, int *rc)
{
    const char *v = gntp__msg_get(m, sec, name);
    if ((!v || !*v) && *rc == 0)
        *rc = fail(e, GNTP_E_REQUIRED_HEADER_MISSING, "missing required header %s", name);
    return v;
}

static int to_register(const gntp_msg *m, growl_event *ev, perr *e)
{
    int rc = 0;
    const char *app = need(m, 0, "Application-Name", e, &rc);
    need(m, 0, "Notifications-Count", e, &rc);
    if (rc)
        return rc;
    ev->application = growl__utf8_clip(app, 255);
    ev->notifications = g_ptr_array_new_with_free_func(g_free);
    ev->enabled = g_ptr_array_new_with_free_func(g_free);
    set_icon(ev, m, gntp__msg_get(m, 0, "Application-Icon"));
    for (guint s = 1; s < m->sections->len; s++) {
        const char *name = need(m, s, "Notification-Name", e, &rc);
        if (rc)
            return rc;
        g_ptr_array_add(ev->notifications, growl__utf8_clip(name, 255));
        if (gntp__parse_bool(gntp__msg_get(m, s, "Notification-Enabled"), false))
            g_ptr_array_add(ev->enabled, growl__utf8_clip(name, 255));
    }
    return 0;
}

static int to_notify(const gntp_msg *m, growl_event *ev, perr *e)
{
    int rc = 0;
    const char *app = need(m, 0, "Application-Name", e, &rc);
    const char *name = need(m, 0, "Notification-Name", e, &rc);
    const char *title = gntp__msg_get(m, 0, "Notification-Title");
    if (!title && rc == 0)
        rc = fail(e, GNTP_E_REQUIRED_HEADER_MISSING, "missing required header %s",
                  "Notification-Title");
    if (rc)
        return rc;
    ev->application = growl__utf8_clip(app, 255);
    ev->name = growl__utf8_clip(name, 255);
    ev->title = growl__utf8_clip(title, 4096);
    const char *text = gntp__msg_get(m, 0, "Notification-Text");
    ev->text = growl__utf8_clip(text ? text : "", 65536);
    const char *id = gntp__msg_get(m, 0, "Notification-ID");
    ev->id = id ? growl__utf8_clip(id, 255) : NULL;
    const char *prio = gntp__msg_get(m, 0, "Notification-Priority");
    if (prio) {
        char *end = NULL;
        long p = strtol(prio, &end, 10);
        ev->priority = (end && end != prio) ? (int)CLAMP(p, -2, 2) : 0;
    }
    ev->sticky = gntp__parse_bool(gntp__msg_get(m, 0, "Notification-Sticky"), false);
    set_icon(ev, m, gntp__msg_get(m, 0, "Notification-Icon"));
    /* A URL to open when the notification is clicked (Growl opens it in
     * the browser); other schemes (file:, a program...) are not followed. */
    const char *target = gntp__msg_get(m, 0, "Notification-Callback-Target");
    if (target && (g_ascii_strncasecmp(target, "http://", 7) == 0 ||
                   g_ascii_strncasecmp(target, "https://", 8) == 0))
        ev->click = growl__utf8_clip(target, 2048);
    ev->data_headers = g_ptr_array_new_with_free_func((GDestroyNotify)header_free);
    GPtrArray *sec = m->sections->pdata[0];
    for (guint i = 0; i < sec->len; i++) {
        gntp_header *h = sec->pdata[i];
        if (g_ascii_strncasecmp(h->name, "Data-", 5) != 0 || ev->data_headers->len >= 32)
            continue;
        gntp_header *c = g_new0(gntp_header, 1);
        c->name = growl__utf8_clip(h->name, 255);
        c->value = growl__utf8_clip(h->value, 4096);
        g_ptr_array_add(ev->data_headers, c);
    }
    return 0;
}

int gntp__request_to_event(const gntp_msg *m, const char *password, growl_event **out, int *code,
                           char **err)
{
    *out = NULL;
    *code = 0;
    *err = NULL;
    perr e = {0, NULL};
    int rc = check_key(m, password, &e);
    growl_event *ev = g_new0(growl_event, 1);
    if (rc == 0) {
        if (strcmp(m->type, "REGISTER") == 0) {
            ev->kind = GROWL_EV_REGISTER;
            rc = to_register(m, ev, &e);
        } else if (strcmp(m->type, "NOTIFY") == 0) {
            ev->kind = GROWL_EV_NOTIFY;
            rc = to_notify(m, ev, &e);
        } else {
            rc = fail(&e, GNTP_E_INVALID_REQUEST, "unsupported request type %.32s", m->type);
        }
    }
    if (rc) {
        growl__event_free(ev);
        *code = e.code;
        *err = e.err;
        return -1;
    }
    *out = ev;
    return 0;
}
