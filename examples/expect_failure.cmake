# expect_failure.cmake - runs a program that must fail in a given way (the
# negative tests of examples/CMakeLists.txt):
#   cmake -DEXPECT_EXIT=1 -DEXPECT_REGEX=<regex> -P expect_failure.cmake -- PROGRAM ARGS...
# Passes when PROGRAM exits with EXPECT_EXIT and its output (stdout and
# stderr) matches EXPECT_REGEX; prints the output either way.
set(command "")
set(take OFF)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE ${last})
  if(take)
    list(APPEND command "${CMAKE_ARGV${i}}")
  elseif(CMAKE_ARGV${i} STREQUAL "--")
    set(take ON)
  endif()
endforeach()
if(NOT command OR NOT DEFINED EXPECT_EXIT OR NOT DEFINED EXPECT_REGEX)
  message(FATAL_ERROR "usage: cmake -DEXPECT_EXIT=N -DEXPECT_REGEX=R -P expect_failure.cmake -- PROGRAM ARGS...")
endif()
execute_process(COMMAND ${command} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT status STREQUAL "${EXPECT_EXIT}")
  message(FATAL_ERROR "expected exit status ${EXPECT_EXIT}, got '${status}'")
endif()
if(NOT "${out}${err}" MATCHES "${EXPECT_REGEX}")
  message(FATAL_ERROR "output does not match: ${EXPECT_REGEX}")
endif()
message("failed as expected: exit ${status}, output matches '${EXPECT_REGEX}'")
