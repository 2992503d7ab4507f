# Debian packages with CPack: `cpack -G DEB` in the build directory writes
#   berrymq-hub_VERSION_ARCH.deb     programs, libraries, plugins, data,
#                                    man pages, completions, user unit
#   libberrymq-dev_VERSION_ARCH.deb  headers, .pc, CMake package, plugin
#                                    template (depends on berrymq-hub)
# Whatever prefix the build was configured for, the packages install to
# /usr (paths are relative at run time, see BerrymqRelocate.cmake); the
# install-time script in data/ puts the unit in /usr/lib/systemd/user and
# autostart in /etc/xdg/autostart. Depends are computed by dpkg-shlibdeps.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME berrymq)
set(CPACK_PACKAGE_VENDOR "berryMQ")
set(CPACK_PACKAGE_CONTACT "berryMQ maintainers <berrymq@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# CPackDeb puts CPACK_PACKAGE_DESCRIPTION_SUMMARY before every component's
# description unless it is CPack's default, so both packages would share
# the hub's synopsis: leave it at the default and let the first line of
# each CPACK_COMPONENT_<C>_DESCRIPTION be that package's synopsis.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${CMAKE_PROJECT_NAME} built using CMake")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES OFF)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/packages)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL hub dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)

set(CPACK_DEBIAN_HUB_PACKAGE_NAME berrymq-hub)
# One string each (several arguments would make a list, whose ';' would
# show in the Description).
string(CONCAT CPACK_COMPONENT_HUB_DESCRIPTION
  "${PROJECT_DESCRIPTION}\n"
  "A resident hub that shows messages from scripts, builds and other hubs as\n"
  "desktop notifications, forwards them to Growl, ntfy, webhooks and MQTT,\n"
  "keeps a searchable history, and speaks the berryMQ JSON-RPC protocol.\n"
  "Includes the berrymq command-line tool, libberrymq and the bundled plugins.")
# The hub is usable headless; a notification daemon is what shows popups.
set(CPACK_DEBIAN_HUB_PACKAGE_RECOMMENDS "notification-daemon | dunst | xfce4-notifyd | gnome-shell | plasma-workspace")
set(CPACK_DEBIAN_HUB_PACKAGE_SUGGESTS "bash-completion")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libberrymq-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DEPENDS hub)
string(CONCAT CPACK_COMPONENT_DEV_DESCRIPTION
  "berryMQ: development files for libberrymq and hub plugins\n"
  "Headers, pkg-config and CMake package files, and a plugin template.")
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libglib2.0-dev, libjson-c-dev, pkg-config")

include(CPack)
