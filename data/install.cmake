# Installed data of the hub (included by data/CMakeLists.txt, which itself
# installs hub.json into ${datadir}/berrymq).
#
# The systemd user unit and the autostart entry go where systemd and the
# desktop look for the prefix given *at install time* (cmake --install
# --prefix X may differ from the configured prefix), so their directories
# and the absolute ExecStart/Exec path are worked out by install-files.cmake
# when it runs (see the table there).
install(FILES ${CMAKE_CURRENT_LIST_DIR}/berrymq-hub.desktop
  DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/berrymq.svg
  DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps)
install(CODE "
  set(BMQ_DATA_SRC \"${CMAKE_CURRENT_LIST_DIR}\")
  set(BMQ_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  set(BMQ_GEN_DIR \"${CMAKE_CURRENT_BINARY_DIR}\")
  include(\"${CMAKE_CURRENT_LIST_DIR}/install-files.cmake\")")
