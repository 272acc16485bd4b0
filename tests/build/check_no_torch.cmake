# Fails when a program that never trains (the desktop app, the hub) loads libtorch at run time, or
# when a program that trains (tessera-node) does not: the second half proves the check can see
# libtorch at all. Every shared library each program loads is resolved, recursively, as the dynamic
# loader would (file(GET_RUNTIME_DEPENDENCIES)).
#   cmake -DWITHOUT="prog;…" -DWITH="prog;…" -P check_no_torch.cmake
set(torch_regex "(^|[/\\\\])(lib)?(torch|torch_cpu|torch_cuda|c10|c10_cuda)(\\.|-|_)[^/\\\\]*$")
set(failures "")

function(torch_libraries program out)
  if(NOT EXISTS "${program}")
    message(FATAL_ERROR "${program} does not exist: build it first (cmake --build … --target ${program})")
  endif()
  file(GET_RUNTIME_DEPENDENCIES
       EXECUTABLES "${program}"
       RESOLVED_DEPENDENCIES_VAR resolved
       UNRESOLVED_DEPENDENCIES_VAR unresolved)
  set(found "")
  foreach(library IN LISTS resolved unresolved)
    if(library MATCHES "${torch_regex}")
      list(APPEND found "${library}")
    endif()
  endforeach()
  set(${out} "${found}" PARENT_SCOPE)
endfunction()

foreach(program IN LISTS WITHOUT)
  torch_libraries("${program}" found)
  if(found)
    list(JOIN found ", " text)
    list(APPEND failures "${program} loads libtorch (${text}): link it without tessera::trainer")
  else()
    message(STATUS "${program}: no libtorch")
  endif()
endforeach()

foreach(program IN LISTS WITH)
  torch_libraries("${program}" found)
  if(NOT found)
    list(APPEND failures "${program} should load libtorch but no torch library was found: the check is broken")
  else()
    message(STATUS "${program}: libtorch, as expected")
  endif()
endforeach()

if(failures)
  list(JOIN failures "\n  " text)
  message(FATAL_ERROR "run-time libtorch check failed:\n  ${text}")
endif()
