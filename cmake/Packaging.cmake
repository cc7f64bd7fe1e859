# The Debian package (cpack -G DEB in the build directory): shared-link_<version>_amd64.deb with both
# binaries in /usr/bin, the packaged configuration as a conffile, the systemd unit, the nginx site,
# the man pages, the bash completion, the OpenAPI document and docs/ (cmake/Documentation.cmake), and
# the maintainer scripts of packaging/deb/ (service user, /var/lib/shared-linkd, sharectl init).

set(SHARELINK_PACKAGING_DIR "${PROJECT_SOURCE_DIR}/packaging")

# Files outside any install prefix, where Debian expects them: the packaged configuration (a conffile)
# and the systemd unit. They form the component debian_system, left out of a plain `cmake --install`
# (EXCLUDE_FROM_ALL: that writes only under its prefix) and installed by cpack alone
# (CPACK_INSTALL_CMAKE_PROJECTS below).
install(FILES "${SHARELINK_PACKAGING_DIR}/deb/shared-linkd.toml" DESTINATION /etc/shared-linkd
        COMPONENT debian_system EXCLUDE_FROM_ALL)
install(FILES "${SHARELINK_PACKAGING_DIR}/systemd/shared-linkd.service" DESTINATION /lib/systemd/system
        COMPONENT debian_system EXCLUDE_FROM_ALL)

# Documentation and examples: the README, the commented reference configuration, the nginx site.
install(FILES "${PROJECT_SOURCE_DIR}/README.md" DESTINATION "${CMAKE_INSTALL_DOCDIR}" OPTIONAL)
install(FILES "${PROJECT_SOURCE_DIR}/etc/shared-linkd.toml" DESTINATION "${CMAKE_INSTALL_DOCDIR}/examples")
install(DIRECTORY "${SHARELINK_PACKAGING_DIR}/nginx/" DESTINATION "${CMAKE_INSTALL_DOCDIR}/examples/nginx"
        FILES_MATCHING PATTERN "*.conf")

# dpkg's control files: conffiles lists the configuration that upgrades must not overwrite.
set(SHARELINK_DEB_CONTROL_DIR "${PROJECT_BINARY_DIR}/packaging/deb")
file(WRITE "${SHARELINK_DEB_CONTROL_DIR}/conffiles" "/etc/shared-linkd/shared-linkd.toml\n")
foreach(script IN ITEMS postinst prerm postrm)
  configure_file("${SHARELINK_PACKAGING_DIR}/deb/${script}" "${SHARELINK_DEB_CONTROL_DIR}/${script}" COPYONLY)
endforeach()

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "shared-link")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "shared-link maintainers <shared-link@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "public share links for a self-hosted music studio")
set(CPACK_PACKAGE_DESCRIPTION
    "shared-linkd serves GET /v1/music/shared/{token}: it resolves share tokens into read-only views of
shared tracks and collections with short-lived signed playback URLs, rate-limited and audited per
client address. sharectl manages the catalogue, the share links, the audit log and the signing keys.")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
# Everything a plain install writes (component ALL), plus the files only the package places.
set(CPACK_INSTALL_CMAKE_PROJECTS "${PROJECT_BINARY_DIR};${PROJECT_NAME};ALL;/"
                                 "${PROJECT_BINARY_DIR};${PROJECT_NAME};debian_system;/")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# Runtime libraries are computed by dpkg-shlibdeps (dpkg-dev); adduser is for the maintainer scripts.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "nginx-light | nginx")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${SHARELINK_DEB_CONTROL_DIR}/conffiles;${SHARELINK_DEB_CONTROL_DIR}/postinst;${SHARELINK_DEB_CONTROL_DIR}/prerm;${SHARELINK_DEB_CONTROL_DIR}/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
# The package carries the man pages (cmake/Documentation.cmake): refuse to build it without them.
set(CPACK_SHARELINK_MAN_PAGES_BUILT "${SHARELINK_MAN_PAGES_BUILT}")
set(CPACK_PRE_BUILD_SCRIPTS "${PROJECT_SOURCE_DIR}/cmake/RequireManPages.cmake")
include(CPack)
