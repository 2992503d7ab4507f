# bench_gntp: a Growl client's -OK latency and GNTP throughput with the
# message history off, on (sync normal) and on (sync full): the receiver
# answers once the notification is stored.
# Built; ctest only smoke-runs it (bench_smoke): build/tests/bench_gntp [NOTIFICATIONS].
add_executable(bench_gntp ${CMAKE_CURRENT_LIST_DIR}/bench_gntp.c
  ${CMAKE_SOURCE_DIR}/tests/support/hub_harness.c ${CMAKE_SOURCE_DIR}/tests/support/rpc_post.c)
target_link_libraries(bench_gntp PRIVATE berrymq PkgConfig::JSONC)
target_include_directories(bench_gntp PRIVATE ${CMAKE_SOURCE_DIR}/tests/support)
target_compile_definitions(bench_gntp PRIVATE
  BMQ_BUILD_DIR_DEFAULT="${CMAKE_BINARY_DIR}"
  BMQ_TEST_PLUGIN_DIR_DEFAULT="${CMAKE_BINARY_DIR}/tests/plugins"
  BMQ_BENCH_PLUGIN_DIR="${BMQ_BUILD_PLUGIN_DIR}")
add_dependencies(bench_gntp berrymq-hub bmq_test_plugins plugin_growl)
