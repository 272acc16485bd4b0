# Writes the man page of one executable from its own --help (with help2man), so the page always
# matches the real command line: the top-level help becomes the synopsis and options, and the help
# of every subcommand (two levels deep: `wallet create`, `bench engine`) becomes COMMANDS.
# Run by a custom command in cpack_linux.cmake:
#   cmake -DEXE=… -DNAME=… -DVERSION=… -DSUMMARY=… -DINCLUDE=….h2m -DOUTPUT=….1.gz -P man_page.cmake
foreach(var EXE NAME VERSION SUMMARY INCLUDE OUTPUT HELP2MAN GZIP)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "man_page.cmake: -D${var}=… is required")
  endif()
endforeach()

# The help text of `EXE ARGS… --help`, or a fatal error that names the failing command line.
function(help_of out)
  execute_process(COMMAND ${EXE} ${ARGN} --help
                  OUTPUT_VARIABLE text ERROR_VARIABLE error RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " args)
    message(FATAL_ERROR "'${NAME} ${args} --help' failed (${rc}): ${error}")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# The subcommand names listed under CLI11's "Subcommands:" heading.
function(subcommands_of out text)
  string(REPLACE "\n" ";" lines "${text}")
  set(names "")
  set(in_list FALSE)
  foreach(line IN LISTS lines)
    if(line MATCHES "^[Ss][Uu][Bb][Cc][Oo][Mm][Mm][Aa][Nn][Dd][Ss]:")
      set(in_list TRUE)
    elseif(in_list AND line MATCHES "^  +([a-z][a-z0-9_-]*)( |$)")
      list(APPEND names "${CMAKE_MATCH_1}")
    elseif(in_list AND NOT line MATCHES "^ ")
      set(in_list FALSE)
    endif()
  endforeach()
  set(${out} "${names}" PARENT_SCOPE)
endfunction()

# roff: keep backslashes, and a line starting with . or ' is text, not a request.
function(roff_literal out text)
  string(REPLACE "\\" "\\e" text "${text}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

set(commands "")
function(describe_subcommands depth)
  help_of(help ${ARGN})
  subcommands_of(names "${help}")
  foreach(name IN LISTS names)
    help_of(sub_help ${ARGN} ${name})
    string(STRIP "${sub_help}" sub_help)
    roff_literal(sub_help "${sub_help}")
    list(JOIN ARGN " " parents)
    string(STRIP "${NAME} ${parents} ${name}" title)
    string(REGEX REPLACE "  +" " " title "${title}")
    string(APPEND commands ".SS ${title}\n.nf\n${sub_help}\n.fi\n")
    if(depth LESS 2)
      describe_subcommands(2 ${ARGN} ${name})
    endif()
  endforeach()
  set(commands "${commands}" PARENT_SCOPE)
endfunction()
describe_subcommands(1)

get_filename_component(out_dir "${OUTPUT}" DIRECTORY)
string(REGEX REPLACE "\\.gz$" "" page "${OUTPUT}")
set(includes "--include=${INCLUDE}")
if(commands)
  set(generated "${page}.commands.h2m")
  file(WRITE "${generated}" "[COMMANDS]\nEach command has its own \\-\\-help; here is each one's.\n${commands}")
  list(APPEND includes "--include=${generated}")
endif()

execute_process(
  COMMAND ${HELP2MAN} --no-info --section=1 "--name=${SUMMARY}" "--version-string=${NAME} ${VERSION}"
          ${includes} "--output=${page}" ${EXE}
  RESULT_VARIABLE rc ERROR_VARIABLE error)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "help2man failed for ${NAME} (${rc}): ${error}")
endif()
# Debian policy: man pages are compressed with gzip -9n (no name or time stamp inside).
execute_process(COMMAND ${GZIP} -9nf "${page}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip failed for ${page}")
endif()
