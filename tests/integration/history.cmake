# The hub's message history (SQLite): recording, reading, durability after
# kill -9, retention, recovery of a damaged file, a full disk.
foreach(_t basic cli crash retention recovery disk cursor sources gntp)
  bmq_add_test(history_${_t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/history_${_t}.c
    ${CMAKE_SOURCE_DIR}/tests/support/hub_harness.c ${CMAKE_SOURCE_DIR}/tests/support/rpc_post.c
    LIBS berrymq TIMEOUT 180 LABELS integration history)
  add_dependencies(history_${_t} berrymq-hub berrymq-cli bmq_test_plugins)
  set_property(TEST history_${_t} APPEND PROPERTY ENVIRONMENT
    "BMQ_TEST_PLUGIN_DIR=${CMAKE_BINARY_DIR}/tests/plugins")
  set_tests_properties(history_${_t} PROPERTIES RESOURCE_LOCK berrymq_hub)
endforeach()
add_dependencies(history_sources plugin_timer plugin_growl)
add_dependencies(history_gntp plugin_growl)
