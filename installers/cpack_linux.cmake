# Linux: desktop integration (menu entry, hicolor icons, AppStream metainfo, man pages, systemd
# user unit) and the DEB and RPM packages. Included by cpack_common.cmake before include(CPack).
# Runtime dependencies are computed, never written by hand: dpkg-shlibdeps for the .deb
# (CPACK_DEBIAN_PACKAGE_SHLIBDEPS) and rpmbuild's automatic Requires for the .rpm. The few extras
# below are what no linker sees: plugins and the BLAS libtorch picks at run time.
include(GNUInstallDirs)

set(TESSERA_APP_ID "org.tessera.Tessera")
set(_resources "${CMAKE_SOURCE_DIR}/resources")
set(_generated "${CMAKE_BINARY_DIR}/installers/linux")

# Packages install under /usr; the systemd unit names the binary there.
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(TESSERA_UNIT_BINDIR "${CPACK_PACKAGING_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}")
configure_file("${_resources}/linux/tessera-node.service" "${_generated}/tessera-node.service" @ONLY)
install(FILES "${_generated}/tessera-node.service" DESTINATION lib/systemd/user)

# Man pages, written from each program's own --help (installers/linux/man_page.cmake).
set(_programs tessera-node tessera-hub)
set(_summary_tessera-node "contributor node and command-line tool of Tessera")
set(_summary_tessera-hub "training-run hub of Tessera")
set(_summary_tessera "desktop app of Tessera: train open AI models together")
if(TESSERA_BUILD_UI)
  list(APPEND _programs tessera)
endif()
find_program(TESSERA_HELP2MAN help2man)
find_program(TESSERA_GZIP gzip)
if(TESSERA_HELP2MAN AND TESSERA_GZIP)
  set(_pages "")
  foreach(program IN LISTS _programs)
    set(page "${_generated}/man/${program}.1.gz")
    add_custom_command(
      OUTPUT "${page}"
      COMMAND ${CMAKE_COMMAND} -E make_directory "${_generated}/man"
      COMMAND ${CMAKE_COMMAND} -E env QT_QPA_PLATFORM=offscreen
              ${CMAKE_COMMAND} "-DEXE=$<TARGET_FILE:${program}>" "-DNAME=${program}" "-DVERSION=${PROJECT_VERSION}"
              "-DSUMMARY=${_summary_${program}}"
              "-DINCLUDE=${CMAKE_SOURCE_DIR}/installers/linux/${program}.h2m"
              "-DOUTPUT=${page}" "-DHELP2MAN=${TESSERA_HELP2MAN}" "-DGZIP=${TESSERA_GZIP}"
              -P "${CMAKE_SOURCE_DIR}/installers/linux/man_page.cmake"
      DEPENDS ${program} "${CMAKE_SOURCE_DIR}/installers/linux/man_page.cmake"
              "${CMAKE_SOURCE_DIR}/installers/linux/${program}.h2m"
      COMMENT "Writing the man page of ${program}"
      VERBATIM)
    list(APPEND _pages "${page}")
  endforeach()
  add_custom_target(tessera_man_pages ALL DEPENDS ${_pages})
  install(FILES ${_pages} DESTINATION "${CMAKE_INSTALL_MANDIR}/man1")
else()
  message(WARNING "help2man or gzip not found: no man pages are built and the Linux packages "
                  "will lack them. Install help2man (scripts/setup does).")
endif()

if(TESSERA_BUILD_UI)
  install(FILES "${_resources}/linux/${TESSERA_APP_ID}.desktop"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/applications")
  install(FILES "${_resources}/linux/${TESSERA_APP_ID}.metainfo.xml"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/metainfo")

  # hicolor theme: the SVG as the scalable icon, plus PNGs for menus that do not draw SVG.
  install(FILES "${_resources}/icons/tessera.svg"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps"
          RENAME "${TESSERA_APP_ID}.svg")
  find_program(TESSERA_RSVG_CONVERT rsvg-convert)
  if(TESSERA_RSVG_CONVERT)
    set(_pngs "")
    foreach(size 16 22 24 32 48 64 128 256 512)
      set(png "${_generated}/icons/${size}x${size}/${TESSERA_APP_ID}.png")
      add_custom_command(
        OUTPUT "${png}"
        COMMAND ${CMAKE_COMMAND} -E make_directory "${_generated}/icons/${size}x${size}"
        COMMAND ${TESSERA_RSVG_CONVERT} --width=${size} --height=${size} --format=png
                "--output=${png}" "${_resources}/icons/tessera.svg"
        DEPENDS "${_resources}/icons/tessera.svg"
        COMMENT "Rendering the ${size}x${size} icon"
        VERBATIM)
      list(APPEND _pngs "${png}")
      install(FILES "${png}" DESTINATION "${CMAKE_INSTALL_DATADIR}/icons/hicolor/${size}x${size}/apps")
    endforeach()
    add_custom_target(tessera_icons ALL DEPENDS ${_pngs})
  else()
    message(WARNING "rsvg-convert not found: no PNG icons are rendered and the Linux packages "
                    "will have only the scalable one. Install librsvg2-bin (scripts/setup does).")
  endif()
endif()

set(CPACK_GENERATOR "DEB;RPM")
# Release binaries without symbols: the .deb is a tenth of the size.
set(CPACK_STRIP_FILES ON)

# DEB
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # tessera_<version>-1_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
# Loaded at run time, so dpkg-shlibdeps cannot see them: Qt's platform plugins (xcb, wayland)
# without which the window cannot open, and OpenBLAS, which makes libtorch about 7x faster than
# the reference BLAS it would otherwise get.
if(TESSERA_BUILD_UI)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "qt6-qpa-plugins")
endif()
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libopenblas0-pthread")

# RPM
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)  # tessera-<version>-1.<arch>.rpm
set(CPACK_RPM_PACKAGE_RELEASE 1)
set(CPACK_RPM_PACKAGE_GROUP "Applications/Engineering")
set(CPACK_RPM_PACKAGE_AUTOREQ ON)
set(CPACK_RPM_COMPRESSION_TYPE xz)
# No /usr/lib/.build-id links: they belong to debuginfo packages, which these are not.
set(CPACK_RPM_SPEC_MORE_DEFINE "%define _build_id_links none")
# Directories the base system owns: the package must not claim them.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
    /usr/lib/systemd /usr/lib/systemd/user /usr/share/applications /usr/share/metainfo
    /usr/share/man /usr/share/man/man1 /usr/share/icons /usr/share/icons/hicolor
    /usr/share/icons/hicolor/scalable /usr/share/icons/hicolor/scalable/apps)
foreach(size 16 22 24 32 48 64 128 256 512)
  list(APPEND CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
       /usr/share/icons/hicolor/${size}x${size} /usr/share/icons/hicolor/${size}x${size}/apps)
endforeach()
