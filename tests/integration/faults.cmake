# Fault containment and recovery, driven through the real hub: crashing,
# hanging and exiting plugins; links that come back; exact integers.
bmq_add_test(hub_faults SOURCES ${CMAKE_CURRENT_LIST_DIR}/hub_faults.c
  ${CMAKE_SOURCE_DIR}/tests/support/hub_harness.c
  LIBS berrymq TIMEOUT 300 LABELS integration hub faults)
add_dependencies(hub_faults berrymq-hub berrymq-cli bmq_test_plugins)
set_property(TEST hub_faults APPEND PROPERTY ENVIRONMENT
  "BMQ_TEST_PLUGIN_DIR=${CMAKE_BINARY_DIR}/tests/plugins")
set_tests_properties(hub_faults PROPERTIES RESOURCE_LOCK berrymq_hub)
# Idle style-03 queues reaped by the hub itself (no request names them).
bmq_add_test(hub_reap SOURCES ${CMAKE_CURRENT_LIST_DIR}/hub_reap.c
  ${CMAKE_SOURCE_DIR}/tests/support/hub_harness.c
  LIBS berrymq TIMEOUT 120 LABELS integration hub faults)
add_dependencies(hub_reap berrymq-hub bmq_test_plugins)
set_property(TEST hub_reap APPEND PROPERTY ENVIRONMENT
  "BMQ_TEST_PLUGIN_DIR=${CMAKE_BINARY_DIR}/tests/plugins")
