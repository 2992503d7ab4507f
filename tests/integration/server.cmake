# The hub's HTTP server against hostile clients (idle and slow connections,
# oversized streamed bodies) and the bounds of what a client may hold,
# driven with the real berrymq CLI.
find_package(Threads REQUIRED)
if(TARGET berrymq-hub)
  set(_srv_hub_bin "$<TARGET_FILE:berrymq-hub>")
else()
  set(_srv_hub_bin "${CMAKE_BINARY_DIR}/app/hub/berrymq-hub")
endif()
foreach(_t hostile listen bounds)
  bmq_add_test(server_${_t}
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/server_${_t}_test.c
      ${CMAKE_SOURCE_DIR}/tests/support/cli_harness.c
      ${CMAKE_SOURCE_DIR}/tests/support/rpc_post.c
    LIBS PkgConfig::JSONC PkgConfig::GLIB Threads::Threads
    TIMEOUT 240 LABELS server faults)
  target_compile_definitions(server_${_t} PRIVATE
    BMQ_CLI_BIN="$<TARGET_FILE:berrymq-cli>"
    BMQ_HUB_BIN="${_srv_hub_bin}")
  add_dependencies(server_${_t} berrymq-cli)
  if(TARGET berrymq-hub)
    add_dependencies(server_${_t} berrymq-hub)
  endif()
endforeach()

# What peers other than the hub's own user may hold (ttl, tokens per peer):
# a remote peer and another local user, with the secret.
bmq_add_test(server_peers SOURCES ${CMAKE_CURRENT_LIST_DIR}/server_peers.c
  ${CMAKE_SOURCE_DIR}/tests/support/hub_harness.c
  LIBS berrymq TIMEOUT 120 LABELS server faults net)
add_dependencies(server_peers berrymq-hub bmq_test_plugins)
set_property(TEST server_peers APPEND PROPERTY ENVIRONMENT
  "BMQ_TEST_PLUGIN_DIR=${CMAKE_BINARY_DIR}/tests/plugins")
