# The documents that ship with the programs.
include(GNUInstallDirs)

# Bash completion for sharectl, where bash-completion looks for it (loaded on first use).
install(FILES "${PROJECT_SOURCE_DIR}/packaging/bash-completion/sharectl"
        DESTINATION "${CMAKE_INSTALL_DATADIR}/bash-completion/completions")
