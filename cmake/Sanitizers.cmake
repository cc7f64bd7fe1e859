# SHARELINK_SANITIZE=address,undefined or SHARELINK_SANITIZE=thread instruments our own targets through
# the INTERFACE target sharelink_sanitizers (empty without the option). The library links it PUBLIC, so
# every program built on it is instrumented and links the sanitizer runtime; a target that does not
# link the library (the benchmark baseline) links it directly.
add_library(sharelink_sanitizers INTERFACE)
if(SHARELINK_SANITIZE)
  if(SHARELINK_SANITIZE MATCHES "thread" AND SHARELINK_SANITIZE MATCHES "address")
    message(FATAL_ERROR "SHARELINK_SANITIZE: thread cannot be combined with address")
  endif()
  if(NOT SHARELINK_SANITIZE MATCHES "^(address|undefined|thread)(,(address|undefined|thread))*$")
    message(FATAL_ERROR "SHARELINK_SANITIZE: \"${SHARELINK_SANITIZE}\" is not address,undefined | thread")
  endif()
  target_compile_options(sharelink_sanitizers INTERFACE -fsanitize=${SHARELINK_SANITIZE} -fno-omit-frame-pointer
                                                        -fno-sanitize-recover=undefined)
  target_link_options(sharelink_sanitizers INTERFACE -fsanitize=${SHARELINK_SANITIZE})
  if(SHARELINK_SANITIZE MATCHES "thread")
    # The suppressions for code built without the sanitizer (see the file), in every program.
    target_sources(sharelink_sanitizers INTERFACE "${CMAKE_CURRENT_LIST_DIR}/tsan_suppressions.cpp")
  endif()
endif()
