# bench_fileobserver: write-to-follower latency (median/p99) and the cost of
# an idle observer of 10,000 files. Built, not run by ctest:
#   build/tests/bench_fileobserver [--writes N] [--idle-files N] [--idle-seconds S]
add_executable(bench_fileobserver ${CMAKE_CURRENT_LIST_DIR}/bench_fileobserver.c)
target_link_libraries(bench_fileobserver PRIVATE berrymq m)
target_compile_definitions(bench_fileobserver PRIVATE
  BMQ_BENCH_PLUGIN_DIR="${BMQ_BUILD_PLUGIN_DIR}")
add_dependencies(bench_fileobserver plugin_fileobserver)
