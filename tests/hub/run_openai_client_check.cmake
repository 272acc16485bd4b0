# test_openai_client: runs openai_client_check.py with the project's Python environment
# (build/python, made by scripts/setup) against gateway_fixture. Without that environment the test
# fails and says how to make it.
# cmake -DPYTHON=… -DSCRIPT=… -DFIXTURE=… -P run_openai_client_check.cmake
if(NOT EXISTS "${PYTHON}")
  message(FATAL_ERROR "test_openai_client: ${PYTHON} is missing: run scripts/setup "
                      "(it makes build/python and installs the pinned openai library there)")
endif()
execute_process(COMMAND "${PYTHON}" -c "import openai"
                RESULT_VARIABLE have_openai OUTPUT_QUIET ERROR_QUIET)
if(NOT have_openai EQUAL 0)
  message(FATAL_ERROR "test_openai_client: the openai library is not installed in ${PYTHON}: run scripts/setup")
endif()
execute_process(COMMAND "${PYTHON}" "${SCRIPT}" "${FIXTURE}" RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "test_openai_client: openai_client_check.py failed (${result})")
endif()
