# MQTT bridge tests: each starts its own mosquitto broker on a free
# loopback port and drives in-process hubs, the mosquitto_pub/_sub clients
# and (when built) the real berrymq-hub and berrymq programs. The harness
# library is tests/support/mqtt_harness.cmake.
if(WITH_PLUGIN_MQTT)
  set(_mqtt_dir ${CMAKE_CURRENT_LIST_DIR})

  bmq_add_test(mqtt_mapping
    SOURCES ${_mqtt_dir}/mqtt_mapping.c ${CMAKE_SOURCE_DIR}/plugins/mqtt/mqtt_map.c
            ${CMAKE_SOURCE_DIR}/plugins/mqtt/mqtt_json.c
            ${CMAKE_SOURCE_DIR}/plugins/mqtt/mqtt_config.c
    LIBS berrymq PkgConfig::GLIB PkgConfig::JSONC PkgConfig::MOSQUITTO
    TIMEOUT 30 LABELS mqtt)
  target_include_directories(mqtt_mapping PRIVATE ${CMAKE_SOURCE_DIR}/plugins/mqtt)

  foreach(_t bridge clients restart will tls)
    bmq_add_test(mqtt_${_t} SOURCES ${_mqtt_dir}/mqtt_${_t}.c
      LIBS bmq_mqtt_harness TIMEOUT 60 LABELS mqtt)
    add_dependencies(mqtt_${_t} plugin_mqtt)
  endforeach()

  # Real hub processes and the CLI, when they are part of this build.
  if(TARGET berrymq-hub AND TARGET berrymq-cli)
    bmq_add_test(mqtt_hub SOURCES ${_mqtt_dir}/mqtt_hub.c
      LIBS bmq_mqtt_harness TIMEOUT 90 LABELS mqtt)
    add_dependencies(mqtt_hub plugin_mqtt berrymq-hub berrymq-cli)

    # The QoS 1 outbox kept in the hub's history across a SIGKILL.
    bmq_add_test(mqtt_hub_restart
      SOURCES ${_mqtt_dir}/mqtt_hub_restart.c ${CMAKE_SOURCE_DIR}/tests/support/cli_harness.c
      LIBS bmq_mqtt_harness TIMEOUT 300 LABELS mqtt history)
    target_compile_definitions(mqtt_hub_restart PRIVATE
      BMQ_CLI_BIN="$<TARGET_FILE:berrymq-cli>"
      BMQ_HUB_BIN="$<TARGET_FILE:berrymq-hub>")
    add_dependencies(mqtt_hub_restart plugin_mqtt berrymq-hub berrymq-cli)
  endif()
endif()
