# capture plugin on a private desktop: Xvfb + a private session bus + dunst,
# notifications from other programs (notify-send, gdbus).
set(_cap ${CMAKE_CURRENT_LIST_DIR})
if(TARGET plugin_capture AND TARGET plugin_notify)
  bmq_add_test(desktop_capture SOURCES ${_cap}/desktop_capture.c
    ${CMAKE_SOURCE_DIR}/tests/support/desktop_env.c
    LIBS berrymq PkgConfig::GLIB TIMEOUT 300 LABELS desktop integration capture)
  add_dependencies(desktop_capture plugin_capture plugin_notify)
endif()
