# Packaging settings shared by every OS, then the one file for this OS, then CPack itself.
#   Linux:   installers/cpack_linux.cmake    DEB and RPM (desktop entry, icons, metainfo, man pages, systemd unit)
#   Windows: installers/cpack_windows.cmake  NSIS installer, Qt and libtorch DLLs next to the programs
#   macOS:   installers/cpack_macos.cmake    Tessera.app with Info.plist in a DragNDrop image
# `cmake --workflow --preset package` (CMakePresets.json) builds and packages in build/package;
# installers/README.md has the steps per OS.
set(CPACK_PACKAGE_NAME "tessera")
set(CPACK_PACKAGE_VENDOR "Tessera")
set(CPACK_PACKAGE_CONTACT "Tessera maintainers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_INSTALL_DIRECTORY "Tessera")
set(CPACK_PACKAGE_CHECKSUM SHA256)
set(CPACK_VERBATIM_VARIABLES ON)
set(TESSERA_LONG_DESCRIPTION
    "Tessera lets anyone donate a home GPU, or a CPU, to train an open AI model together with
thousands of others: each computer trains one pipeline stage of a model no one holds whole, and
earns a verifiable share of the model and of its inference revenue. This package has the desktop
app (tessera), the contributor node (tessera-node, also as a systemd user service) and the hub
(tessera-hub).")
string(REPLACE "\n" " " TESSERA_LONG_DESCRIPTION "${TESSERA_LONG_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION "${TESSERA_LONG_DESCRIPTION}")  # the .deb and .rpm description

if(WIN32)
  include(${CMAKE_CURRENT_LIST_DIR}/cpack_windows.cmake)
elseif(APPLE)
  include(${CMAKE_CURRENT_LIST_DIR}/cpack_macos.cmake)
elseif(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  include(${CMAKE_CURRENT_LIST_DIR}/cpack_linux.cmake)
endif()

include(CPack)
