/* crashplug.c - a "plugin" whose entry function aborts, as one with a
 * failing assertion at load time would: `berrymq plugin install` must
 * survive it (the check runs in a child process) and refuse the file. */
#include <stdlib.h>

#include <berrymq/plugin.h>

BMQ_PLUGIN_EXPORT const bmq_plugin_descriptor *BMQ_PLUGIN_ENTRY(uint32_t abi_min, uint32_t abi_max);
BMQ_PLUGIN_EXPORT const bmq_plugin_descriptor *BMQ_PLUGIN_ENTRY(uint32_t abi_min, uint32_t abi_max)
{
    (void)abi_min;
    (void)abi_max;
    abort();
}
