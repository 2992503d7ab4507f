/* wh_status.c - what `berrymq status` shows of a webhook instance:
 *   url          redacted (no userinfo, no query values)
 *   format, filter, rate, tls ("system CAs", "ca_file", "insecure", "none")
 *   sent         messages the server took (2xx)
 *   failed       messages refused (4xx) or given up after cfg retries
 *   queued       messages in the outbox, the one being sent included
 *   dropped      messages the full outbox dropped, oldest first
 *   retrying     1 while the head waits for its next attempt, else 0
 *   retries      attempts repeated so far; next_retry_s while retrying
 *   last_error   what went wrong last; null again after a delivery
 *   last_status  HTTP status of the last answer (null before any)
 *   http_version of the last answer: "1.1", "2"... (null before any)
 *   coalesced    messages the rate limit held back, summaries sent for
 *                them, held_back still waiting for their summary
 */
#include "webhook.h"

json_object *wh__status(const wh_config *cfg, wh_sender *s, wh_rate *rate)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "url", json_object_new_string(cfg->url_shown));
    json_object_object_add(o, "format", json_object_new_string(wh__format_name(cfg->format)));
    json_object_object_add(o, "filter", json_object_new_string(cfg->filter_text));
    json_object_object_add(o, "rate",
                           cfg->rate_text ? json_object_new_string(cfg->rate_text) : NULL);
    const char *tls = !cfg->https     ? "none"
                      : cfg->insecure ? "insecure"
                      : cfg->ca_file  ? "ca_file"
                                      : "system CAs";
    json_object_object_add(o, "tls", json_object_new_string(tls));
    wh__sender_status(s, o);
    wh__rate_status(rate, o);
    return o;
}
