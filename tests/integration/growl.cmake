# The growl plugin in the real berrymq-hub: its GNTP forwarding queue across
# a SIGKILL of the hub (history on) and an outage with the history off. The
# GNTP server is tests/support/growl_server.h.
if(TARGET berrymq-hub AND TARGET berrymq-cli)
  bmq_add_test(growl_restart
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/growl_restart.c
      ${CMAKE_SOURCE_DIR}/tests/support/cli_harness.c
    LIBS berrymq PkgConfig::GLIB PkgConfig::JSONC
    TIMEOUT 300 LABELS growl history)
  target_compile_definitions(growl_restart PRIVATE
    BMQ_CLI_BIN="$<TARGET_FILE:berrymq-cli>"
    BMQ_HUB_BIN="$<TARGET_FILE:berrymq-hub>")
  add_dependencies(growl_restart berrymq-cli berrymq-hub plugin_growl)
endif()

# Debian's gntp-send, a real Growl client, against the receiver in the hub.
if(TARGET berrymq-hub)
  bmq_add_test(growl_clients
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/growl_clients.c
      ${CMAKE_SOURCE_DIR}/tests/support/hub_harness.c ${CMAKE_SOURCE_DIR}/tests/support/rpc_post.c
    LIBS berrymq TIMEOUT 120 LABELS growl history)
  add_dependencies(growl_clients berrymq-hub plugin_growl bmq_test_plugins)
  set_property(TEST growl_clients APPEND PROPERTY ENVIRONMENT
    "BMQ_TEST_PLUGIN_DIR=${CMAKE_BINARY_DIR}/tests/plugins")
  set_tests_properties(growl_clients PROPERTIES RESOURCE_LOCK berrymq_hub)
endif()
