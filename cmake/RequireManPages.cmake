# CPack pre-build script: a package without its man pages is not a package to ship.
if(NOT CPACK_SHARELINK_MAN_PAGES_BUILT)
  message(FATAL_ERROR "the man pages were not built (scdoc missing, or SHARELINK_MAN_PAGES=OFF): "
                      "apt install scdoc, then reconfigure and build before cpack")
endif()
