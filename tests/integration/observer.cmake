# The hub with the timer and fileobserver plugins, driven by the CLI.
if(TARGET berrymq-hub AND TARGET berrymq-cli AND TARGET plugin_fileobserver)
  find_program(BMQ_OBSERVER_SH sh)
  add_test(NAME observer_hub
    COMMAND ${BMQ_OBSERVER_SH} ${CMAKE_CURRENT_LIST_DIR}/observer_test.sh
      $<TARGET_FILE:berrymq-hub> $<TARGET_FILE:berrymq-cli> ${BMQ_BUILD_PLUGIN_DIR})
  set_tests_properties(observer_hub PROPERTIES TIMEOUT 60 SKIP_RETURN_CODE 77
    ENVIRONMENT "${BMQ_TEST_ENV}" RESOURCE_LOCK berrymq_hub)
  bmq_test_labels(observer_hub fileobserver)
endif()
