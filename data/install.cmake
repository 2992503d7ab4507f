# Installed data of the hub (included by data/CMakeLists.txt, which itself
# installs hub.json into ${datadir}/berrymq).
configure_file(${CMAKE_CURRENT_LIST_DIR}/berrymq-hub.service.in
  ${CMAKE_CURRENT_BINARY_DIR}/berrymq-hub.service @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/berrymq-hub.service
  DESTINATION lib/systemd/user)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/berrymq-hub.desktop
  DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
# /etc/xdg/autostart for a /usr prefix; PREFIX/etc/xdg/autostart for any
# other prefix (relative, so that `cmake --install --prefix` relocates it).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(_bmq_autostart_dir /etc/xdg/autostart)
else()
  set(_bmq_autostart_dir ${CMAKE_INSTALL_SYSCONFDIR}/xdg/autostart)
endif()
install(FILES ${CMAKE_CURRENT_LIST_DIR}/berrymq-hub-autostart.desktop
  DESTINATION ${_bmq_autostart_dir} RENAME berrymq-hub.desktop)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/berrymq.svg
  DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps)
