# bench_ntfy: ntfy plain-text publishes against JSON-RPC hub.twitter on one
# keep-alive connection each, same run. Built, not run by ctest (bench_smoke
# runs it tiny): build/tests/bench_ntfy [REQUESTS [ROUNDS]].
add_executable(bench_ntfy ${CMAKE_CURRENT_LIST_DIR}/bench_ntfy.c
  ${CMAKE_SOURCE_DIR}/tests/support/cli_harness.c)
target_link_libraries(bench_ntfy PRIVATE PkgConfig::CURL PkgConfig::JSONC PkgConfig::GLIB)
target_include_directories(bench_ntfy PRIVATE ${CMAKE_SOURCE_DIR}/tests/support)
target_compile_definitions(bench_ntfy PRIVATE
  BMQ_CLI_BIN="$<TARGET_FILE:berrymq-cli>"
  BMQ_HUB_BIN="$<TARGET_FILE:berrymq-hub>")
add_dependencies(bench_ntfy berrymq-cli berrymq-hub)
