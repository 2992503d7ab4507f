/* log.c - the hub's log: one line per event on stderr with a level, and
 * sd-daemon "<N>" priority prefixes instead when stderr is the journal
 * (JOURNAL_STREAM names our stderr), so journald keeps the levels without
 * linking libsystemd. Thread-safe: each line is written with one call.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "hub.h"

static int max_level = BMQ_LOG_INFO;
static bool journal;

int hub_log_level_parse(const char *s)
{
    static const char *const names[] = {"error", "warning", "notice", "info", "debug"};
    for (int i = 0; i < 5; i++)
        if (s && g_ascii_strcasecmp(s, names[i]) == 0)
            return BMQ_LOG_ERROR + i;
    return -1;
}

static bool stderr_is_journal(void)
{
    const char *js = g_getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void hub_log_init(int level)
{
    max_level = level;
    journal = stderr_is_journal();
}

void hub_log_set_level(int level)
{
    g_atomic_int_set(&max_level, level);
}

static void emit(int level, const char *prefix, const char *msg)
{
    if (level > g_atomic_int_get(&max_level))
        return;
    char *line;
    if (journal)
        line = g_strdup_printf("<%d>%s%s\n", level, prefix, msg);
    else
        line = g_strdup_printf("berrymq-hub: %s: %s%s\n", bmq_log_level_name(level), prefix, msg);
    fputs(line, stderr);
    fflush(stderr);
    g_free(line);
}

void hub_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    emit(level, "", msg);
    g_free(msg);
}

void hub_log_plugin(int level, const char *instance_id, const char *line, void *user_data)
{
    if (!instance_id) {
        emit(level, "", line);
        return;
    }
    char *prefix = g_strdup_printf("[%s] ", instance_id);
    emit(level, prefix, line);
    g_free(prefix);
}
