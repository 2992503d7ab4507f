# growl plugin (label "growl"): wire formats against the protocol texts,
# forwarding to test Growl servers written in the tests, and receiving from
# test Growl clients, with the real plugin host and main loop.
bmq_add_test(growl_proto_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/growl_proto_test.c
  LIBS growl_proto TIMEOUT 60 LABELS growl)
bmq_add_test(growl_forward_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/growl_forward_test.c
  LIBS berrymq TIMEOUT 120 LABELS growl)
add_dependencies(growl_forward_test plugin_growl)
bmq_add_test(growl_receive_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/growl_receive_test.c
  LIBS berrymq TIMEOUT 120 LABELS growl)
add_dependencies(growl_receive_test plugin_growl)
