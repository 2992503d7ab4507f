# Integration tests of the berrymq CLI against the real hub (berrymq-hub),
# each with its own temporary HOME/XDG dirs and a free loopback port.
set(_cli_dir ${CMAKE_CURRENT_LIST_DIR})

# A plugin whose entry function aborts: `plugin install` must survive it.
add_library(cli_crashplug MODULE ${_cli_dir}/cli_plugin/crashplug.c)
set_target_properties(cli_crashplug PROPERTIES PREFIX "" OUTPUT_NAME crashplug
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/integration/cli_plugin
  C_VISIBILITY_PRESET hidden)
target_link_libraries(cli_crashplug PRIVATE berrymq)

if(TARGET berrymq-hub)
  set(_cli_hub_bin "$<TARGET_FILE:berrymq-hub>")
else()
  set(_cli_hub_bin "${CMAKE_BINARY_DIR}/app/hub/berrymq-hub")
endif()

foreach(_t send plugin exit publish)
  set(_labels cli integration)
  if(_t STREQUAL "publish")
    list(APPEND _labels ntfy)
  endif()
  bmq_add_test(cli_${_t}
    SOURCES ${_cli_dir}/cli_${_t}_test.c ${CMAKE_SOURCE_DIR}/tests/support/cli_harness.c
    LIBS PkgConfig::JSONC
    TIMEOUT 180 LABELS ${_labels})
  target_compile_definitions(cli_${_t} PRIVATE
    BMQ_CLI_BIN="$<TARGET_FILE:berrymq-cli>"
    BMQ_HUB_BIN="${_cli_hub_bin}"
    BMQ_TEST_PLUGIN_DIR="${CMAKE_BINARY_DIR}/tests/plugins"
    CLI_CRASHPLUG="$<TARGET_FILE:cli_crashplug>")
  add_dependencies(cli_${_t} berrymq-cli cli_crashplug)
  if(TARGET berrymq-hub)
    add_dependencies(cli_${_t} berrymq-hub)
  endif()
endforeach()

# The test plugins (tests/plugins/) are defined by a fragment included after
# this one: add the dependency once the whole directory is read.
function(_cli_add_test_plugin_deps)
  if(TARGET bmq_test_plugins)
    foreach(_t send plugin exit publish)
      add_dependencies(cli_${_t} bmq_test_plugins)
    endforeach()
  endif()
endfunction()
cmake_language(DEFER CALL _cli_add_test_plugin_deps)
