# The plugins' threads under ThreadSanitizer (label tsan), inside the
# default preset like core_*_tsan (tests/unit/core.cmake): libberrymq, the
# growl, mqtt and fileobserver plugins and the tests, all built again with
# -fsanitize=thread; the plugins go to plugins-tsan/, which the tests load
# from, in-process under the real plugin host. GLib is not instrumented:
# tests/support/tsan_glib.c shows TSan its locks and main-loop hand-offs.
if(BMQ_HAVE_TSAN)
  set(_tsan_flags -fsanitize=thread -O1 -g)
  set(_tsan_plugin_dir ${CMAKE_BINARY_DIR}/plugins-tsan)
  file(GLOB _tsan_sdk_srcs ${CMAKE_SOURCE_DIR}/sdk/src/core/*.c ${CMAKE_SOURCE_DIR}/sdk/src/net/*.c
    ${CMAKE_SOURCE_DIR}/sdk/src/plugin/*.c)
  add_library(berrymq_tsan SHARED EXCLUDE_FROM_ALL ${_tsan_sdk_srcs})
  target_include_directories(berrymq_tsan
    PUBLIC ${CMAKE_SOURCE_DIR}/sdk/include ${CMAKE_BINARY_DIR}/sdk/include
    PRIVATE ${CMAKE_SOURCE_DIR}/sdk/src/core ${CMAKE_SOURCE_DIR}/sdk/src/net
            ${CMAKE_SOURCE_DIR}/sdk/src/plugin)
  target_compile_definitions(berrymq_tsan PRIVATE BMQ_BUILDING)
  target_compile_options(berrymq_tsan PUBLIC ${_tsan_flags})
  target_link_options(berrymq_tsan PUBLIC -fsanitize=thread)
  target_link_libraries(berrymq_tsan PUBLIC PkgConfig::GLIB PkgConfig::JSONC
    PRIVATE PkgConfig::CURL PkgConfig::MHD ${CMAKE_DL_LIBS} m Threads::Threads)

  function(_bmq_tsan_plugin name)
    cmake_parse_arguments(P "" "" "SOURCES;LIBS" ${ARGN})
    add_library(tsan_plugin_${name} MODULE EXCLUDE_FROM_ALL ${P_SOURCES})
    set_target_properties(tsan_plugin_${name} PROPERTIES PREFIX "" OUTPUT_NAME ${name}
      LIBRARY_OUTPUT_DIRECTORY ${_tsan_plugin_dir} C_VISIBILITY_PRESET hidden)
    target_link_libraries(tsan_plugin_${name} PRIVATE berrymq_tsan ${P_LIBS})
  endfunction()

  # The test executable defines GLib's lock functions (tsan_glib.c) and
  # exports them, so libberrymq and the plugins bind to those.
  function(_bmq_tsan_test name)
    cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS;PLUGINS" ${ARGN})
    bmq_add_test(${name} SOURCES ${T_SOURCES} ${CMAKE_SOURCE_DIR}/tests/support/tsan_glib.c
      LIBS berrymq_tsan ${T_LIBS} ${CMAKE_DL_LIBS} TIMEOUT 300 LABELS tsan ${T_LABELS})
    target_link_options(${name} PRIVATE -rdynamic)
    foreach(_p IN LISTS T_PLUGINS)
      add_dependencies(${name} tsan_plugin_${_p})
    endforeach()
    set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT
      "TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1"
      "BMQ_PLUGIN_BUILD_DIR=${_tsan_plugin_dir}")
  endfunction()

  set(_g ${CMAKE_SOURCE_DIR}/plugins/growl)
  _bmq_tsan_plugin(growl SOURCES ${_g}/growl.c ${_g}/sender.c ${_g}/callback.c ${_g}/receiver.c
    ${_g}/gntp_format.c ${_g}/gntp_parse.c ${_g}/udp_format.c ${_g}/udp_parse.c ${_g}/template.c
    LIBS PkgConfig::GLIB PkgConfig::JSONC)
  target_include_directories(tsan_plugin_growl PRIVATE ${_g})
  _bmq_tsan_test(growl_sender_tsan SOURCES ${CMAKE_CURRENT_LIST_DIR}/growl_sender_tsan.c
    LABELS growl PLUGINS growl)

  set(_fo ${CMAKE_SOURCE_DIR}/plugins/fileobserver)
  _bmq_tsan_plugin(fileobserver SOURCES ${_fo}/fileobserver.c ${_fo}/fo_config.c ${_fo}/fo_watch.c)
  _bmq_tsan_test(fileobserver_tsan SOURCES ${CMAKE_CURRENT_LIST_DIR}/fileobserver_tsan.c
    LABELS fileobserver PLUGINS fileobserver)

  if(WITH_PLUGIN_MQTT)
    set(_mq ${CMAKE_SOURCE_DIR}/plugins/mqtt)
    _bmq_tsan_plugin(mqtt SOURCES ${_mq}/mqtt_plugin.c ${_mq}/mqtt_link.c ${_mq}/mqtt_config.c
      ${_mq}/mqtt_map.c ${_mq}/mqtt_json.c ${_mq}/mqtt_outbox.c LIBS PkgConfig::MOSQUITTO)
    _bmq_tsan_test(mqtt_tsan SOURCES ${CMAKE_CURRENT_LIST_DIR}/mqtt_tsan.c
      ${CMAKE_SOURCE_DIR}/tests/support/mqtt_harness.c
      LABELS mqtt PLUGINS mqtt)
  endif()
endif()
