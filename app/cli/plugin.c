/* plugin.c - `berrymq plugin list|install|remove|enable|disable`.
 *
 * install never loads an untrusted shared object into this process: a
 * forked child loads libberrymq and runs bmq_plugin_check_file on it, and
 * reports back through a pipe, so a plugin that crashes or hangs while
 * being loaded costs only the child. The file is then copied next to its
 * final name and renamed over it, so a hub scanning the directory never
 * sees half a file.
 */
#include "cli.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PLUGIN_TIMEOUT_S 15.0
#define CHECK_TIMEOUT_MS 10000

typedef int (*check_fn)(const char *path, char **name, char **version, char **error);

static bool valid_name(const char *s)
{
    if (!*s || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return false;
    return true;
}

/* $XDG_DATA_HOME/berrymq/plugins (or ~/.local/share/...) into @out. */
static bool plugin_dir(char *out, size_t size)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg && xdg[0] == '/')
        return (size_t)snprintf(out, size, "%s/berrymq/plugins", xdg) < size;
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (!home)
        return false;
    return (size_t)snprintf(out, size, "%s/.local/share/berrymq/plugins", home) < size;
}

static int mkdir_p(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int r = mkdir(path, 0755);
        *p = '/';
        if (r < 0 && errno != EEXIST)
            return -1;
    }
    return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* Load libberrymq by full path: next to the binary as installed
 * (bin/../lib), else the build tree it was built in, else the configured
 * libdir, else the loader's search path. Full paths, because a sanitizer
 * runtime that intercepts dlopen loses the executable's RUNPATH. */
static void *load_libberrymq(char *why, size_t size)
{
    char exe[PATH_MAX], cand[PATH_MAX + 64];
    const char *dirs[3] = {NULL, BMQ_CLI_BUILD_LIBDIR, BMQ_CLI_LIBDIR};
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(cand, sizeof cand, "%s/%s", exe, BMQ_CLI_BIN_TO_LIB);
            dirs[0] = cand;
        }
    }
    for (int i = 0; i < 3; i++) {
        char path[PATH_MAX + 128];
        if (!dirs[i] || !*dirs[i])
            continue;
        snprintf(path, sizeof path, "%s/%s", dirs[i], BMQ_CLI_LIBBERRYMQ);
        if (access(path, R_OK) != 0)
            continue;
        void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (lib)
            return lib;
        snprintf(why, size, "%s", dlerror());
        return NULL;
    }
    void *lib = dlopen(BMQ_CLI_LIBBERRYMQ, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        snprintf(why, size, "%s", dlerror());
    return lib;
}

/* Child side: check @path, write "OK\nname\nversion\n" or "ERR\ntext\n". */
static void check_child(const char *path, int fd)
{
    char line[2048], why[1024] = "";
    void *lib = load_libberrymq(why, sizeof why);
    check_fn check = lib ? (check_fn)dlsym(lib, "bmq_plugin_check_file") : NULL;
    if (!check) {
        snprintf(line, sizeof line, "ERR\ncannot load %s: %s\n", BMQ_CLI_LIBBERRYMQ,
                 lib ? dlerror() : why);
    } else {
        char *name = NULL, *version = NULL, *error = NULL;
        int rc = check(path, &name, &version, &error);
        if (rc == 0)
            snprintf(line, sizeof line, "OK\n%s\n%s\n", name ? name : "", version ? version : "");
        else
            snprintf(line, sizeof line, "ERR\n%s\n", error ? error : "not a berryMQ plugin");
        /* The child exits right away; the allocator that made these strings
         * belongs to libberrymq, so they are left to the exit. */
    }
    size_t n = strlen(line);
    while (n > 0) {
        ssize_t w = write(fd, line, n);
        if (w <= 0)
            break;
        n -= (size_t)w;
    }
    _exit(0);
}

/* Check @path in a child. 0 with @name/@version filled, or CLI_EUSAGE with
 * the reason printed. */
static int check_plugin(const char *path, char *name, size_t nsize, char *version, size_t vsize)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        cli__err("pipe: %s", strerror(errno));
        return CLI_EUSAGE;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        cli__err("fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return CLI_EUSAGE;
    }
    if (pid == 0) {
        close(fds[0]);
        check_child(path, fds[1]);
    }
    close(fds[1]);
    char out[4096];
    size_t len = 0;
    bool timed_out = false;
    for (;;) {
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        int r = poll(&p, 1, CHECK_TIMEOUT_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        ssize_t n = read(fds[0], out + len, sizeof out - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == sizeof out - 1)
            break;
    }
    out[len] = '\0';
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (timed_out) {
        cli__err("%s: not installed: loading it did not finish within %d s", path,
                 CHECK_TIMEOUT_MS / 1000);
        return CLI_EUSAGE;
    }
    if (WIFSIGNALED(status)) {
        cli__err("%s: not installed: it crashed while being loaded (%s)", path,
                 strsignal(WTERMSIG(status)));
        return CLI_EUSAGE;
    }
    char *l1 = out, *l2 = strchr(l1, '\n'), *l3 = l2 ? strchr(l2 + 1, '\n') : NULL;
    char *l4 = l3 ? strchr(l3 + 1, '\n') : NULL;
    if (l2 && strncmp(out, "ERR\n", 4) == 0) {
        if (l3)
            *l3 = '\0';
        cli__err("%s: not installed: %s", path, l2 + 1);
        return CLI_EUSAGE;
    }
    if (strncmp(out, "OK\n", 3) != 0 || !l3 || !l4) {
        cli__err("%s: not installed: the check ended without an answer (exit status %d)", path,
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return CLI_EUSAGE;
    }
    *l3 = *l4 = '\0';
    snprintf(name, nsize, "%s", l2 + 1);
    snprintf(version, vsize, "%s", l3 + 1);
    return CLI_OK;
}

/* Copy @src to @dst through a temporary file in the same directory. */
static int copy_atomic(const char *src, const char *dst)
{
    char tmp[PATH_MAX];
    int in = -1, out = -1, rc = -1;
    char data[65536];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.XXXXXX", dst) >= sizeof tmp)
        return -1;
    in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    out = mkostemp(tmp, O_CLOEXEC);
    if (out < 0)
        goto done;
    for (;;) {
        ssize_t n = read(in, data, sizeof data);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto done;
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, data + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                goto done;
            off += w;
        }
    }
    if (fchmod(out, 0755) < 0 || fsync(out) < 0)
        goto done;
    if (close(out) < 0) {
        out = -1;
        goto done;
    }
    out = -1;
    if (rename(tmp, dst) < 0)
        goto done;
    rc = 0;
done : {
    int saved = errno;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    if (rc < 0)
        unlink(tmp);
    errno = saved;
}
    return rc;
}

static int plugin_list(cli_ctx *ctx, bool as_json)
{
    json_object *res = NULL;
    int rc = cli__call(ctx, "hub.plugins", NULL, PLUGIN_TIMEOUT_S, &res);
    if (rc != CLI_OK)
        return rc;
    if (as_json) {
        printf("%s\n", json_object_to_json_string_ext(res, JSON_C_TO_STRING_PRETTY |
                                                               JSON_C_TO_STRING_SPACED |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(res);
        return CLI_OK;
    }
    json_object *inst = NULL, *avail = NULL;
    json_object_object_get_ex(res, "instances", &inst);
    json_object_object_get_ex(res, "available", &avail);
    size_t ni = json_object_is_type(inst, json_type_array) ? json_object_array_length(inst) : 0;
    size_t na = json_object_is_type(avail, json_type_array) ? json_object_array_length(avail) : 0;
    printf("instances: %zu\n", ni);
    cli__print_instances(inst, stdout);
    printf("available: %zu\n", na);
    for (size_t i = 0; i < na; i++) {
        json_object *a = json_object_array_get_idx(avail, i), *v;
        const char *f[4] = {"?", "", "", ""};
        static const char *const keys[4] = {"name", "version", "description", "path"};
        for (int k = 0; k < 4; k++)
            if (json_object_object_get_ex(a, keys[k], &v) &&
                json_object_is_type(v, json_type_string))
                f[k] = json_object_get_string(v);
        printf("  %-16s %-10s %s%s%s%s\n", f[0], f[1], f[2], *f[3] ? " (" : "", f[3],
               *f[3] ? ")" : "");
    }
    json_object_put(res);
    return CLI_OK;
}

/* Ask the hub to create an instance from @path. -1: hub not running. */
static int load_into_hub(cli_ctx *ctx, const char *path, const char *name, const char *id,
                         json_object *config)
{
    json_object *params = json_object_new_array();
    json_object_array_add(params, json_object_new_string(path));
    json_object_array_add(params, json_object_new_string(id ? id : name));
    json_object_array_add(params, config ? json_object_get(config) : json_object_new_object());
    json_object *res = NULL;
    char *errtext = NULL;
    cli_rpc_status st = cli__rpc(ctx, "hub.load", params, PLUGIN_TIMEOUT_S, &res, &errtext);
    int rc = CLI_OK;
    if (st == CLI_RPC_UNREACHABLE) {
        rc = -1;
    } else if (st == CLI_RPC_ERROR) {
        cli__err("%s is installed but the hub did not load it: %s", name, errtext);
        rc = CLI_EREJECT;
    } else if (st != CLI_RPC_OK) {
        rc = cli__report(ctx, st, errtext);
    } else {
        json_object *state = NULL;
        json_object_object_get_ex(res, "state", &state);
        printf("loaded instance %s (%s)\n", id ? id : name,
               state ? json_object_get_string(state) : "running");
    }
    json_object_put(res);
    free(errtext);
    return rc;
}

static int plugin_install(cli_ctx *ctx, const char *file, const char *id, const char *config_json,
                          bool load)
{
    const char *cmd = "plugin";
    json_object *config = NULL;
    if (config_json && !(config = cli__json_parse_typed(config_json, json_type_object)))
        return cli__usage(cmd, "--config needs a JSON object, got '%s'", config_json);
    if (id && !*id) {
        json_object_put(config);
        return cli__usage(cmd, "--id must not be empty");
    }
    char src[PATH_MAX];
    struct stat sst;
    if (!realpath(file, src) || stat(src, &sst) < 0 || !S_ISREG(sst.st_mode)) {
        cli__err("%s: %s", file, errno ? strerror(errno) : "not a regular file");
        json_object_put(config);
        return CLI_EUSAGE;
    }
    char name[128], version[128];
    int rc = check_plugin(src, name, sizeof name, version, sizeof version);
    if (rc != CLI_OK) {
        json_object_put(config);
        return rc;
    }
    if (!valid_name(name)) {
        cli__err("%s: not installed: plugin name '%s' is not [a-z0-9_-]+", file, name);
        json_object_put(config);
        return CLI_EUSAGE;
    }
    char dir[PATH_MAX], dst[PATH_MAX + 160];
    if (!plugin_dir(dir, sizeof dir) || mkdir_p(dir) < 0) {
        cli__err("cannot create the plugin directory %s: %s", dir, strerror(errno));
        json_object_put(config);
        return CLI_EUSAGE;
    }
    snprintf(dst, sizeof dst, "%s/%s.so", dir, name);
    struct stat dstst;
    bool same = stat(dst, &dstst) == 0 && dstst.st_dev == sst.st_dev && dstst.st_ino == sst.st_ino;
    if (!same && copy_atomic(src, dst) < 0) {
        cli__err("cannot copy %s to %s: %s", file, dst, strerror(errno));
        json_object_put(config);
        return CLI_EUSAGE;
    }
    printf("installed %s %s to %s\n", name, version, dst);
    fflush(stdout);
    if (load) {
        rc = load_into_hub(ctx, dst, name, id, config);
        if (rc < 0) {
            printf("not loaded: hub not running at %s\n", ctx->hostport);
            rc = CLI_OK;
        }
    }
    json_object_put(config);
    return rc;
}

/* An instance's "plugin" is the plugin's name, or the path it was loaded
 * from while it is not running. */
static bool plugin_matches(const char *plugin, const char *name)
{
    if (strcmp(plugin, name) == 0)
        return true;
    const char *base = strrchr(plugin, '/');
    size_t n = strlen(name);
    return base && strncmp(base + 1, name, n) == 0 && strcmp(base + 1 + n, ".so") == 0;
}

static int plugin_remove(cli_ctx *ctx, const char *name)
{
    if (!valid_name(name))
        return cli__usage("plugin", "'%s' is not a plugin name ([a-z0-9_-]+)", name);
    char dir[PATH_MAX], path[PATH_MAX + 160];
    if (!plugin_dir(dir, sizeof dir)) {
        cli__err("cannot find the plugin directory (no HOME)");
        return CLI_EUSAGE;
    }
    snprintf(path, sizeof path, "%s/%s.so", dir, name);
    /* Only what the user installed: never unload instances of a plugin
     * that lives elsewhere (the system's) because of a typo. */
    if (access(path, F_OK) != 0) {
        cli__err("plugin %s is not installed (no %s)", name, path);
        return CLI_EUSAGE;
    }
    /* Unload first: a running instance keeps the code mapped anyway, but
     * removing the file under it would leave the hub listing a ghost. */
    json_object *res = NULL, *inst = NULL;
    char *errtext = NULL;
    cli_rpc_status st = cli__rpc(ctx, "hub.plugins", NULL, PLUGIN_TIMEOUT_S, &res, &errtext);
    if (st != CLI_RPC_OK && st != CLI_RPC_UNREACHABLE) {
        int rc = cli__report(ctx, st, errtext);
        free(errtext);
        return rc;
    }
    free(errtext);
    json_object_object_get_ex(res, "instances", &inst);
    size_t n = json_object_is_type(inst, json_type_array) ? json_object_array_length(inst) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *in = json_object_array_get_idx(inst, i), *p = NULL, *id = NULL;
        if (!json_object_object_get_ex(in, "plugin", &p) || !json_object_get_string(p) ||
            !plugin_matches(json_object_get_string(p), name) ||
            !json_object_object_get_ex(in, "id", &id))
            continue;
        json_object *params = json_object_new_array(), *ok = NULL;
        json_object_array_add(params, json_object_get(id));
        int rc = cli__call(ctx, "hub.unload", params, PLUGIN_TIMEOUT_S, &ok);
        json_object_put(ok);
        if (rc != CLI_OK) {
            json_object_put(res);
            return rc;
        }
        printf("unloaded instance %s\n", json_object_get_string(id));
    }
    json_object_put(res);
    if (unlink(path) < 0 && errno != ENOENT) {
        cli__err("cannot remove %s: %s", path, strerror(errno));
        return CLI_EUSAGE;
    }
    printf("removed %s\n", path);
    return CLI_OK;
}

static int plugin_toggle(cli_ctx *ctx, const char *method, const char *id)
{
    json_object *params = json_object_new_array(), *res = NULL;
    json_object_array_add(params, json_object_new_string(id));
    int rc = cli__call(ctx, method, params, PLUGIN_TIMEOUT_S, &res);
    json_object_put(res);
    return rc;
}

int cli__cmd_plugin(cli_ctx *ctx, int argc, char **argv)
{
    enum { OPT_ID = 0x3001, OPT_CONFIG, OPT_NOLOAD, OPT_JSON };
    static const struct option longopts[] = {
        CLI_COMMON_LONGOPTS,
        {"id", required_argument, NULL, OPT_ID},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"no-load", no_argument, NULL, OPT_NOLOAD},
        {"json", no_argument, NULL, OPT_JSON},
        {0},
    };
    const char *cmd = "plugin";
    const char *id = NULL, *config = NULL;
    bool load = true, as_json = false;
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        int r = cli__common_opt(ctx, opt, optarg);
        if (r < 0)
            return CLI_EUSAGE;
        if (r > 0)
            continue;
        switch (opt) {
        case 'h':
        case CLI_OPT_HELP:
            cli__help(cmd, stdout);
            return CLI_OK;
        case OPT_ID:
            id = optarg;
            break;
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_NOLOAD:
            load = false;
            break;
        case OPT_JSON:
            as_json = true;
            break;
        default:
            return cli__opt_error(cmd, opt, argv);
        }
    }
    if (optind >= argc)
        return cli__usage(cmd, "missing subcommand: list, install, remove, enable or disable");
    const char *sub = argv[optind++];
    int nargs = argc - optind;
    const char *arg = nargs > 0 ? argv[optind] : NULL;
    bool is_install = strcmp(sub, "install") == 0;
    if (!is_install && (id || config || !load))
        return cli__usage(cmd, "--id, --config and --no-load go with 'plugin install'");
    if (as_json && strcmp(sub, "list") != 0)
        return cli__usage(cmd, "--json goes with 'plugin list'");
    if (strcmp(sub, "list") == 0) {
        if (nargs != 0)
            return cli__usage(cmd, "'plugin list' takes no argument");
        return plugin_list(ctx, as_json);
    }
    static const char *const one_arg[][2] = {
        {"install", "FILE.so"}, {"remove", "NAME"}, {"enable", "ID"}, {"disable", "ID"}};
    for (size_t i = 0; i < sizeof one_arg / sizeof one_arg[0]; i++) {
        if (strcmp(sub, one_arg[i][0]) != 0)
            continue;
        if (nargs != 1)
            return cli__usage(cmd, "'plugin %s' takes one %s", sub, one_arg[i][1]);
        if (is_install)
            return plugin_install(ctx, arg, id, config, load);
        if (strcmp(sub, "remove") == 0)
            return plugin_remove(ctx, arg);
        int rc = plugin_toggle(ctx, strcmp(sub, "enable") == 0 ? "hub.enable" : "hub.disable", arg);
        if (rc == CLI_OK)
            printf("%sd %s\n", sub, arg);
        return rc;
    }
    return cli__usage(cmd, "unknown subcommand '%s'", sub);
}
