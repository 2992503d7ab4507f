/* bench_ntfy.c - ntfy publishes against JSON-RPC hub.twitter on the same
 * hub, same run: plain-text `POST /TOPIC` requests against the same count
 * of `hub.twitter` requests carrying the same text, each over one
 * keep-alive connection (libcurl), in alternating rounds so both see the
 * same machine load. The hub runs on its defaults (history on) with no
 * plugins.
 *
 *   bench_ntfy [REQUESTS [ROUNDS]]   (default 5000 requests, 5 rounds)
 *
 * Prints requests per second and p50/p99 latency of each, and the ratio.
 */
#include "cli_harness.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

static size_t sink(char *p, size_t size, size_t n, void *user)
{
    (void)p;
    (void)user;
    return size * n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct series {
    double secs;    /* wall time of all rounds */
    double *lat_ms; /* every request */
    int n;
    int failed;
} series;

/* @n requests on @c; ntfy: POST /bench with the text, else hub.twitter. */
static void round_of(CURL *c, const char *base, bool ntfy, int n, series *s)
{
    char url[128], body[160];
    snprintf(url, sizeof url, "%s%s", base, ntfy ? "/bench" : "/JSON");
    curl_easy_setopt(c, CURLOPT_URL, url);
    double t0 = cli_now();
    for (int i = 0; i < n; i++) {
        if (ntfy)
            snprintf(body, sizeof body, "backup %d done", i);
        else
            snprintf(body, sizeof body,
                     "{\"id\": 1, \"method\": \"hub.twitter\", \"params\": [\"bench:notify\", "
                     "[\"backup %d done\"], {}]}",
                     i);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        double r0 = cli_now();
        long status = 0;
        if (curl_easy_perform(c) != CURLE_OK ||
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200)
            s->failed++;
        s->lat_ms[s->n++] = (cli_now() - r0) * 1000.0;
    }
    s->secs += cli_now() - t0;
}

static void report(const char *what, series *s)
{
    qsort(s->lat_ms, (size_t)s->n, sizeof(double), cmp_double);
    printf("%-34s %9.0f req/s   p50 %.3f ms   p99 %.3f ms   (%d requests, %d failed)\n", what,
           s->n / s->secs, s->lat_ms[s->n / 2], s->lat_ms[(size_t)s->n * 99 / 100], s->n,
           s->failed);
}

int main(int argc, char **argv)
{
    int per = argc > 1 ? atoi(argv[1]) : 5000;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (per < 1 || rounds < 1) {
        fprintf(stderr, "usage: bench_ntfy [REQUESTS [ROUNDS]]\n");
        return 2;
    }
    cli_h h;
    if (cli_h_init(&h, "bench_ntfy") != 0 || cli_h_write_config(&h, "{\"plugins\": []}") != 0 ||
        cli_h_hub_start(&h, NULL) != 0)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char base[96];
    snprintf(base, sizeof base, "http://%s", h.addr);
    CURL *c = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    int chunk = (per + rounds - 1) / rounds;
    series nt = {0, calloc((size_t)chunk * (size_t)rounds, sizeof(double)), 0, 0};
    series rpc = {0, calloc((size_t)chunk * (size_t)rounds, sizeof(double)), 0, 0};
    series warm = {0, calloc(200, sizeof(double)), 0, 0};
    round_of(c, base, true, 100, &warm); /* open the connection, warm both paths */
    round_of(c, base, false, 100, &warm);
    for (int r = 0; r < rounds; r++) {
        /* alternate which goes first, so neither always follows the other */
        round_of(c, base, r % 2 == 0, chunk, r % 2 == 0 ? &nt : &rpc);
        round_of(c, base, r % 2 != 0, chunk, r % 2 != 0 ? &nt : &rpc);
    }
    long conns = 0;
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
    report("ntfy POST /TOPIC (text body)", &nt);
    report("JSON-RPC hub.twitter", &rpc);
    printf("ntfy / JSON-RPC: %.2f   (new connections in the last request: %ld)\n",
           (nt.n / nt.secs) / (rpc.n / rpc.secs), conns);
    int failed = nt.failed + rpc.failed + warm.failed;
    free(nt.lat_ms);
    free(rpc.lat_ms);
    free(warm.lat_ms);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    curl_global_cleanup();
    cli_h_hub_stop(&h);
    cli_h_cleanup(&h);
    return failed ? 1 : 0;
}
