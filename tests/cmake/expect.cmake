# Runs COMMAND (a ;-list) and checks its exit status (EXPECT_EXIT: zero or nonzero) and that its
# combined output matches EXPECT_REGEX. Used by tests that must observe a failure.
execute_process(COMMAND ${COMMAND}
  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
if(EXPECT_EXIT STREQUAL "zero" AND NOT result EQUAL 0)
  message(FATAL_ERROR "expected success, got '${result}':\n${all}")
endif()
if(EXPECT_EXIT STREQUAL "nonzero" AND result EQUAL 0)
  message(FATAL_ERROR "expected a failure, but the command succeeded:\n${all}")
endif()
if(DEFINED EXPECT_REGEX AND NOT all MATCHES "${EXPECT_REGEX}")
  message(FATAL_ERROR "output does not match '${EXPECT_REGEX}':\n${all}")
endif()
message(STATUS "ok (exit ${result})")
