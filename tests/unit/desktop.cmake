# libberrymq-gtk unit test (own Xvfb via the desktop harness).
if(TARGET berrymq-gtk)
  bmq_add_test(gtkbridge SOURCES ${CMAKE_CURRENT_LIST_DIR}/gtkbridge.c
    ${CMAKE_SOURCE_DIR}/tests/support/desktop_env.c
    LIBS berrymq-gtk TIMEOUT 60 LABELS desktop unit)
endif()
if(TARGET plugin_notify)
  bmq_add_test(notify_plugin SOURCES ${CMAKE_CURRENT_LIST_DIR}/notify_plugin.c
    LIBS berrymq PkgConfig::GLIB TIMEOUT 60 LABELS desktop unit)
  add_dependencies(notify_plugin plugin_notify)
endif()
