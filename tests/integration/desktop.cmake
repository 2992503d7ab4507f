# Desktop integration: Xvfb + a private session bus + dunst (+ trayer), the
# notify and gui plugins in-process through the plugin host.
set(_desk ${CMAKE_CURRENT_LIST_DIR})
if(TARGET plugin_notify)
  bmq_add_test(desktop_notify SOURCES ${_desk}/desktop_notify.c ${_desk}/desktop_env.c
    LIBS berrymq PkgConfig::GLIB TIMEOUT 120 LABELS desktop integration)
  add_dependencies(desktop_notify plugin_notify)
endif()
if(TARGET plugin_gui)
  bmq_add_test(desktop_gui SOURCES ${_desk}/desktop_gui.c ${_desk}/desktop_env.c
    LIBS berrymq PkgConfig::GTK TIMEOUT 120 LABELS desktop integration)
  add_dependencies(desktop_gui plugin_gui)
endif()
