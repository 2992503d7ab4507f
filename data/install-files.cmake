# Runs at install time (install(CODE) from data/install.cmake) with the
# install-time CMAKE_INSTALL_PREFIX; DESTDIR is honoured by file(INSTALL).
#
#   prefix              systemd user unit             autostart entry
#   /usr                /usr/lib/systemd/user         /etc/xdg/autostart
#   /usr/local          /usr/local/lib/systemd/user   /etc/xdg/autostart
#   under $HOME         ~/.local/share/systemd/user   ~/.config/autostart
#   anything else       PREFIX/lib/systemd/user       PREFIX/etc/xdg/autostart
#
# Every directory in the first three rows is searched by systemd --user and
# by XDG autostart ($XDG_DATA_HOME and $XDG_CONFIG_HOME stand for ~/.local/share
# and ~/.config when set); for the last row a message says what to link.
# Inputs: BMQ_DATA_SRC (this folder), BMQ_BINDIR (relative bindir),
# BMQ_GEN_DIR (a build directory to write the generated files to).
set(_prefix "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/+$" "" _prefix "${_prefix}")
set(_home "$ENV{HOME}")
set(_user_prefix FALSE)
if(_home AND NOT _home STREQUAL "/")
  string(FIND "${_prefix}/" "${_home}/" _at)
  if(_at EQUAL 0)
    set(_user_prefix TRUE)
  endif()
endif()
if(_user_prefix)
  if("$ENV{XDG_DATA_HOME}" MATCHES "^/")
    set(_unit_dir "$ENV{XDG_DATA_HOME}/systemd/user")
  else()
    set(_unit_dir "${_home}/.local/share/systemd/user")
  endif()
  if("$ENV{XDG_CONFIG_HOME}" MATCHES "^/")
    set(_autostart_dir "$ENV{XDG_CONFIG_HOME}/autostart")
  else()
    set(_autostart_dir "${_home}/.config/autostart")
  endif()
elseif(_prefix STREQUAL "/usr" OR _prefix STREQUAL "/usr/local")
  set(_unit_dir "${_prefix}/lib/systemd/user")
  set(_autostart_dir "/etc/xdg/autostart")
else()
  set(_unit_dir "${_prefix}/lib/systemd/user")
  set(_autostart_dir "${_prefix}/etc/xdg/autostart")
  message(STATUS "berrymq: systemd and the desktop do not search ${_prefix}; to use them:\n"
    "  ln -s ${_unit_dir}/berrymq-hub.service ~/.config/systemd/user/\n"
    "  ln -s ${_autostart_dir}/berrymq-hub.desktop ~/.config/autostart/")
endif()

set(BMQ_HUB_EXE "${_prefix}/${BMQ_BINDIR}/berrymq-hub")
# One folder per destination: installs to different prefixes from the same
# build tree may run at the same time.
string(MD5 _dest "$ENV{DESTDIR}|${_prefix}")
set(_gen "${BMQ_GEN_DIR}/install-time/${_dest}")
configure_file("${BMQ_DATA_SRC}/berrymq-hub.service.in" "${_gen}/berrymq-hub.service" @ONLY)
configure_file("${BMQ_DATA_SRC}/berrymq-hub-autostart.desktop.in" "${_gen}/berrymq-hub.desktop" @ONLY)
file(INSTALL "${_gen}/berrymq-hub.service" DESTINATION "${_unit_dir}")
file(INSTALL "${_gen}/berrymq-hub.desktop" DESTINATION "${_autostart_dir}")
