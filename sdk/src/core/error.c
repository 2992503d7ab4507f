/* error.c - error strings and the library version. */
#include <berrymq/berrymq.h>

const char *bmq_strerror(int code)
{
    if (code < 0)
        code = -code;
    switch (code) {
    case BMQ_OK: return "success";
    case BMQ_EINVAL: return "invalid argument";
    case BMQ_EID: return "malformed identifier";
    case BMQ_ENOMEM: return "out of memory";
    case BMQ_ETIMEDOUT: return "timed out";
    case BMQ_EFULL: return "queue full";
    case BMQ_EEMPTY: return "queue empty";
    case BMQ_ECLOSED: return "closed";
    case BMQ_ENET: return "network error";
    case BMQ_EPROTO: return "protocol error";
    case BMQ_ETOKEN: return "invalid token";
    case BMQ_EDENIED: return "permission denied";
    case BMQ_EABI: return "plugin ABI mismatch";
    case BMQ_ELOAD: return "plugin load failed";
    case BMQ_EEXIST: return "already exists";
    case BMQ_ENOENT: return "not found";
    case BMQ_EIO: return "input/output error";
    case BMQ_ETYPE: return "wrong JSON type";
    case BMQ_EFAILED: return "operation failed";
    case BMQ_EBUSY: return "address or resource in use";
    default: return "unknown error";
    }
}

const char *bmq_version(void)
{
    return BMQ_VERSION_STRING;
}
