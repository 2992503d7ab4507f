/* nosym.c - a shared object without the bmq_plugin_entry symbol. */
__attribute__((visibility("default"))) int nosym_something(void);

int nosym_something(void)
{
    return 42;
}
