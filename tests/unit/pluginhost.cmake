# Plugin host unit test, against the test plugins of tests/plugins.
bmq_add_test(unit_pluginhost SOURCES ${CMAKE_CURRENT_LIST_DIR}/pluginhost.c
  LIBS berrymq TIMEOUT 60 LABELS pluginhost)
add_dependencies(unit_pluginhost bmq_test_plugins)
set_property(TEST unit_pluginhost APPEND PROPERTY ENVIRONMENT
  "BMQ_TEST_PLUGIN_DIR=${CMAKE_BINARY_DIR}/tests/plugins")

# ABI growth in both directions and versioned symbols.
bmq_add_test(unit_pluginabi SOURCES ${CMAKE_CURRENT_LIST_DIR}/pluginabi.c
  LIBS berrymq ${CMAKE_DL_LIBS} TIMEOUT 60 LABELS pluginhost)
add_dependencies(unit_pluginabi bmq_test_plugins)
set_property(TEST unit_pluginabi APPEND PROPERTY ENVIRONMENT
  "BMQ_TEST_PLUGIN_DIR=${CMAKE_BINARY_DIR}/tests/plugins")

# bmq_config_get_*: types, ranges, defaults and the words of each refusal.
bmq_add_test(unit_plugin_config SOURCES ${CMAKE_CURRENT_LIST_DIR}/plugin_config.c
  LIBS berrymq TIMEOUT 60 LABELS pluginhost)
