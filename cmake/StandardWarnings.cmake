# The project's warning set, as an INTERFACE target that our own targets link privately.
add_library(sharelink_warnings INTERFACE)
target_compile_options(sharelink_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow)
if(SHARELINK_WARNINGS_AS_ERRORS)
  target_compile_options(sharelink_warnings INTERFACE -Werror)
endif()
# Bounds-checked standard containers in Debug builds.
target_compile_definitions(sharelink_warnings INTERFACE $<$<CONFIG:Debug>:_GLIBCXX_ASSERTIONS>)
