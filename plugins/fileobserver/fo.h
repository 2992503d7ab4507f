/* fo.h - shared declarations of the fileobserver plugin (one component,
 * three files: fileobserver.c = instance life and event emission,
 * fo_config.c = config and glob parsing, fo_watch.c = inotify watches). */
#ifndef BMQ_FO_H
#define BMQ_FO_H

#include <sys/stat.h>
#include <sys/inotify.h>

#include <berrymq/plugin.h>

enum {
    FO_EV_CREATED = 1u << 0,
    FO_EV_MODIFIED = 1u << 1,
    FO_EV_REMOVED = 1u << 2,
    FO_EV_ALL = 7u,
};

/* Parsed config. The glob is split into a literal base directory and the
 * components below it; comps[ncomps - 1] matches file names, the others
 * match the directories on the way down. */
typedef struct fo_config {
    char *pattern; /* (transfer full) expanded absolute glob */
    char *base;    /* (transfer full) literal directory, no trailing '/' but "/" */
    char **comps;  /* (transfer full) NULL-terminated, ncomps >= 1 */
    int ncomps;
    bool recursive;
    int debounce_ms; /* 0 = report at the end of each inotify read */
    unsigned events; /* FO_EV_* to report */
} fo_config;

typedef enum {
    FO_DIR_ANCESTOR, /* nearest existing parent of a missing base */
    FO_DIR_LEVEL,    /* base (level 0) or a directory matching comps[0..level-1] */
    FO_DIR_TREE,     /* below the file level, recursive mode only */
    FO_DIR_GUARD,    /* a parent above those: only its own rename matters */
} fo_dir_kind;

typedef struct fo_dir {
    int wd;
    char *path; /* (transfer full) */
    fo_dir_kind kind;
    int level;    /* FO_DIR_LEVEL: depth below base */
    char *next;   /* FO_DIR_ANCESTOR: the child name leading to base */
    unsigned gen; /* rescan generation that last saw it */
} fo_dir;

typedef struct fo_file {
    int64_t size;
    int64_t mtime_ns;
    dev_t dev;
    ino_t ino;
} fo_file;

/* Pending flags, merged per path within one debounce window. */
enum {
    FO_P_CHANGED = 1u << 0, /* content written (IN_MODIFY) */
};

typedef struct fo_pending {
    unsigned flags;
    char path[]; /* the key of fo_inst.pending */
} fo_pending;

#define FO_READ_BUF (64 * 1024)

typedef struct fo_inst {
    const bmq_host *host; /* (transfer none) valid until destroy returns */
    fo_config cfg;
    json_object *config_copy; /* (transfer full) last applied config */
    char *ev_id[3];           /* (transfer full) "ID:created", "ID:modified", "ID:removed" */
    int fd;                   /* inotify fd, -1 when closed */
    guint fd_source;
    guint flush_source;       /* debounce timer, 0 when idle */
    GHashTable *dirs_by_wd;   /* int -> fo_dir* (owns the dirs) */
    GHashTable *dirs_by_path; /* char* -> fo_dir* (borrowed) */
    GHashTable *known;        /* char* -> fo_file* (owns both) */
    GHashTable *pending;      /* char* -> fo_pending* (borrowed from pending_order) */
    GQueue pending_order;     /* fo_pending* (owned), in first-event order */
    fo_dir *anchor;           /* (transfer none) the FO_DIR_ANCESTOR node, if any */
    unsigned gen;
    bool limit_logged; /* one ENOSPC message per instance until a rescan works */
    bool need_rescan;
    uint64_t sent[3];
    uint64_t overflows;
    char buf[FO_READ_BUF] __attribute__((aligned(__alignof__(struct inotify_event))));
} fo_inst;

/* fo_config.c */
int fo__config_parse(const bmq_host *host, json_object *config, fo_config *out, char **error);
void fo__config_clear(fo_config *c);
/* Expand "~", "~user" and $VAR / ${VAR}; (transfer full) or NULL + *error. */
char *fo__path_expand(const char *in, char **error);
bool fo__name_matches(const char *pattern, const char *name);

/* fo_watch.c */
int fo__watch_open(fo_inst *fo, char **error);
void fo__watch_close(fo_inst *fo);
/* Watch the base (or its nearest existing parent) and everything below it
 * that the glob needs; @report: found files go to pending (reported),
 * else straight into the known set (initial baseline). */
void fo__watch_base(fo_inst *fo, bool report);
void fo__watch_rescan(fo_inst *fo);
gboolean fo__watch_on_readable(gint fd, GIOCondition cond, gpointer data);

/* fileobserver.c */
void fo__pending_add(fo_inst *fo, const char *path, unsigned flags);
/* Add every known file at or below @dir to pending (they are re-checked). */
void fo__pending_add_below(fo_inst *fo, const char *dir);
void fo__known_set(fo_inst *fo, const char *path, const struct stat *st);
/* stat a candidate file: true if it exists and is not a directory. */
bool fo__file_stat(const char *path, struct stat *st);
void fo__pending_schedule(fo_inst *fo);
void fo__flush(fo_inst *fo);

#endif /* BMQ_FO_H */
