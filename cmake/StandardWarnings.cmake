# The project's warning set, as an INTERFACE target that our own targets link privately.
add_library(sharelink_warnings INTERFACE)
target_compile_options(sharelink_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow)
if(SHARELINK_WARNINGS_AS_ERRORS)
  target_compile_options(sharelink_warnings INTERFACE -Werror)
endif()
# Bounds-checked standard containers in Debug builds.
target_compile_definitions(sharelink_warnings INTERFACE $<$<CONFIG:Debug>:_GLIBCXX_ASSERTIONS>)

# SHARELINK_DEVELOPER_WARNINGS=ON (CI builds with it) adds, on the targets that link
# sharelink_developer_warnings (the library, the daemon, sharectl):
# - -Wconversion: an implicit conversion that may change a value (a narrowing is spelled as a cast);
# - -Wold-style-cast: a C cast says nothing about which conversion it is;
# - -Wnon-virtual-dtor: a class with virtual functions destroyed through a base pointer;
# - -Woverloaded-virtual: a derived function that hides a base one instead of overriding it;
# - with clang, -Wthread-safety: the lock discipline of common/thread_annotations.hpp (GUARDED_BY,
#   REQUIRES, EXCLUDES) checked at compile time.
# The same set on both compilers: clang's -Wconversion also means -Wsign-conversion, which g++'s
# does not, so clang gets -Wno-sign-conversion (a char read as unsigned char for a table lookup
# is a sign change on every such line, and says nothing a test does not).
option(SHARELINK_DEVELOPER_WARNINGS "Stricter warnings (conversions, casts, thread safety) on our targets" OFF)
add_library(sharelink_developer_warnings INTERFACE)
if(SHARELINK_DEVELOPER_WARNINGS)
  target_compile_options(sharelink_developer_warnings INTERFACE -Wconversion -Wold-style-cast -Wnon-virtual-dtor
                                                                -Woverloaded-virtual)
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    target_compile_options(sharelink_developer_warnings INTERFACE -Wno-sign-conversion -Wthread-safety)
  endif()
endif()
