# Installed data of the hub (included by data/CMakeLists.txt, which itself
# installs hub.json into ${datadir}/berrymq).
configure_file(${CMAKE_CURRENT_LIST_DIR}/berrymq-hub.service.in
  ${CMAKE_CURRENT_BINARY_DIR}/berrymq-hub.service @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/berrymq-hub.service
  DESTINATION lib/systemd/user)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/berrymq-hub.desktop
  DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
# /etc/xdg/autostart for a /usr prefix (GNUInstallDirs maps sysconfdir to
# /etc there); stays inside any other prefix.
install(FILES ${CMAKE_CURRENT_LIST_DIR}/berrymq-hub-autostart.desktop
  DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/xdg/autostart
  RENAME berrymq-hub.desktop)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/berrymq.svg
  DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps)
