# Script mode: turns schema/{main,audit,postgresql}/NNNN_*.sql into a C++ source with one raw
# string per migration, so both binaries carry the schema they need.
# Inputs: SCHEMA_DIR, OUTPUT.
function(embed_migrations dir out_var)
  file(GLOB migration_files "${dir}/[0-9][0-9][0-9][0-9]_*.sql")
  list(SORT migration_files)
  set(body "")
  foreach(file IN LISTS migration_files)
    get_filename_component(name "${file}" NAME)
    string(SUBSTRING "${name}" 0 4 version)
    math(EXPR version "${version}")
    file(READ "${file}" sql)
    string(APPEND body "    {${version}, \"${name}\", R\"sharelink_sql(${sql})sharelink_sql\"},\n")
  endforeach()
  set(${out_var} "${body}" PARENT_SCOPE)
endfunction()

embed_migrations("${SCHEMA_DIR}/main" main_body)
embed_migrations("${SCHEMA_DIR}/audit" audit_body)
embed_migrations("${SCHEMA_DIR}/postgresql" postgresql_body)

file(WRITE "${OUTPUT}.tmp" "// Generated from schema/*/*.sql by cmake/EmbedSchema.cmake; do not edit.
#include \"common/schema.hpp\"

namespace sharelink {
namespace {
constexpr Migration k_main_migrations[] = {
${main_body}};
constexpr Migration k_audit_migrations[] = {
${audit_body}};
constexpr Migration k_postgresql_migrations[] = {
${postgresql_body}};
}  // namespace

std::span<const Migration> migrations(SchemaKind kind) {
  switch (kind) {
    case SchemaKind::main:
      return k_main_migrations;
    case SchemaKind::audit:
      return k_audit_migrations;
    case SchemaKind::postgresql:
      return k_postgresql_migrations;
  }
  return k_main_migrations;
}

}  // namespace sharelink
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
