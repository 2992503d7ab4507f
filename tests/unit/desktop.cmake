# libberrymq-gtk unit test (own Xvfb via the desktop harness).
if(TARGET berrymq-gtk)
  bmq_add_test(gtkbridge SOURCES ${CMAKE_CURRENT_LIST_DIR}/gtkbridge.c
    ${CMAKE_CURRENT_LIST_DIR}/../integration/desktop_env.c
    LIBS berrymq-gtk TIMEOUT 60 LABELS desktop unit)
endif()
