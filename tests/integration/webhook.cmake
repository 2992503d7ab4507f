# The webhook plugin in the real berrymq-hub, driven with the berrymq CLI:
# a server that does not answer must not slow `berrymq twitter`.
if(TARGET berrymq-hub)
  set(_wh_hub_bin "$<TARGET_FILE:berrymq-hub>")
else()
  set(_wh_hub_bin "${CMAKE_BINARY_DIR}/app/hub/berrymq-hub")
endif()
bmq_add_test(webhook_hub_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/webhook_hub_test.c
    ${CMAKE_SOURCE_DIR}/tests/support/cli_harness.c
  LIBS PkgConfig::JSONC bmq_http_server
  TIMEOUT 240 LABELS integration webhook)
target_compile_definitions(webhook_hub_test PRIVATE
  BMQ_CLI_BIN="$<TARGET_FILE:berrymq-cli>"
  BMQ_HUB_BIN="${_wh_hub_bin}")
add_dependencies(webhook_hub_test berrymq-cli plugin_webhook)
if(TARGET berrymq-hub)
  add_dependencies(webhook_hub_test berrymq-hub)
endif()
# The outbox across a SIGKILL of the hub (history on) and an outage with
# the history off.
bmq_add_test(webhook_restart
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/webhook_restart.c
    ${CMAKE_SOURCE_DIR}/tests/support/cli_harness.c
  LIBS PkgConfig::JSONC bmq_http_server
  TIMEOUT 300 LABELS integration webhook history)
target_compile_definitions(webhook_restart PRIVATE
  BMQ_CLI_BIN="$<TARGET_FILE:berrymq-cli>"
  BMQ_HUB_BIN="${_wh_hub_bin}")
add_dependencies(webhook_restart berrymq-cli plugin_webhook)
if(TARGET berrymq-hub)
  add_dependencies(webhook_restart berrymq-hub)
endif()
# Hub A's webhook (format ntfy) into hub B's ntfy API, read by a queue
# listener on hub B.
bmq_add_test(webhook_ntfy_hubs
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/webhook_ntfy_hubs.c
    ${CMAKE_SOURCE_DIR}/tests/support/hub_harness.c
  LIBS berrymq PkgConfig::JSONC PkgConfig::GLIB
  TIMEOUT 180 LABELS integration webhook ntfy)
add_dependencies(webhook_ntfy_hubs berrymq-hub bmq_test_plugins plugin_webhook)
set_property(TEST webhook_ntfy_hubs APPEND PROPERTY ENVIRONMENT
  "BMQ_TEST_PLUGIN_DIR=${CMAKE_BINARY_DIR}/tests/plugins")
