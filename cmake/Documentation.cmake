# The documents that ship with the programs: man pages, bash completion, the HTTP contract.
#
# Man pages are written in scdoc (docs/man/*.scd): a small, maintained Debian tool made for man pages
# alone, whose strict parser rejects a malformed page at build time, and whose roff output man-db
# renders without warnings. (pandoc also writes roff, but pulls in a Haskell runtime of ~200 MB for
# one build step.) Without scdoc the pages are not built: the build says so, the man page tests are
# skipped, and cpack refuses to make a package without them (cmake/RequireManPages.cmake).
include(GNUInstallDirs)

option(SHARELINK_MAN_PAGES "Build and install the man pages (needs scdoc)" ON)
find_program(SHARELINK_SCDOC scdoc)
find_program(SHARELINK_GZIP gzip)

set(SHARELINK_MAN_DIR "${PROJECT_BINARY_DIR}/man")
set(SHARELINK_MAN_PAGES_BUILT OFF)
file(MAKE_DIRECTORY "${SHARELINK_MAN_DIR}")
if(SHARELINK_MAN_PAGES AND SHARELINK_SCDOC AND SHARELINK_GZIP)
  set(man_outputs)
  foreach(page IN ITEMS sharectl.1 shared-linkd.8 shared-linkd.toml.5)
    string(REGEX MATCH "[0-9]$" section "${page}")
    set(source "${PROJECT_SOURCE_DIR}/docs/man/${page}.scd")
    set(roff "${SHARELINK_MAN_DIR}/${page}")
    # Debian installs man pages compressed with gzip -9n; the tests read the plain roff.
    add_custom_command(
      OUTPUT "${roff}" "${roff}.gz"
      COMMAND "${CMAKE_COMMAND}" "-DSCDOC=${SHARELINK_SCDOC}" "-DGZIP=${SHARELINK_GZIP}" "-DSOURCE=${source}"
              "-DOUTPUT=${roff}" -P "${PROJECT_SOURCE_DIR}/cmake/RenderManPage.cmake"
      DEPENDS "${source}" "${PROJECT_SOURCE_DIR}/cmake/RenderManPage.cmake"
      COMMENT "scdoc ${page}"
      VERBATIM)
    list(APPEND man_outputs "${roff}" "${roff}.gz")
    install(FILES "${roff}.gz" DESTINATION "${CMAKE_INSTALL_MANDIR}/man${section}")
  endforeach()
  add_custom_target(man_pages ALL DEPENDS ${man_outputs})
  set(SHARELINK_MAN_PAGES_BUILT ON)
elseif(SHARELINK_MAN_PAGES)
  message(STATUS "scdoc or gzip not found: the man pages are not built (apt install scdoc); "
                 "their tests are skipped and cpack refuses to package without them")
endif()

# Bash completion for sharectl, where bash-completion looks for it (loaded on first use).
install(FILES "${PROJECT_SOURCE_DIR}/packaging/bash-completion/sharectl"
        DESTINATION "${CMAKE_INSTALL_DATADIR}/bash-completion/completions")

# The contract: the OpenAPI document and the documents of docs/.
install(FILES "${PROJECT_SOURCE_DIR}/docs/api/openapi.yaml" DESTINATION "${CMAKE_INSTALL_DOCDIR}")
install(FILES "${PROJECT_SOURCE_DIR}/docs/README.md" "${PROJECT_SOURCE_DIR}/docs/behaviour.md"
              "${PROJECT_SOURCE_DIR}/docs/threat-model.md" "${PROJECT_SOURCE_DIR}/docs/operations.md"
        DESTINATION "${CMAKE_INSTALL_DOCDIR}/docs")
