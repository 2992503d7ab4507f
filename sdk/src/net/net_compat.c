/* net_compat.c - the BERRYMQ_0 forms of calls that gained `int *code`, for
 * programs linked before (see libberrymq.map). Only in the shared library. */
#include <berrymq/net.h>

#ifdef BMQ_SYMVER
#define COMPAT __attribute__((visibility("default")))

COMPAT bmq_server *net__compat_server_start(bmq_bus *bus, const bmq_server_options *opts,
                                            char **error);
bmq_server *net__compat_server_start(bmq_bus *bus, const bmq_server_options *opts, char **error)
{
    return bmq_server_start(bus, opts, NULL, error);
}
__asm__(".symver net__compat_server_start, bmq_server_start@BERRYMQ_0");

COMPAT bmq_link *net__compat_interconnect(bmq_bus *bus, const char *host, uint16_t port,
                                          double ttl, char **error);
bmq_link *net__compat_interconnect(bmq_bus *bus, const char *host, uint16_t port, double ttl,
                                   char **error)
{
    return bmq_interconnect(bus, host, port, ttl, NULL, error);
}
__asm__(".symver net__compat_interconnect, bmq_interconnect@BERRYMQ_0");

COMPAT bmq_link *net__compat_connect_oneway(bmq_bus *bus, const char *host, uint16_t port,
                                            double ttl, char **error);
bmq_link *net__compat_connect_oneway(bmq_bus *bus, const char *host, uint16_t port, double ttl,
                                     char **error)
{
    return bmq_connect_oneway(bus, host, port, ttl, NULL, error);
}
__asm__(".symver net__compat_connect_oneway, bmq_connect_oneway@BERRYMQ_0");

COMPAT bmq_link *net__compat_connect_via_queue(bmq_bus *bus, const char *host, uint16_t port,
                                               const char *pattern, double ttl, char **error);
bmq_link *net__compat_connect_via_queue(bmq_bus *bus, const char *host, uint16_t port,
                                        const char *pattern, double ttl, char **error)
{
    return bmq_connect_via_queue(bus, host, port, pattern, ttl, NULL, error);
}
__asm__(".symver net__compat_connect_via_queue, bmq_connect_via_queue@BERRYMQ_0");
#else
typedef int net_compat_unused; /* ISO C wants something in a file */
#endif
