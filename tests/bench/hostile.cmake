# bench_hostile: berrymq twitter and send_message latency quiet vs. with 300
# idle + 50 slow-drip connections open, same run; the hub's RSS idle vs.
# after a 10,000-call connect_via_queue flood. Built, not run by ctest: run
# build/tests/bench_hostile [RUNS].
add_executable(bench_hostile ${CMAKE_CURRENT_LIST_DIR}/bench_hostile.c
  ${CMAKE_SOURCE_DIR}/tests/support/cli_harness.c
  ${CMAKE_SOURCE_DIR}/tests/support/rpc_post.c)
find_package(Threads REQUIRED)
target_link_libraries(bench_hostile PRIVATE PkgConfig::JSONC PkgConfig::GLIB Threads::Threads)
target_include_directories(bench_hostile PRIVATE ${CMAKE_SOURCE_DIR}/tests/support)
target_compile_definitions(bench_hostile PRIVATE
  BMQ_CLI_BIN="$<TARGET_FILE:berrymq-cli>"
  BMQ_HUB_BIN="$<TARGET_FILE:berrymq-hub>")
add_dependencies(bench_hostile berrymq-cli berrymq-hub)
