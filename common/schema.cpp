#include "common/schema.hpp"

namespace sharelink {

int latest_schema_version(SchemaKind kind) {
  const auto all = migrations(kind);
  return all.empty() ? 0 : all.back().version;
}

}  // namespace sharelink
