# Who the hub obeys: browser requests refused, other users refused, admin
# methods for the hub's own user (see docs/security.md). Real hub, real
# sockets on loopback and in a private XDG_RUNTIME_DIR.
foreach(_t net_trust net_user hub_browser)
  bmq_add_test(${_t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/${_t}.c
    ${CMAKE_SOURCE_DIR}/tests/support/hub_harness.c
    LIBS berrymq TIMEOUT 120 LABELS integration hub trust)
  add_dependencies(${_t} berrymq-hub berrymq-cli bmq_test_plugins)
  set_property(TEST ${_t} APPEND PROPERTY ENVIRONMENT
    "BMQ_TEST_PLUGIN_DIR=${CMAKE_BINARY_DIR}/tests/plugins")
  set_tests_properties(${_t} PROPERTIES RESOURCE_LOCK berrymq_hub)
endforeach()
