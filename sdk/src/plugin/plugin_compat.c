/* plugin_compat.c - the BERRYMQ_0 forms of calls that gained `int *code`,
 * for programs linked before (see libberrymq.map). Only in the shared
 * library. */
#include <berrymq/host.h>

#ifdef BMQ_SYMVER
#define COMPAT __attribute__((visibility("default")))

COMPAT bmq_plugin *plugin__compat_load(bmq_plugin_host *h, const char *name_or_path,
                                       char **error);
bmq_plugin *plugin__compat_load(bmq_plugin_host *h, const char *name_or_path, char **error)
{
    return bmq_plugin_load(h, name_or_path, NULL, error);
}
__asm__(".symver plugin__compat_load, bmq_plugin_load@BERRYMQ_0");

COMPAT bmq_instance *plugin__compat_instance_create(bmq_plugin_host *h, const char *plugin_name,
                                                    const char *id, json_object *config,
                                                    char **error);
bmq_instance *plugin__compat_instance_create(bmq_plugin_host *h, const char *plugin_name,
                                             const char *id, json_object *config, char **error)
{
    return bmq_instance_create(h, plugin_name, id, config, NULL, error);
}
__asm__(".symver plugin__compat_instance_create, bmq_instance_create@BERRYMQ_0");
#else
typedef int plugin_compat_unused; /* ISO C wants something in a file */
#endif
