/* wh_rate.c - the per-instance rate limit ("rate": "10/min") and the
 * coalescing of what exceeds it.
 *
 * A token bucket holding n tokens, refilled continuously at n per period:
 * a quiet instance can send n at once, a busy one n per period. A message
 * finding the bucket empty is not sent but counted; once a token is free
 * again the sender thread sends one summary, "N more from PATTERN", in
 * place of all of them (the notify plugin does the same for floods on the
 * desktop). While a summary is pending, new messages join it rather than
 * overtake it, so what arrives stays in order.
 */
#include <string.h>

#include "webhook.h"

void wh__rate_init(wh_rate *r, guint n, double period_s)
{
    memset(r, 0, sizeof *r);
    g_mutex_init(&r->lock);
    if (n > 0 && period_s > 0) {
        r->capacity = n;
        r->per_us = (double)n / (period_s * 1e6);
        r->tokens = n;
    }
    r->last_us = g_get_monotonic_time();
}

void wh__rate_clear(wh_rate *r)
{
    g_mutex_clear(&r->lock);
}

static void refill(wh_rate *r, gint64 now)
{
    if (now > r->last_us)
        r->tokens = MIN(r->capacity, r->tokens + (double)(now - r->last_us) * r->per_us);
    r->last_us = MAX(r->last_us, now);
}

bool wh__rate_admit(wh_rate *r, gint64 now)
{
    if (r->capacity == 0)
        return true;
    g_mutex_lock(&r->lock);
    refill(r, now);
    bool ok = r->pending == 0 && r->tokens >= 1.0;
    if (ok) {
        r->tokens -= 1.0;
    } else {
        r->pending++;
        r->coalesced++;
    }
    g_mutex_unlock(&r->lock);
    return ok;
}

guint64 wh__rate_take_summary(wh_rate *r, gint64 now, gint64 *wait_us)
{
    *wait_us = -1;
    if (r->capacity == 0)
        return 0;
    g_mutex_lock(&r->lock);
    guint64 n = 0;
    if (r->pending > 0) {
        refill(r, now);
        if (r->tokens >= 1.0) {
            r->tokens -= 1.0;
            n = r->pending;
            r->pending = 0;
            r->summaries++;
        } else {
            *wait_us = (gint64)((1.0 - r->tokens) / r->per_us) + 1;
        }
    }
    g_mutex_unlock(&r->lock);
    return n;
}

void wh__rate_status(wh_rate *r, json_object *o)
{
    g_mutex_lock(&r->lock);
    json_object_object_add(o, "coalesced", json_object_new_int64((int64_t)r->coalesced));
    json_object_object_add(o, "summaries", json_object_new_int64((int64_t)r->summaries));
    json_object_object_add(o, "held_back", json_object_new_int64((int64_t)r->pending));
    g_mutex_unlock(&r->lock);
}
