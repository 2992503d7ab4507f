# bench_history: ingestion rate, `berrymq twitter` latency and database size
# with the message history off, on (sync normal) and on (sync full).
# Built; ctest only smoke-runs it (bench_smoke): build/tests/bench_history [MESSAGES] [CLI_RUNS].
add_executable(bench_history ${CMAKE_CURRENT_LIST_DIR}/bench_history.c
  ${CMAKE_SOURCE_DIR}/tests/support/hub_harness.c ${CMAKE_SOURCE_DIR}/tests/support/rpc_post.c)
target_link_libraries(bench_history PRIVATE berrymq PkgConfig::JSONC)
target_include_directories(bench_history PRIVATE ${CMAKE_SOURCE_DIR}/tests/support)
target_compile_definitions(bench_history PRIVATE
  BMQ_BUILD_DIR_DEFAULT="${CMAKE_BINARY_DIR}"
  BMQ_TEST_PLUGIN_DIR_DEFAULT="${CMAKE_BINARY_DIR}/tests/plugins")
add_dependencies(bench_history berrymq-hub berrymq-cli bmq_test_plugins)
