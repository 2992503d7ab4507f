/* mqtt_harness.h - what the MQTT bridge tests share: a real mosquitto
 * broker on a free loopback port, in-process "hubs" (a bus, a plugin host
 * and one mqtt instance each), message collectors and the mosquitto_pub /
 * mosquitto_sub command-line clients. */
#ifndef BMQ_TEST_MQTT_HARNESS_H
#define BMQ_TEST_MQTT_HARNESS_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>

#include <berrymq/host.h>

#include "check.h"

/* Sanitizer builds are several times slower: waits stretch, counts do not. */
#if defined(__SANITIZE_ADDRESS__)
#define MQTT_SLOW 4
#else
#define MQTT_SLOW 1
#endif

typedef struct mqtt_broker {
    int port;
    char *dir; /* temp dir with mosquitto.conf and the log */
    char *conf;
    GPid pid; /* 0 when stopped */
} mqtt_broker;
/* Process id of the running broker, 0 when stopped. */
int mqtt_broker_pid(mqtt_broker *b);

/* Exit 77 (skip) when no mosquitto binary is installed. Aborts the test on
 * any other failure. */
mqtt_broker *mqtt_broker_start(void);
/* Same, with @extra lines appended to the generated mosquitto.conf. */
mqtt_broker *mqtt_broker_start_with(const char *extra);
void mqtt_broker_stop(mqtt_broker *b);    /* SIGTERM and wait */
void mqtt_broker_restart(mqtt_broker *b); /* same port */
void mqtt_broker_free(mqtt_broker *b);    /* stops it if running, removes the dir */
char *mqtt_broker_url(mqtt_broker *b);    /* "mqtt://127.0.0.1:PORT" (g_free) */

typedef struct test_hub {
    bmq_bus *bus;
    bmq_plugin_host *host;
    bmq_instance *inst;
    char *node_id;
    char *data_root; /* temp dir for the host's per-instance data, removed on free */
} test_hub;

/* A bus and plugin host with node id @node_id and one "mqtt" instance
 * "mq" made from @config_json. NULL (and the error printed) on failure. */
test_hub *test_hub_new(const char *node_id, const char *config_json);
void test_hub_free(test_hub *h);
/* An integer (or boolean as 0/1) from the instance status; -1 if absent. */
long long test_hub_stat(test_hub *h, const char *key);
/* Iterate the main context until stat @key == @value or @ms pass. */
bool test_hub_wait_stat(test_hub *h, const char *key, long long value, int ms);

/* Collects copies of the messages matching a pattern on one bus. */
typedef struct collector collector;
collector *collector_new(bmq_bus *bus, const char *pattern);
void collector_free(collector *c);
unsigned collector_count(collector *c);
/* "id args-json" lines of message @i (g_free), NULL past the end. */
char *collector_line(collector *c, unsigned i);
/* Iterate the main context until at least @n messages or @ms pass. */
bool collector_wait(collector *c, unsigned n, int ms);
/* Number of collected messages whose "id args" line equals @line. */
unsigned collector_find(collector *c, const char *line);
/* Iterate the main context until @line was collected or @ms pass. */
bool collector_wait_line(collector *c, const char *line, int ms);

/* Sleep @ms while iterating the main context. */
void pump(int ms);

/* mosquitto_sub -v on @topic in the background, output into a file. */
typedef struct mqtt_sub {
    GSubprocess *proc;
    char *path;
} mqtt_sub;
mqtt_sub *mqtt_sub_start(mqtt_broker *b, const char *topic);
char *mqtt_sub_output(mqtt_sub *s); /* (g_free) */
bool mqtt_sub_wait_for(mqtt_sub *s, const char *needle, int ms);
void mqtt_sub_free(mqtt_sub *s);
/* mosquitto_pub -t TOPIC -m PAYLOAD; true on exit status 0. */
bool mqtt_pub(mqtt_broker *b, const char *topic, const char *payload, int qos);

#endif /* BMQ_TEST_MQTT_HARNESS_H */
