# Installs of the built tree to a temporary prefix, ~/.local and another
# prefix under a temporary HOME, and /usr/local under a DESTDIR; each runs
# the installed hub.
find_program(BMQ_SH sh)
foreach(_m prefix local home usr_local)
  add_test(NAME install_${_m}
    COMMAND ${BMQ_SH} ${CMAKE_CURRENT_LIST_DIR}/install_test.sh ${_m} ${CMAKE_BINARY_DIR}
      ${CMAKE_COMMAND} ${CMAKE_SOURCE_DIR})
  set_tests_properties(install_${_m} PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77
    ENVIRONMENT "${BMQ_TEST_ENV}" RESOURCE_LOCK berrymq_hub)
  bmq_test_labels(install_${_m} install desktop)
endforeach()

# The .deb packages, installed with apt-get in an overlay of this machine.
get_filename_component(_cmake_bin ${CMAKE_COMMAND} DIRECTORY)
add_test(NAME package_deb
  COMMAND ${BMQ_SH} ${CMAKE_CURRENT_LIST_DIR}/package_deb.sh ${CMAKE_BINARY_DIR}
    ${CMAKE_SOURCE_DIR} ${_cmake_bin}/cpack ${PROJECT_VERSION})
set_tests_properties(package_deb PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77
  ENVIRONMENT "${BMQ_TEST_ENV}" RESOURCE_LOCK berrymq_hub)
bmq_test_labels(package_deb install package desktop)
