# bench_cli: end-to-end latency of `berrymq twitter` (and notify-send for
# comparison). Built, not run by ctest: run build/tests/bench_cli [RUNS].
add_executable(bench_cli ${CMAKE_CURRENT_LIST_DIR}/bench_cli.c
  ${CMAKE_SOURCE_DIR}/tests/support/cli_harness.c)
target_link_libraries(bench_cli PRIVATE berrymq PkgConfig::JSONC)
target_include_directories(bench_cli PRIVATE ${CMAKE_SOURCE_DIR}/tests/support)
if(TARGET berrymq-hub)
  set(_bench_cli_hub "$<TARGET_FILE:berrymq-hub>")
else()
  set(_bench_cli_hub "${CMAKE_BINARY_DIR}/app/hub/berrymq-hub")
endif()
target_compile_definitions(bench_cli PRIVATE
  BMQ_CLI_BIN="$<TARGET_FILE:berrymq-cli>"
  BMQ_HUB_BIN="${_bench_cli_hub}")
add_dependencies(bench_cli berrymq-cli)
if(TARGET berrymq-hub)
  add_dependencies(bench_cli berrymq-hub)
endif()
