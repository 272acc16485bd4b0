# Windows: an NSIS installer (Start-menu entry, uninstaller, optional PATH entry for the command
# line). Everything the programs load is deployed next to them in bin\: Qt's DLLs and plugins by
# windeployqt through qt_generate_deploy_app_script, and libtorch's and vcpkg's DLLs (libsodium,
# ZeroMQ, SQLite, spdlog, utf8proc, qrencode) by file(GET_RUNTIME_DEPENDENCIES) at install time.
# Built on a hosted runner by .github/workflows/desktop-installers.yml; steps in installers/README.md.
set(CPACK_GENERATOR NSIS)
set(CPACK_NSIS_PACKAGE_NAME "Tessera")
set(CPACK_NSIS_DISPLAY_NAME "Tessera ${PROJECT_VERSION}")
set(CPACK_PACKAGE_INSTALL_REGISTRY_KEY "Tessera")
set(CPACK_PACKAGE_FILE_NAME "Tessera-${PROJECT_VERSION}-windows-x64")
set(CPACK_NSIS_INSTALL_ROOT "$PROGRAMFILES64")
set(CPACK_NSIS_ENABLE_UNINSTALL_BEFORE_INSTALL ON)
set(CPACK_NSIS_IGNORE_LICENSE_PAGE ON)
# Offer to put bin\ on PATH so tessera-node works from a terminal.
set(CPACK_NSIS_MODIFY_PATH ON)
set(CPACK_NSIS_EXECUTABLES_DIRECTORY bin)
if(TESSERA_BUILD_UI)
  # Start-menu shortcut "Tessera" to bin\tessera.exe, and "Run Tessera" on the last page.
  set(CPACK_PACKAGE_EXECUTABLES "tessera;Tessera")
  set(CPACK_NSIS_INSTALLED_ICON_NAME "bin\\tessera.exe")
  set(CPACK_NSIS_MUI_FINISHPAGE_RUN "tessera.exe")
  # "Start at login" (ui/login_item.h) is a value under the user's Run key: the uninstaller removes
  # it so Windows does not try to start a program that is gone. (Four backslashes: this string is
  # parsed again from CPackConfig.cmake before it reaches the .nsi script.)
  set(CPACK_NSIS_EXTRA_UNINSTALL_COMMANDS
      "DeleteRegValue HKCU 'Software\\Microsoft\\Windows\\CurrentVersion\\Run' 'Tessera'")

  # Qt: windeployqt copies the Qt DLLs, the platform/style/image plugins and the MSVC runtime.
  qt_generate_deploy_app_script(TARGET tessera OUTPUT_SCRIPT _tessera_qt_deploy
                                NO_UNSUPPORTED_PLATFORM_ERROR)
  install(SCRIPT "${_tessera_qt_deploy}")
endif()

# libtorch and the vcpkg libraries: every DLL the three programs load that is neither Windows'
# own nor Qt's (windeployqt has those) is copied into bin\. An unresolved one fails the install,
# so a missing DLL is found when packaging, not by a user.
set(_tessera_dll_dirs "")
if(DEFINED TORCH_INSTALL_PREFIX)
  list(APPEND _tessera_dll_dirs "${TORCH_INSTALL_PREFIX}/lib")
endif()
if(DEFINED _VCPKG_INSTALLED_DIR AND DEFINED VCPKG_TARGET_TRIPLET)
  list(APPEND _tessera_dll_dirs "${_VCPKG_INSTALLED_DIR}/${VCPKG_TARGET_TRIPLET}/bin")
endif()
# The engine backend (lib\tessera\backends) loads libtorch: its DLLs are scanned with the programs'.
set(_tessera_programs "$<TARGET_FILE:tessera-node>" "$<TARGET_FILE:tessera-hub>" "$<TARGET_FILE:tessera_backend_cpu>")
if(TESSERA_BUILD_UI)
  list(APPEND _tessera_programs "$<TARGET_FILE:tessera>")
endif()
install(CODE "
  set(_dirs \"${_tessera_dll_dirs}\")
  set(_programs \"${_tessera_programs}\")
")
install(CODE [[
  file(GET_RUNTIME_DEPENDENCIES
       EXECUTABLES ${_programs}
       DIRECTORIES ${_dirs}
       RESOLVED_DEPENDENCIES_VAR _resolved
       UNRESOLVED_DEPENDENCIES_VAR _unresolved
       PRE_EXCLUDE_REGEXES "^api-ms-" "^ext-ms-" "^[Qq]t6.*\\.dll$"
       POST_EXCLUDE_REGEXES "[/\\\\][Ww][Ii][Nn][Dd][Oo][Ww][Ss][/\\\\]")
  if(_unresolved)
    message(FATAL_ERROR "These DLLs are needed by the Tessera programs but were not found in "
                        "${_dirs} or on PATH: ${_unresolved}")
  endif()
  foreach(_dll IN LISTS _resolved)
    file(INSTALL "${_dll}" DESTINATION "${CMAKE_INSTALL_PREFIX}/bin")
  endforeach()
]])
