/* capture.h - private to the capture plugin: the parsed notification, the
 * config, and the functions its files share (prefix capture__).
 *
 * The parsing core (cap_parse.c, cap_config.c) knows nothing of the bus
 * connection or the host: it turns the body of one Notify call into a
 * cap_note, decides whether the config keeps it, and builds the message
 * kwargs. The unit tests and the fuzz targets link it directly. */
#ifndef BMQ_CAPTURE_H
#define BMQ_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include <gio/gio.h>
#include <json-c/json.h>

/* The hint the notify plugin sets on every notification it shows: those are
 * the hub's own and are never captured (no loop). */
#define CAPTURE_OWN_HINT "x-berrymq-uid"

/* Bounds on what one notification may carry into a message. Text beyond
 * them is cut at a character boundary and counted as truncated. */
#define CAPTURE_APP_MAX       256   /* app_name, app_icon, category, ... */
#define CAPTURE_TITLE_MAX     1024  /* summary */
#define CAPTURE_BODY_MAX      65536 /* body */
#define CAPTURE_ACTIONS_MAX   32    /* key/label pairs */
#define CAPTURE_HINTS_MAX     32    /* extra hints passed on as kwargs.hints */
#define CAPTURE_HINT_TEXT_MAX 256   /* a string hint passed on */
#define CAPTURE_ID_PART_MAX   120   /* APP in "APP:captured" */
/* The image-data hint is kept (as a reference into the received message)
 * only with include_images and when it is no larger than this. */
#define CAPTURE_IMAGE_MAX (16u * 1024u * 1024u)

typedef enum {
    CAP_URGENCY_LOW = 0,
    CAP_URGENCY_NORMAL = 1,
    CAP_URGENCY_CRITICAL = 2,
} cap_urgency;

/* One Notify call, parsed. Every string is valid UTF-8 and NUL-free. */
typedef struct cap_note {
    char *app;           /* app_name as sent ("" allowed) */
    char *app_part;      /* app_name sanitised for "APP:captured" */
    char *icon;          /* app_icon, else the image-path hint; nullable */
    char *title;         /* summary */
    char *body;          /* body */
    char *category;      /* hint "category"; nullable */
    char *desktop_entry; /* hint "desktop-entry"; nullable */
    GPtrArray *actions;  /* char*: key, label, key, label, ... (even length) */
    json_object *hints;  /* (owned, nullable) other hints of simple types */
    GVariant *image;     /* (owned, nullable) "(iiibiiay)" image-data hint */
    cap_urgency urgency; /* from the hint; NORMAL when absent */
    bool own;            /* carries CAPTURE_OWN_HINT */
    uint32_t replaces;   /* replaces_id */
    int32_t timeout;     /* expire_timeout (-1: the daemon decides) */
    unsigned truncated;  /* how many fields were cut or dropped by a bound */
    gsize image_bytes;   /* size of the image data seen (kept or not) */
} cap_note;

typedef struct cap_config {
    GPtrArray *ignore_apps; /* GPatternSpec*, casefolded globs; nullable */
    GPtrArray *only_apps;   /* GPatternSpec*; nullable = every app */
    cap_urgency urgency_min;
    bool redact_body;
    bool include_images;
    unsigned backlog;     /* events waiting for the main thread at most */
    unsigned images_keep; /* image files kept on disk (ring) */
    char *bus;            /* (nullable) bus address; NULL = the session bus */
} cap_config;

/* Why a parsed note is or is not turned into a message. */
typedef enum {
    CAP_KEEP = 0,
    CAP_SKIP_OWN,      /* the hub's own notification */
    CAP_SKIP_IGNORED,  /* app in ignore_apps */
    CAP_SKIP_NOT_ONLY, /* only_apps set and the app is not in it */
    CAP_SKIP_URGENCY,  /* below urgency_min */
} cap_verdict;

/* cap_parse.c */

/* Parse the body of an org.freedesktop.Notifications.Notify call.
 * @body (transfer none) must be of type "(susssasa{sv}i)", else NULL.
 * @keep_image: keep a reference to the image-data hint (see
 * CAPTURE_IMAGE_MAX). Returns (transfer full) a note; free with
 * capture__note_free. Never fails on content: bad UTF-8 is repaired,
 * oversized fields are cut and counted in ->truncated. Any thread. */
cap_note *capture__note_parse(GVariant *body, bool keep_image);
void capture__note_free(cap_note *n);
/* The verdict of @cfg on @n (own notifications are always skipped). */
cap_verdict capture__verdict(const cap_config *cfg, const cap_note *n);
/* The kwargs of "APP:captured" for @n (transfer full). @id: the daemon's
 * id, 0 when unknown (then no "id" key). @error: (nullable) the D-Bus error
 * the call got instead of an id. With cfg->redact_body only title, app and
 * the non-content fields are included. */
json_object *capture__note_kwargs(const cap_note *n, const cap_config *cfg, uint32_t id,
                                  const char *error);
/* @s as an identifier part (transfer full): cut to @max bytes at a
 * character boundary, whitespace, control characters, ':', '@' and '*'
 * replaced by '_'; "unknown" when empty. */
char *capture__id_part(const char *s, size_t max);
/* "low", "normal" or "critical" (static). */
const char *capture__urgency_name(cap_urgency u);
/* Parse "low"/"normal"/"critical" (any case) or 0..2; false otherwise. */
bool capture__urgency_parse(json_object *v, cap_urgency *out);
/* The NotificationClosed reason as text (static). */
const char *capture__reason_name(uint32_t reason);

/* cap_config.c */

/* Read @cfg (transfer none, a JSON object) into @out. false with *error
 * (transfer full) naming the key on a bad value; @out is then cleared. */
bool capture__config_read(json_object *cfg, cap_config *out, char **error);
void capture__config_clear(cap_config *c);

#endif
