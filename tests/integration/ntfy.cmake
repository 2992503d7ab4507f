# ntfy's HTTP API on the real berrymq-hub, driven with libcurl.
foreach(_t publish stream auth halfopen history)
  set(_labels integration ntfy)
  if(_t STREQUAL "history")
    list(APPEND _labels history)
  endif()
  bmq_add_test(ntfy_${_t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/ntfy_${_t}.c
    ${CMAKE_SOURCE_DIR}/tests/support/hub_harness.c
    LIBS berrymq PkgConfig::CURL PkgConfig::JSONC PkgConfig::GLIB
    TIMEOUT 180 LABELS ${_labels})
  add_dependencies(ntfy_${_t} berrymq-hub berrymq-cli bmq_test_plugins)
  set_property(TEST ntfy_${_t} APPEND PROPERTY ENVIRONMENT
    "BMQ_TEST_PLUGIN_DIR=${CMAKE_BINARY_DIR}/tests/plugins")
  set_tests_properties(ntfy_${_t} PROPERTIES RESOURCE_LOCK berrymq_hub)
endforeach()
