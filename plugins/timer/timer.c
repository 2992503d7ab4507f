/* timer.c - the "timer" plugin: sends "ID:ACTION" every interval seconds.
 *
 * Config: {"interval": seconds (> 0, fractional allowed), "count": N
 * (optional, positive integer), "action": "tick"}. Each message carries
 * kwargs {"seq": n (1-based), "time": unix seconds}; "missed": k is added
 * when the main loop was blocked across k deadlines. The messages
 * "ID:stop" and "ID:start" stop the ticks and restart the schedule.
 *
 * Ticks come from a CLOCK_MONOTONIC timerfd armed with an absolute first
 * deadline and a period, so the kernel schedules tick n at start + n *
 * interval: lateness of one dispatch never shifts later ticks. The fd is a
 * GSource on the host context; between ticks nothing of ours runs.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <glib-unix.h>

#include <berrymq/plugin.h>

/* Shorter periods would turn the hub into a message pump, not a timer. */
#define TIMER_MIN_INTERVAL 0.001
#define TIMER_MAX_INTERVAL (86400.0 * 365 * 100)

typedef struct timer_config {
    double interval; /* seconds */
    int64_t count;   /* 0 = unlimited */
    char *action;    /* (transfer full) */
} timer_config;

typedef struct timer_inst {
    const bmq_host *host; /* (transfer none) valid until destroy returns */
    timer_config cfg;
    char *id;                 /* (transfer full) "INSTANCE:ACTION" */
    json_object *config_copy; /* (transfer full) last applied config */
    int fd;                   /* timerfd */
    guint source_id;
    bmq_follower *ctl[2]; /* (transfer none) ID:stop, ID:start; owned by the host */
    int64_t seq;          /* ticks sent so far (including missed ones) */
    bool running;
} timer_inst;

static void config_clear(timer_config *c)
{
    g_free(c->action);
    c->action = NULL;
}

/* An action is the part after ':' of an identifier: no wildcard, no
 * separator, no whitespace or control characters. */
static bool action_valid(const char *a)
{
    if (!*a || strlen(a) > 64)
        return false;
    for (const char *p = a; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c == 0x7f || c == ':' || c == '@' || c == '*')
            return false;
    }
    return true;
}

static const char *const known_keys[] = {"interval", "count", "action", NULL};

/* Parse @config into @out. Returns 0 or -BMQ_EINVAL/-BMQ_ETYPE with
 * *error naming the offending key. Unknown keys are only logged: a typo
 * shows in the log without stopping the ticks. */
static int config_parse(const bmq_host *host, json_object *config, timer_config *out, char **error)
{
    memset(out, 0, sizeof(*out));
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
    char *action = g_strdup("tick");
    if ((rc = bmq_config_get_double(config, "interval", BMQ_CONFIG_REQUIRED, TIMER_MIN_INTERVAL,
                                    TIMER_MAX_INTERVAL, &out->interval, error)) ||
        (rc = bmq_config_get_int(config, "count", 0, 1, INT64_MAX, &out->count, error)) ||
        (rc = bmq_config_get_string(config, "action", 0, &action, error))) {
        g_free(action);
        return rc;
    }
    if (!action_valid(action)) {
        *error = g_strdup("key 'action': expected an identifier action (no ':', '@', '*' or "
                          "spaces)");
        g_free(action);
        return -BMQ_EINVAL;
    }
    if (!strcmp(action, "stop") || !strcmp(action, "start")) {
        *error = g_strdup_printf("key 'action': \"%s\" is reserved: ID:stop and ID:start "
                                 "control the timer",
                                 action);
        g_free(action);
        return -BMQ_EINVAL;
    }
    out->action = action;
    return 0;
}

static struct timespec ts_from_seconds(double s)
{
    struct timespec ts;
    double whole = floor(s);
    ts.tv_sec = (time_t)whole;
    ts.tv_nsec = (long)llround((s - whole) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* (Re)start the schedule: tick n at now + n * interval. */
static int schedule_start(timer_inst *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    struct itimerspec its;
    its.it_interval = ts_from_seconds(t->cfg.interval);
    its.it_value.tv_sec = now.tv_sec + its.it_interval.tv_sec;
    its.it_value.tv_nsec = now.tv_nsec + its.it_interval.tv_nsec;
    if (its.it_value.tv_nsec >= 1000000000L) {
        its.it_value.tv_sec++;
        its.it_value.tv_nsec -= 1000000000L;
    }
    if (timerfd_settime(t->fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        return -errno;
    t->seq = 0;
    t->running = true;
    return 0;
}

static void schedule_stop(timer_inst *t)
{
    struct itimerspec off;
    memset(&off, 0, sizeof(off));
    timerfd_settime(t->fd, 0, &off, NULL);
    t->running = false;
}

static gboolean on_timerfd(gint fd, GIOCondition cond, gpointer data)
{
    timer_inst *t = data;
    uint64_t expirations = 0;
    ssize_t n = read(fd, &expirations, sizeof(expirations));
    if (n != (ssize_t)sizeof(expirations) || expirations == 0 || !t->running)
        return G_SOURCE_CONTINUE; /* EAGAIN after a re-arm, or disarmed meanwhile */

    int64_t missed = (int64_t)expirations - 1;
    t->seq += (int64_t)expirations;
    if (t->cfg.count > 0 && t->seq >= t->cfg.count) {
        missed -= t->seq - t->cfg.count;
        if (missed < 0)
            missed = 0;
        t->seq = t->cfg.count;
        schedule_stop(t);
    }
    json_object *kw = json_object_new_object();
    json_object_object_add(kw, "seq", json_object_new_int64(t->seq));
    json_object_object_add(kw, "time", json_object_new_double(g_get_real_time() / 1e6));
    if (missed > 0)
        json_object_object_add(kw, "missed", json_object_new_int64(missed));
    int rc = t->host->twitter(t->host, t->id, NULL, kw);
    if (rc < 0)
        t->host->log(t->host, BMQ_LOG_WARNING, "sending %s failed: %s", t->id, bmq_strerror(rc));
    return G_SOURCE_CONTINUE;
}

/* Only the exact action: a broadcast "ID:*" must not stop the timer. */
static bool ctl_guard(const bmq_message *m, void *data)
{
    const char *a = bmq_message_action(m);
    return !strcmp(a, "stop") || !strcmp(a, "start");
}

static int schedule_start(timer_inst *t);
static void schedule_stop(timer_inst *t);

static void on_control(const bmq_message *m, void *data)
{
    timer_inst *t = data;
    if (!strcmp(bmq_message_action(m), "stop")) {
        if (t->running)
            t->host->log(t->host, BMQ_LOG_INFO, "stopped at seq %" G_GINT64_FORMAT, t->seq);
        schedule_stop(t);
    } else if (schedule_start(t) == 0) {
        t->host->log(t->host, BMQ_LOG_INFO, "started: every %g s", t->cfg.interval);
    }
}

static void control_follow(timer_inst *t)
{
    static const char *const acts[2] = {"stop", "start"};
    for (int i = 0; i < 2; i++) {
        if (t->ctl[i])
            t->host->unfollow(t->host, t->ctl[i]);
        char *pat = g_strdup_printf("%s:%s", t->host->instance_id, acts[i]);
        t->ctl[i] = t->host->follow(t->host, pat, on_control, ctl_guard, t, BMQ_FOLLOW_MAIN_THREAD);
        g_free(pat);
    }
}

static void tmr_apply(timer_inst *t, timer_config *cfg, json_object *config)
{
    config_clear(&t->cfg);
    t->cfg = *cfg;
    memset(cfg, 0, sizeof(*cfg));
    g_free(t->id);
    t->id = g_strdup_printf("%s:%s", t->host->instance_id, t->cfg.action);
    json_object_put(t->config_copy);
    t->config_copy = config ? json_object_get(config) : NULL;
}

static void *tmr_create(const bmq_host *host, json_object *config, char **error)
{
    timer_config cfg;
    if (config_parse(host, config, &cfg, error) < 0) {
        config_clear(&cfg);
        return NULL;
    }
    timer_inst *t = g_new0(timer_inst, 1);
    t->host = host;
    t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (t->fd < 0) {
        *error = g_strdup_printf("timerfd_create: %s", g_strerror(errno));
        config_clear(&cfg);
        g_free(t);
        return NULL;
    }
    tmr_apply(t, &cfg, config);
    GSource *src = g_unix_fd_source_new(t->fd, G_IO_IN);
    g_source_set_callback(src, G_SOURCE_FUNC(on_timerfd), t, NULL);
    g_source_set_name(src, "berrymq timer");
    t->source_id = host->source_attach(host, src);
    g_source_unref(src);
    int rc = schedule_start(t);
    if (rc < 0) {
        *error = g_strdup_printf("timerfd_settime: %s", g_strerror(-rc));
        host->source_remove(host, t->source_id);
        close(t->fd);
        config_clear(&t->cfg);
        json_object_put(t->config_copy);
        g_free(t->id);
        g_free(t);
        return NULL;
    }
    control_follow(t);
    host->log(host, BMQ_LOG_INFO, "sending %s every %g s%s", t->id, t->cfg.interval,
              t->cfg.count ? " (limited count)" : "");
    return t;
}

static void tmr_destroy(void *instance)
{
    timer_inst *t = instance;
    if (!t)
        return;
    for (int i = 0; i < 2; i++)
        if (t->ctl[i])
            t->host->unfollow(t->host, t->ctl[i]);
    t->host->source_remove(t->host, t->source_id);
    close(t->fd);
    config_clear(&t->cfg);
    json_object_put(t->config_copy);
    g_free(t->id);
    g_free(t);
}

/* An identical config keeps the running schedule (a hub reload must not
 * shift ticks); any change restarts it from now with seq 1. */
static int tmr_reconfigure(void *instance, json_object *config, char **error)
{
    timer_inst *t = instance;
    if (t->config_copy && config && json_object_equal(t->config_copy, config))
        return 0;
    timer_config cfg;
    int rc = config_parse(t->host, config, &cfg, error);
    if (rc < 0) {
        config_clear(&cfg);
        return rc;
    }
    tmr_apply(t, &cfg, config);
    rc = schedule_start(t);
    if (rc < 0) {
        *error = g_strdup_printf("timerfd_settime: %s", g_strerror(-rc));
        return -BMQ_EIO;
    }
    return 0;
}

static json_object *tmr_status(void *instance)
{
    timer_inst *t = instance;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "seq", json_object_new_int64(t->seq));
    json_object_object_add(o, "interval", json_object_new_double(t->cfg.interval));
    json_object_object_add(o, "count", t->cfg.count ? json_object_new_int64(t->cfg.count) : NULL);
    json_object_object_add(o, "action", json_object_new_string(t->cfg.action));
    json_object_object_add(o, "running", json_object_new_boolean(t->running));
    json_object *next = NULL;
    struct itimerspec cur;
    if (t->running && timerfd_gettime(t->fd, &cur) == 0)
        next = json_object_new_double(cur.it_value.tv_sec + cur.it_value.tv_nsec / 1e9);
    json_object_object_add(o, "next_in_s", next);
    return o;
}

static const bmq_plugin_descriptor timer_descriptor = {
    .abi = BMQ_PLUGIN_ABI_1,
    .size = sizeof(bmq_plugin_descriptor),
    .name = "timer",
    .version = "1.0",
    .description = "sends ID:tick every interval seconds (drift-free timerfd)",
    .create = tmr_create,
    .destroy = tmr_destroy,
    .reconfigure = tmr_reconfigure,
    .status = tmr_status,
};

BMQ_PLUGIN_DEFINE(timer_descriptor)
