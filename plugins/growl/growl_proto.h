/* growl_proto.h - Growl wire formats shared by the growl plugin, its tests
 * and its fuzz targets: GNTP 1.0 requests/responses, legacy UDP (protocol
 * v1) packets and the title/text templates.
 *
 * Nothing here touches sockets or the bus; every function is pure and
 * thread-safe, so the parsers can be fuzzed in isolation.
 */
#ifndef GROWL_PROTO_H
#define GROWL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <json-c/json.h>

#define GNTP_DEFAULT_PORT      23053
#define GROWL_UDP_DEFAULT_PORT 9887

/* ---- key hashes ---------------------------------------------------------- */

typedef enum {
    GNTP_HASH_NONE = 0, /* no key (GNTP) / NOAUTH packets (UDP) */
    GNTP_HASH_MD5,
    GNTP_HASH_SHA1,
    GNTP_HASH_SHA256,
    GNTP_HASH_SHA512,
} gntp_hash;

/* Case-insensitive "MD5", "SHA1", "SHA256", "SHA512", "NONE"; -1 if unknown. */
int gntp__hash_from_name(const char *name);
const char *gntp__hash_name(gntp_hash h);

/* Upper-case hex of H(H(UTF8(password) + salt)), the GNTP key hash.
 * (transfer full) g_free; NULL for GNTP_HASH_NONE. */
char *gntp__key_hash_hex(gntp_hash h, const char *password, const guint8 *salt, size_t salt_len);

/* "ALG:KEYHASH.SALT" with a fresh random 16-byte salt. (transfer full) */
char *gntp__key_field(gntp_hash h, const char *password);

/* Check a received key against @password. @alg, @key_hash and @salt_hex as
 * they appear on the wire (hex in any case). */
bool gntp__key_verify(const char *alg, const char *key_hash, const char *salt_hex,
                      const char *password);

/* ---- GNTP requests (gntp_format.c) -------------------------------------- */

/* An icon: either a URL sent as is, or bytes sent as a binary resource. */
typedef struct gntp_icon {
    char *url;    /* (nullable) */
    GBytes *data; /* (nullable) */
} gntp_icon;

typedef struct gntp_register {
    const char *application;
    const gntp_icon *icon;    /* (nullable) application and notification icon */
    const char *const *names; /* notification types to register */
    size_t n_names;
} gntp_register;

typedef struct gntp_notify {
    const char *application;
    const char *name; /* notification type */
    const char *id;   /* (nullable) Notification-ID */
    const char *title;
    const char *text; /* (nullable) */
    int priority;     /* -2..2 */
    bool sticky;
    const gntp_icon *icon;             /* (nullable) */
    const char *callback_context;      /* (nullable) asks for a socket callback */
    const char *callback_context_type; /* required with callback_context */
} gntp_notify;

/* Whole requests, ready for one write, ending in CRLF CRLF. A @password of
 * NULL/"" or @hash NONE sends no key. (transfer full) */
GBytes *gntp__format_register(const gntp_register *r, gntp_hash hash, const char *password);
GBytes *gntp__format_notify(const gntp_notify *n, gntp_hash hash, const char *password);

/* An -OK or -ERROR response (receiver side). @action (nullable); @extra
 * (nullable) gntp_header* to echo (the request's Data-* headers). */
GBytes *gntp__format_ok(const char *action, const char *notification_id, GPtrArray *extra);
GBytes *gntp__format_error(const char *action, int code, const char *description);

/* GNTP error codes (spec appendix). */
enum {
    GNTP_E_TIMED_OUT = 200,
    GNTP_E_NETWORK_FAILURE = 201,
    GNTP_E_INVALID_REQUEST = 300,
    GNTP_E_UNKNOWN_PROTOCOL = 301,
    GNTP_E_UNKNOWN_PROTOCOL_VERSION = 302,
    GNTP_E_REQUIRED_HEADER_MISSING = 303,
    GNTP_E_NOT_AUTHORIZED = 400,
    GNTP_E_UNKNOWN_APPLICATION = 401,
    GNTP_E_UNKNOWN_NOTIFICATION = 402,
    GNTP_E_ALREADY_PROCESSED = 403,
    GNTP_E_NOTIFICATION_DISABLED = 404,
    GNTP_E_INTERNAL_SERVER_ERROR = 500,
};

/* ---- GNTP parsing (gntp_parse.c) ---------------------------------------- */

typedef struct gntp_header {
    char *name;
    char *value;
} gntp_header;

typedef struct gntp_msg {
    char *version;       /* "1.0" */
    char *type;          /* REGISTER, NOTIFY, SUBSCRIBE, -OK, -ERROR, -CALLBACK, ... */
    char *encryption;    /* "NONE" or "AES" (without the IV) */
    char *hash_alg;      /* (nullable) */
    char *key_hash;      /* (nullable) */
    char *salt;          /* (nullable) */
    char *info_text;     /* (nullable) free text after a reply's type ("-ERROR Invalid request") */
    GPtrArray *sections; /* GPtrArray of GPtrArray of gntp_header; [0] = main */
    GHashTable *resources; /* identifier (char*) -> GBytes */
} gntp_msg;

#define GNTP_PARSE_MORE   1
#define GNTP_MAX_SECTIONS 256
#define GNTP_MAX_HEADERS  128
#define GNTP_MAX_LINE     16384

/* Frame and parse one message from the start of @buf.
 * Returns 0 with *out (transfer full) and *consumed when a whole message is
 * there; GNTP_PARSE_MORE when it is incomplete so far; a negative value on
 * a malformed message, with *code a GNTP error code and *err (transfer
 * full, g_free) one line. @request selects request framing (REGISTER
 * notification sections, binary resources) over response framing.
 * @max_size bounds the message; a longer one is an error. Lines end in
 * CRLF (a bare LF belongs to a value). Tolerates runs of spaces and a
 * trailing space in the information line, header names in any case. */
int gntp__parse(const guint8 *buf, size_t len, bool request, size_t max_size, gntp_msg **out,
                size_t *consumed, int *code, char **err);
void gntp__msg_free(gntp_msg *m);
/* Case-insensitive lookup in a section; NULL when absent. (transfer none) */
const char *gntp__msg_get(const gntp_msg *m, guint section, const char *name);
guint gntp__msg_n_sections(const gntp_msg *m);
/* "True"/"Yes"/"1" (any case) -> true. */
bool gntp__parse_bool(const char *v, bool dflt);

/* ---- What a Growl client asked for (both protocols) --------------------- */

typedef enum { GROWL_EV_REGISTER = 1, GROWL_EV_NOTIFY = 2 } growl_ev_kind;

typedef struct growl_event {
    growl_ev_kind kind;
    char *application;
    char *name; /* NOTIFY: notification type */
    char *id;   /* (nullable) Notification-ID */
    char *title;
    char *text;
    int priority;
    bool sticky;
    char *icon_url;           /* (nullable) */
    char *click;              /* (nullable) Notification-Callback-Target, http(s) only */
    GBytes *icon_data;        /* (nullable) */
    GPtrArray *notifications; /* REGISTER: names (char*) */
    GPtrArray *enabled;       /* REGISTER: names enabled by default */
    GPtrArray *data_headers;  /* NOTIFY: Data-* headers to echo (gntp_header*) */
} growl_event;

void growl__event_free(growl_event *ev);

/* Validate a parsed GNTP request: key (required and checked when @password
 * is non-empty; any key is accepted when it is empty), no encryption,
 * required headers. 0 and *out, or a negative value with
 * *code / *err as for gntp__parse. */
int gntp__request_to_event(const gntp_msg *m, const char *password, growl_event **out, int *code,
                           char **err);

/* ---- Legacy UDP (udp_format.c / udp_parse.c) ----------------------------- */

enum {
    GROWL_UDP_VERSION = 1,
    GROWL_UDP_VERSION_AES128 = 2,
    GROWL_UDP_REGISTRATION = 0,
    GROWL_UDP_NOTIFICATION = 1,
    GROWL_UDP_REGISTRATION_SHA256 = 2,
    GROWL_UDP_NOTIFICATION_SHA256 = 3,
    GROWL_UDP_REGISTRATION_NOAUTH = 4,
    GROWL_UDP_NOTIFICATION_NOAUTH = 5,
};
#define GROWL_UDP_MAX_PACKET 65507

/* @auth: GNTP_HASH_MD5 (types 0/1), GNTP_HASH_SHA256 (2/3) or
 * GNTP_HASH_NONE (4/5). Checksum = H(packet + password). Fields longer than
 * the packet allows are cut at a UTF-8 boundary. (transfer full); NULL if
 * @auth is another algorithm. */
GBytes *udp__format_register(const char *application, const char *const *names, size_t n_names,
                             gntp_hash auth, const char *password);
GBytes *udp__format_notify(const char *application, const char *name, const char *title,
                           const char *text, int priority, bool sticky, gntp_hash auth,
                           const char *password);

/* Parse and authenticate one datagram. NOAUTH packets are refused when
 * @password is non-empty. 0 and *out (transfer full), or a negative value
 * with *err (transfer full) one line. */
int udp__parse(const guint8 *buf, size_t len, const char *password, growl_event **out, char **err);

/* ---- Templates (template.c) ---------------------------------------------- */

/* Render @tmpl with {id} {name} {action} {args} {kwargs} {args[N]}
 * {kwargs.KEY}; "{{" and "}}" are literal braces; an unknown or missing
 * placeholder renders as "". (transfer full) */
char *growl__template_render(const char *tmpl, const char *id, const char *name, const char *action,
                             json_object *args, json_object *kwargs);
/* Readable form of a JSON value: strings bare, arrays "[a, b]", objects
 * "{k:v}". (transfer full) */
char *growl__json_readable(json_object *o);
/* Cut @s (in place) to at most @max bytes at a UTF-8 boundary and replace
 * invalid UTF-8. (transfer full) new string. */
char *growl__utf8_clip(const char *s, size_t max);

#endif /* GROWL_PROTO_H */
