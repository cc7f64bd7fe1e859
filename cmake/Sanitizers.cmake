# SHARELINK_SANITIZE=address,undefined or SHARELINK_SANITIZE=thread instruments every target.
if(SHARELINK_SANITIZE)
  if(SHARELINK_SANITIZE MATCHES "thread" AND SHARELINK_SANITIZE MATCHES "address")
    message(FATAL_ERROR "SHARELINK_SANITIZE: thread cannot be combined with address")
  endif()
  add_compile_options(-fsanitize=${SHARELINK_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=${SHARELINK_SANITIZE})
endif()
