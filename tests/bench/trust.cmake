# bench_trust: `berrymq twitter` over the Unix socket against loopback TCP,
# same run. Built, not run by ctest: run build/tests/bench_trust [RUNS].
add_executable(bench_trust ${CMAKE_CURRENT_LIST_DIR}/bench_trust.c
  ${CMAKE_SOURCE_DIR}/tests/support/cli_harness.c)
target_link_libraries(bench_trust PRIVATE berrymq PkgConfig::JSONC)
target_include_directories(bench_trust PRIVATE ${CMAKE_SOURCE_DIR}/tests/support)
target_compile_definitions(bench_trust PRIVATE
  BMQ_CLI_BIN="$<TARGET_FILE:berrymq-cli>"
  BMQ_HUB_BIN="$<TARGET_FILE:berrymq-hub>")
add_dependencies(bench_trust berrymq-cli berrymq-hub)
