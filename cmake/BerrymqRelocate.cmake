# Relative paths between install directories, for RUNPATHs and for the
# programs that locate their data at run time:
#   BMQ_RPATH_BIN     RUNPATH of executables in bindir ($ORIGIN/../lib...)
#   BMQ_RPATH_LIB     RUNPATH of libraries in libdir ($ORIGIN)
#   BMQ_RPATH_PLUGIN  RUNPATH of plugins ($ORIGIN/../..), which link
#                     libberrymq-gtk and other libraries of this project
#   BMQ_BIN_TO_LIB    bindir -> libdir ("../lib/x86_64-linux-gnu")
#   BMQ_BIN_TO_DATA   bindir -> datadir/berrymq ("../share/berrymq")
#   BMQ_PLUGIN_TO_DATA plugin dir -> datadir ("../../../../share")
#   BMQ_LIB_TO_PLUGIN libdir -> plugin dir ("berrymq/plugins")
set(_p /bmq-prefix)
file(RELATIVE_PATH _b2l ${_p}/${CMAKE_INSTALL_BINDIR} ${_p}/${CMAKE_INSTALL_LIBDIR})
file(RELATIVE_PATH _p2l ${_p}/${BMQ_PLUGIN_INSTALL_DIR} ${_p}/${CMAKE_INSTALL_LIBDIR})
file(RELATIVE_PATH BMQ_BIN_TO_DATA ${_p}/${CMAKE_INSTALL_BINDIR} ${_p}/${CMAKE_INSTALL_DATADIR}/berrymq)
file(RELATIVE_PATH BMQ_PLUGIN_TO_DATA ${_p}/${BMQ_PLUGIN_INSTALL_DIR} ${_p}/${CMAKE_INSTALL_DATADIR})
file(RELATIVE_PATH BMQ_LIB_TO_PLUGIN ${_p}/${CMAKE_INSTALL_LIBDIR} ${_p}/${BMQ_PLUGIN_INSTALL_DIR})
set(BMQ_BIN_TO_LIB "${_b2l}")
set(BMQ_RPATH_BIN "$ORIGIN/${_b2l}")
set(BMQ_RPATH_LIB "$ORIGIN")
set(BMQ_RPATH_PLUGIN "$ORIGIN/${_p2l}")
unset(_p)
unset(_b2l)
unset(_p2l)
