# The MQTT harness (a real mosquitto, in-process hubs, collectors), shared
# by the mqtt tests of tests/integration and by bench_mqtt.
if(WITH_PLUGIN_MQTT)
  add_library(bmq_mqtt_harness STATIC EXCLUDE_FROM_ALL ${CMAKE_CURRENT_LIST_DIR}/mqtt_harness.c)
  target_link_libraries(bmq_mqtt_harness PUBLIC berrymq PkgConfig::GLIB PkgConfig::JSONC)
  target_include_directories(bmq_mqtt_harness PUBLIC ${CMAKE_CURRENT_LIST_DIR})
endif()
