# Core benchmark: built, never run by ctest (it prints figures, asserts none).
add_executable(bench_core ${CMAKE_CURRENT_LIST_DIR}/bench_core.c)
target_link_libraries(bench_core PRIVATE berrymq)
