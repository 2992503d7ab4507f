# Loopback throughput of the JSON-RPC links; built, not run by ctest.
add_executable(bench_net ${CMAKE_CURRENT_LIST_DIR}/bench_net.c)
target_link_libraries(bench_net PRIVATE berrymq)
