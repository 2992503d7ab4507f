# The loopback HTTP(S) test server (libmicrohttpd) for tests and benchmarks
# of HTTP clients. Targets link it by name; CMake resolves the name once
# every fragment is read.
add_library(bmq_http_server STATIC ${CMAKE_CURRENT_LIST_DIR}/http_server.c)
target_include_directories(bmq_http_server PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(bmq_http_server PUBLIC PkgConfig::GLIB PkgConfig::MHD)
