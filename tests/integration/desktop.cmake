# Desktop integration: Xvfb + a private session bus + dunst (+ trayer), the
# notify and gui plugins in-process through the plugin host.
set(_desk ${CMAKE_CURRENT_LIST_DIR})
if(TARGET plugin_notify)
  bmq_add_test(desktop_notify SOURCES ${_desk}/desktop_notify.c ${CMAKE_SOURCE_DIR}/tests/support/desktop_env.c
    LIBS berrymq PkgConfig::GLIB TIMEOUT 240 LABELS desktop integration)
  add_dependencies(desktop_notify plugin_notify)
endif()
if(TARGET plugin_gui)
  bmq_add_test(desktop_gui SOURCES ${_desk}/desktop_gui.c ${CMAKE_SOURCE_DIR}/tests/support/desktop_env.c
    LIBS berrymq PkgConfig::GTK TIMEOUT 240 LABELS desktop integration)
  add_dependencies(desktop_gui plugin_gui)
  # Full malloc stacks, so the one GTK leak in tests/lsan.supp can be named.
  set_property(TEST desktop_gui APPEND PROPERTY ENVIRONMENT
    "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:fast_unwind_on_malloc=0")
endif()
if(TARGET plugin_notify AND TARGET plugin_gui AND TARGET plugin_timer AND TARGET berrymq-hub
   AND TARGET berrymq-cli)
  bmq_add_test(desktop_hub SOURCES ${_desk}/desktop_hub.c ${CMAKE_SOURCE_DIR}/tests/support/desktop_env.c
    LIBS berrymq PkgConfig::GLIB TIMEOUT 240 LABELS desktop integration hub)
  add_dependencies(desktop_hub plugin_notify plugin_gui plugin_timer berrymq-hub berrymq-cli)
  set_tests_properties(desktop_hub PROPERTIES RESOURCE_LOCK berrymq_hub)
  # The hub runs the gui plugin's X tray icon: see desktop_gui above.
  set_property(TEST desktop_hub APPEND PROPERTY ENVIRONMENT
    "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:fast_unwind_on_malloc=0")
endif()
if(TARGET plugin_notify AND TARGET berrymq-hub AND TARGET berrymq-cli)
  bmq_add_test(desktop_notify_send SOURCES ${_desk}/desktop_notify_send.c
    ${CMAKE_SOURCE_DIR}/tests/support/desktop_env.c
    LIBS berrymq PkgConfig::GLIB TIMEOUT 240 LABELS desktop integration cli)
  add_dependencies(desktop_notify_send plugin_notify berrymq-hub berrymq-cli)
  set_tests_properties(desktop_notify_send PROPERTIES RESOURCE_LOCK berrymq_hub)
endif()
if(TARGET plugin_notify AND TARGET berrymq-hub AND TARGET berrymq-cli)
  # The notify backlog kept in the history across a kill -9 of the hub.
  bmq_add_test(desktop_notify_restart SOURCES ${_desk}/desktop_notify_restart.c
    ${CMAKE_SOURCE_DIR}/tests/support/desktop_env.c
    LIBS berrymq PkgConfig::GLIB TIMEOUT 240 LABELS desktop integration history)
  add_dependencies(desktop_notify_restart plugin_notify berrymq-hub berrymq-cli)
  set_tests_properties(desktop_notify_restart PROPERTIES RESOURCE_LOCK berrymq_hub)
endif()
if(TARGET plugin_gui AND TARGET berrymq-hub AND TARGET berrymq-cli)
  # The monitor lists the history from before it started; keys sent with XTest.
  pkg_check_modules(XTST IMPORTED_TARGET x11 xtst)
  if(XTST_FOUND)
    bmq_add_test(desktop_monitor_history SOURCES ${_desk}/desktop_monitor_history.c
      ${CMAKE_SOURCE_DIR}/tests/support/desktop_env.c
      LIBS berrymq PkgConfig::GTK PkgConfig::XTST TIMEOUT 240 LABELS desktop integration history)
    add_dependencies(desktop_monitor_history plugin_gui berrymq-hub berrymq-cli)
    set_tests_properties(desktop_monitor_history PROPERTIES RESOURCE_LOCK berrymq_hub)
    set_property(TEST desktop_monitor_history APPEND PROPERTY ENVIRONMENT
      "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:fast_unwind_on_malloc=0")
  endif()
endif()
if(TARGET plugin_notify AND TARGET berrymq-hub AND TARGET berrymq-cli)
  # ntfy publishes (curl, JSON, query string, berrymq publish) shown by dunst.
  bmq_add_test(desktop_ntfy SOURCES ${_desk}/desktop_ntfy.c
    ${CMAKE_SOURCE_DIR}/tests/support/desktop_env.c
    LIBS berrymq bmq_http_server PkgConfig::GLIB TIMEOUT 240 LABELS desktop integration ntfy)
  add_dependencies(desktop_ntfy plugin_notify berrymq-hub berrymq-cli)
  set_tests_properties(desktop_ntfy PROPERTIES RESOURCE_LOCK berrymq_hub)
endif()
