# Sources are listed in each CMakeLists.txt (one file per line, sorted), not globbed: a file is part of
# a target because a reviewer saw it added there. sharelink_require_listed() guards the other way: a
# .cpp in a source folder that no list names fails the configure step with the line to add, instead of
# surfacing later as an undefined reference (or never, for a test file).
# Usage: sharelink_require_listed(<folder> <source>...), the sources as the calling CMakeLists.txt
# names them (relative to its own folder).
function(sharelink_require_listed dir)
  file(GLOB on_disk RELATIVE "${CMAKE_CURRENT_SOURCE_DIR}" "${dir}/*.cpp")
  set(missing)
  foreach(file IN LISTS on_disk)
    if(NOT file IN_LIST ARGN)
      list(APPEND missing "${file}")
    endif()
  endforeach()
  if(missing)
    file(RELATIVE_PATH where "${PROJECT_SOURCE_DIR}" "${dir}")
    list(JOIN missing "\n  " lines)
    message(FATAL_ERROR "${where}/CMakeLists.txt does not list these sources of ${where}/ (add each on a line "
                        "of its own, sorted):\n  ${lines}")
  endif()
endfunction()
