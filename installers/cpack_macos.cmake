# macOS: Tessera.app (Info.plist from installers/macos/Info.plist.in) in a DragNDrop disk image.
# The bundle carries tessera-node and tessera-hub in Contents/MacOS (app/CMakeLists.txt);
# macdeployqt copies the Qt frameworks and plugins and every non-system dylib the three programs
# load (libtorch, libc10, libomp; vcpkg's arm64-osx libraries are static) into
# Contents/Frameworks and rewrites their load paths. (qt_generate_deploy_app_script would deploy
# the app alone; the bundled node and hub need macdeployqt's -executable, so it is called here.)
# Built on a hosted runner by .github/workflows/desktop-installers.yml; steps in installers/README.md.
set(CPACK_GENERATOR DragNDrop)
set(CPACK_DMG_VOLUME_NAME "Tessera")
set(CPACK_DMG_FORMAT UDBZ)
set(CPACK_PACKAGE_FILE_NAME "Tessera-${PROJECT_VERSION}-macos-${CMAKE_SYSTEM_PROCESSOR}")

if(TESSERA_BUILD_UI)
  set(TESSERA_BUNDLE_ID "org.tessera.Tessera")
  set_target_properties(tessera PROPERTIES
    MACOSX_BUNDLE_INFO_PLIST "${CMAKE_CURRENT_LIST_DIR}/macos/Info.plist.in"
    MACOSX_BUNDLE_GUI_IDENTIFIER "${TESSERA_BUNDLE_ID}"
    MACOSX_BUNDLE_BUNDLE_NAME "Tessera"
    MACOSX_BUNDLE_BUNDLE_VERSION "${PROJECT_VERSION}"
    MACOSX_BUNDLE_SHORT_VERSION_STRING "${PROJECT_VERSION}"
    MACOSX_BUNDLE_COPYRIGHT "Tessera maintainers")

  # The icon: tessera.icns, made from resources/icons/tessera.svg by the workflow (rsvg-convert
  # and iconutil, see installers/README.md) and passed in with -DTESSERA_MACOS_ICNS=…
  if(TESSERA_MACOS_ICNS)
    target_sources(tessera PRIVATE "${TESSERA_MACOS_ICNS}")
    set_source_files_properties("${TESSERA_MACOS_ICNS}" PROPERTIES MACOSX_PACKAGE_LOCATION Resources)
    get_filename_component(TESSERA_MACOS_ICON_NAME "${TESSERA_MACOS_ICNS}" NAME)
    set_target_properties(tessera PROPERTIES MACOSX_BUNDLE_ICON_FILE "${TESSERA_MACOS_ICON_NAME}")
  endif()

  # macdeployqt, given the node and hub with -executable so their libraries are deployed and
  # rewritten too, and libtorch's folder with -libpath so it can resolve libtorch's @rpath names.
  # It reports a library it cannot find with "ERROR:" but exits 0: that output fails the install.
  get_target_property(_tessera_qmake Qt6::qmake IMPORTED_LOCATION)
  get_filename_component(_tessera_qt_bin "${_tessera_qmake}" DIRECTORY)
  find_program(TESSERA_MACDEPLOYQT macdeployqt HINTS "${_tessera_qt_bin}" REQUIRED)
  set(_tessera_libpaths "")
  if(DEFINED TORCH_INSTALL_PREFIX)
    list(APPEND _tessera_libpaths "-libpath=${TORCH_INSTALL_PREFIX}/lib")
  endif()
  install(CODE "
    set(_macdeployqt \"${TESSERA_MACDEPLOYQT}\")
    set(_libpaths \"${_tessera_libpaths}\")
  ")
  install(CODE [[
    set(_app "${CMAKE_INSTALL_PREFIX}/Tessera.app")
    execute_process(
      COMMAND "${_macdeployqt}" "${_app}" -verbose=1
              "-executable=${_app}/Contents/MacOS/tessera-node"
              "-executable=${_app}/Contents/MacOS/tessera-hub"
              "-executable=${_app}/Contents/lib/tessera/backends/libtessera-backend-cpu.dylib" ${_libpaths}
      RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
    message(STATUS "macdeployqt: ${_out}")
    if(NOT _rc EQUAL 0 OR _out MATCHES "ERROR:")
      message(FATAL_ERROR "macdeployqt could not deploy Tessera.app (${_rc}): ${_out}")
    endif()
  ]])
endif()

# The programs find libtorch and the other dylibs in the bundle's Frameworks folder; the link-time
# folders are kept as well so macdeployqt can resolve each @rpath/… reference before copying it.
set(_tessera_bundled tessera-node tessera-hub)
if(TESSERA_BUILD_UI)
  list(APPEND _tessera_bundled tessera)
endif()
set_target_properties(${_tessera_bundled} PROPERTIES
  INSTALL_RPATH "@executable_path/../Frameworks"
  INSTALL_RPATH_USE_LINK_PATH ON)
