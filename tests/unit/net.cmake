# Net (JSON-RPC links) unit tests: the dispatcher without sockets, and the
# HTTP server driven by raw sockets written from the protocol text.
bmq_add_test(net_rpc SOURCES ${CMAKE_CURRENT_LIST_DIR}/net_rpc.c
  LIBS berrymq_internal TIMEOUT 60 LABELS net)
bmq_add_test(net_http SOURCES ${CMAKE_CURRENT_LIST_DIR}/net_http.c
  LIBS berrymq TIMEOUT 60 LABELS net)
