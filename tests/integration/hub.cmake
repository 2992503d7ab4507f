# The real berrymq-hub driven over JSON-RPC, with the test plugins of
# tests/plugins; and the plugin template built out of tree against an
# installed copy of the project.
foreach(_t lifecycle reload config links)
  bmq_add_test(hub_${_t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/hub_${_t}.c
    ${CMAKE_SOURCE_DIR}/tests/support/hub_harness.c
    ${CMAKE_SOURCE_DIR}/tests/support/rpc_post.c
    LIBS berrymq TIMEOUT 120 LABELS integration hub)
  add_dependencies(hub_${_t} berrymq-hub bmq_test_plugins)
  set_property(TEST hub_${_t} APPEND PROPERTY ENVIRONMENT
    "BMQ_TEST_PLUGIN_DIR=${CMAKE_BINARY_DIR}/tests/plugins")
  # One hub per user: these tests each use their own XDG_RUNTIME_DIR, but
  # keep them apart anyway to spare the two shared cores.
  set_tests_properties(hub_${_t} PROPERTIES RESOURCE_LOCK berrymq_hub)
endforeach()

find_program(BMQ_SH sh)
add_test(NAME hub_plugin_template
  COMMAND ${BMQ_SH} ${CMAKE_CURRENT_LIST_DIR}/hub_template.sh ${CMAKE_BINARY_DIR}
    ${CMAKE_SOURCE_DIR}/sdk/examples/plugin-template ${CMAKE_COMMAND} ${CMAKE_C_COMPILER})
set_tests_properties(hub_plugin_template PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77
  ENVIRONMENT "${BMQ_TEST_ENV}" RESOURCE_LOCK berrymq_hub)
bmq_test_labels(hub_plugin_template hub)
