# capture plugin on a private desktop: Xvfb + a private session bus + dunst,
# notifications from other programs (notify-send, gdbus).
set(_cap ${CMAKE_CURRENT_LIST_DIR})
if(TARGET plugin_capture AND TARGET plugin_notify)
  bmq_add_test(desktop_capture SOURCES ${_cap}/desktop_capture.c
    ${CMAKE_SOURCE_DIR}/tests/support/desktop_env.c
    LIBS berrymq PkgConfig::GLIB TIMEOUT 300 LABELS desktop integration capture)
  add_dependencies(desktop_capture plugin_capture plugin_notify)
endif()
# Buses of the test's own (no display): policy refusal, bus restart, images.
if(TARGET plugin_capture)
  bmq_add_test(capture_bus SOURCES ${_cap}/capture_bus.c
    LIBS berrymq PkgConfig::GLIB TIMEOUT 120 LABELS capture)
  add_dependencies(capture_bus plugin_capture)
endif()
# Through the real hub and the CLI.
if(TARGET plugin_capture AND TARGET plugin_notify AND TARGET berrymq-hub AND TARGET berrymq-cli)
  bmq_add_test(desktop_capture_hub SOURCES ${_cap}/desktop_capture_hub.c
    ${CMAKE_SOURCE_DIR}/tests/support/desktop_env.c
    LIBS berrymq PkgConfig::GLIB PkgConfig::JSONC TIMEOUT 300 LABELS desktop integration hub capture)
  add_dependencies(desktop_capture_hub plugin_capture plugin_notify berrymq-hub berrymq-cli)
endif()
