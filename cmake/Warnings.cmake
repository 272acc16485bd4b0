# tessera_warnings: an interface target carrying the project's warning flags, so third-party
# headers (libtorch, Qt) are not held to them: those come in as SYSTEM includes.
add_library(tessera_warnings INTERFACE)
if(MSVC)
  target_compile_options(tessera_warnings INTERFACE /W4 /permissive-)
  if(TESSERA_WARNINGS_AS_ERRORS)
    target_compile_options(tessera_warnings INTERFACE /WX)
  endif()
else()
  target_compile_options(tessera_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                                                    -Wnon-virtual-dtor -Wcast-align)
  if(TESSERA_WARNINGS_AS_ERRORS)
    target_compile_options(tessera_warnings INTERFACE -Werror)
  endif()
endif()
