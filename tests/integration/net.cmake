# Net integration tests: real processes (net_peer) linked over 127.0.0.1, and
# an original-node emulation (python3, HTTP/1.0) in every style.
add_executable(net_peer ${CMAKE_CURRENT_LIST_DIR}/net_peer.c)
target_link_libraries(net_peer PRIVATE berrymq)
bmq_add_test(net_multi SOURCES ${CMAKE_CURRENT_LIST_DIR}/net_multi.c
  LIBS berrymq TIMEOUT 120 LABELS net integration)
target_compile_definitions(net_multi PRIVATE NET_PEER_PATH="$<TARGET_FILE:net_peer>")
add_dependencies(net_multi net_peer)
bmq_add_test(net_orig SOURCES ${CMAKE_CURRENT_LIST_DIR}/net_orig.c
  LIBS berrymq TIMEOUT 60 LABELS net integration)
target_compile_definitions(net_orig PRIVATE
  NET_ORIG_NODE="${CMAKE_CURRENT_LIST_DIR}/net_orig_node.py")
