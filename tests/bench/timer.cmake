# bench_timer: how late the timer plugin's ticks arrive (median/p90/p99/max)
# per interval. Built, not run by ctest:
#   build/tests/bench_timer [--ticks N] [--interval S]...
add_executable(bench_timer ${CMAKE_CURRENT_LIST_DIR}/bench_timer.c)
target_link_libraries(bench_timer PRIVATE berrymq m)
target_compile_definitions(bench_timer PRIVATE BMQ_BENCH_PLUGIN_DIR="${BMQ_BUILD_PLUGIN_DIR}")
add_dependencies(bench_timer plugin_timer)
