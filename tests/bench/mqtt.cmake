# bench_mqtt: hub -> broker -> hub throughput against the broker alone.
# Built, not run by ctest (add_executable, not bmq_add_test).
if(WITH_PLUGIN_MQTT)
  add_executable(bench_mqtt ${CMAKE_CURRENT_LIST_DIR}/bench_mqtt.c)
  target_link_libraries(bench_mqtt PRIVATE bmq_mqtt_harness PkgConfig::MOSQUITTO)
  target_include_directories(bench_mqtt PRIVATE ${CMAKE_SOURCE_DIR}/tests/support)
  add_dependencies(bench_mqtt plugin_mqtt)
  target_compile_definitions(bench_mqtt PRIVATE
    BMQ_BUILD_PLUGIN_DIR_STR="${BMQ_BUILD_PLUGIN_DIR}")
endif()
