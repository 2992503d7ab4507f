/* fo_config.c - fileobserver config: keys, path expansion, glob split.
 *
 * "path" is a glob; "~", "~user", $VAR and ${VAR} are expanded here rather
 * than with wordexp(), which would also split words at spaces and run its
 * own globbing. The expanded glob must be absolute. Its leading components
 * without wildcards form the base directory; the rest are matched with
 * fnmatch(FNM_PERIOD) one component at a time, so only the directories the
 * glob can reach are ever watched.
 */
#include <errno.h>
#include <fnmatch.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fo.h"

#define FO_DEBOUNCE_DEFAULT 100
#define FO_DEBOUNCE_MAX     60000

static const char *const event_names[3] = {"created", "modified", "removed"};

bool fo__name_matches(const char *pattern, const char *name)
{
    return fnmatch(pattern, name, FNM_PERIOD) == 0;
}

static bool is_var_start(char c)
{
    return g_ascii_isalpha(c) || c == '_';
}

static bool expand_home(const char *in, GString *out, const char **rest, char **error)
{
    const char *end = strchr(in + 1, '/');
    size_t ulen = end ? (size_t)(end - in - 1) : strlen(in + 1);
    if (ulen == 0) {
        const char *home = getenv("HOME");
        if (!home || !*home)
            home = g_get_home_dir();
        g_string_append(out, home);
    } else {
        char *user = g_strndup(in + 1, ulen);
        struct passwd pw, *res = NULL;
        char buf[4096];
        getpwnam_r(user, &pw, buf, sizeof(buf), &res);
        if (!res) {
            *error = g_strdup_printf("key 'path': unknown user \"~%s\"", user);
            g_free(user);
            return false;
        }
        g_free(user);
        g_string_append(out, pw.pw_dir);
    }
    *rest = in + 1 + ulen;
    return true;
}

char *fo__path_expand(const char *in, char **error)
{
    GString *out = g_string_new(NULL);
    const char *p = in;
    if (*p == '~' && !expand_home(p, out, &p, error)) {
        g_string_free(out, TRUE);
        return NULL;
    }
    while (*p) {
        if (p[0] == '\\' && p[1] == '$') {
            g_string_append_c(out, '$');
            p += 2;
            continue;
        }
        if (*p != '$' || !(is_var_start(p[1]) || p[1] == '{')) {
            g_string_append_c(out, *p++);
            continue;
        }
        const char *name = p + 1, *end;
        bool braced = *name == '{';
        if (braced) {
            name++;
            end = strchr(name, '}');
            if (!end || end == name) {
                *error = g_strdup_printf("key 'path': unterminated or empty ${...} in \"%s\"", in);
                g_string_free(out, TRUE);
                return NULL;
            }
        } else {
            for (end = name; g_ascii_isalnum(*end) || *end == '_'; end++)
                ;
        }
        char *var = g_strndup(name, (size_t)(end - name));
        const char *val = getenv(var);
        if (!val) {
            *error = g_strdup_printf("key 'path': environment variable %s is not set", var);
            g_free(var);
            g_string_free(out, TRUE);
            return NULL;
        }
        g_string_append(out, val);
        g_free(var);
        p = braced ? end + 1 : end;
    }
    return g_string_free(out, FALSE);
}

static bool has_wildcard(const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' && s[1]) {
            s++;
            continue;
        }
        if (*s == '*' || *s == '?' || *s == '[')
            return true;
    }
    return false;
}

static char *unescape(const char *s)
{
    char *r = g_malloc(strlen(s) + 1), *w = r;
    for (; *s; s++) {
        if (*s == '\\' && s[1])
            s++;
        *w++ = *s;
    }
    *w = '\0';
    return r;
}

/* Split the absolute glob @pat into base + comps. "." and ".." are
 * resolved textually; a trailing '/' or an existing directory without
 * wildcards means "every file in it". */
static int split_glob(const bmq_host *host, const char *pat, fo_config *out, char **error)
{
    GPtrArray *parts = g_ptr_array_new_with_free_func(g_free);
    char **raw = g_strsplit(pat, "/", -1);
    for (char **r = raw; *r; r++) {
        if (!**r || !strcmp(*r, "."))
            continue;
        if (!strcmp(*r, "..")) {
            if (parts->len)
                g_ptr_array_remove_index(parts, parts->len - 1);
            continue;
        }
        g_ptr_array_add(parts, g_strdup(*r));
    }
    g_strfreev(raw);
    bool dir_only = g_str_has_suffix(pat, "/");
    if (!dir_only) {
        bool wild = false;
        for (guint i = 0; i < parts->len; i++)
            wild = wild || has_wildcard(parts->pdata[i]);
        if (!wild) {
            GString *lit = g_string_new("/");
            for (guint i = 0; i < parts->len; i++) {
                char *u = unescape(parts->pdata[i]);
                g_string_append_printf(lit, "%s%s", i ? "/" : "", u);
                g_free(u);
            }
            dir_only = g_file_test(lit->str, G_FILE_TEST_IS_DIR);
            if (dir_only)
                host->log(host, BMQ_LOG_INFO,
                          "\"path\" %s is a directory: watching every file in it", lit->str);
            g_string_free(lit, TRUE);
        }
    }
    if (dir_only || parts->len == 0)
        g_ptr_array_add(parts, g_strdup("*"));

    guint nbase = 0;
    while (nbase + 1 < parts->len && !has_wildcard(parts->pdata[nbase]))
        nbase++;
    GString *base = g_string_new("/");
    for (guint i = 0; i < nbase; i++) {
        char *u = unescape(parts->pdata[i]);
        g_string_append_printf(base, "%s%s", i ? "/" : "", u);
        g_free(u);
    }
    out->base = g_string_free(base, FALSE);
    out->ncomps = (int)(parts->len - nbase);
    out->comps = g_new0(char *, out->ncomps + 1);
    for (int i = 0; i < out->ncomps; i++)
        out->comps[i] = g_strdup(parts->pdata[nbase + i]);
    g_ptr_array_free(parts, TRUE);
    (void)error;
    return 0;
}

static const char *const known_keys[] = {"path", "recursive", "debounce_ms", "events", NULL};

static int parse_events(char **names, unsigned *mask, char **error)
{
    *mask = 0;
    for (char **n = names; *n; n++) {
        unsigned bit = 0;
        for (int k = 0; k < 3; k++)
            if (!strcmp(*n, event_names[k]))
                bit = 1u << k;
        if (!bit) {
            *error = g_strdup_printf("key 'events': unknown event \"%s\" (known: created, "
                                     "modified, removed)",
                                     *n);
            return -BMQ_EINVAL;
        }
        *mask |= bit;
    }
    return 0;
}

int fo__config_parse(const bmq_host *host, json_object *config, fo_config *out, char **error)
{
    memset(out, 0, sizeof(*out));
    out->events = FO_EV_ALL;
    /* Unknown keys are only logged: a typo shows without stopping the watch. */
    char *unknown = NULL;
    int rc = bmq_config_check_keys(config, known_keys, &unknown);
    if (rc == -BMQ_ETYPE) {
        *error = unknown;
        return rc;
    }
    if (rc) {
        host->log(host, BMQ_LOG_WARNING, "%s: ignored", unknown);
        g_free(unknown);
    }
    char *path = NULL;
    char **events = NULL;
    int64_t debounce = FO_DEBOUNCE_DEFAULT;
    if ((rc = bmq_config_get_string(config, "path", BMQ_CONFIG_REQUIRED | BMQ_CONFIG_NONEMPTY,
                                    &path, error)) ||
        (rc = bmq_config_get_bool(config, "recursive", 0, &out->recursive, error)) ||
        (rc = bmq_config_get_int(config, "debounce_ms", 0, 0, FO_DEBOUNCE_MAX, &debounce, error)) ||
        (rc = bmq_config_get_strv(config, "events", BMQ_CONFIG_NONEMPTY, &events, error)) ||
        (events && (rc = parse_events(events, &out->events, error)))) {
        g_free(path);
        g_strfreev(events);
        return rc;
    }
    g_strfreev(events);
    out->debounce_ms = (int)debounce;
    char *pat = fo__path_expand(path, error);
    g_free(path);
    if (!pat)
        return -BMQ_EINVAL;
    if (pat[0] != '/') {
        *error = g_strdup_printf("key 'path': expected an absolute glob after expansion (start "
                                 "with / or ~), got \"%s\"",
                                 pat);
        g_free(pat);
        return -BMQ_EINVAL;
    }
    out->pattern = pat;
    return split_glob(host, out->pattern, out, error);
}

void fo__config_clear(fo_config *c)
{
    g_free(c->pattern);
    g_free(c->base);
    g_strfreev(c->comps);
    memset(c, 0, sizeof(*c));
}
