// `shared-linkd --demo`: a throwaway installation with sample tracks, a collection and share links.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/config.hpp"

namespace sharelink {

struct DemoLink {
  std::string description;
  std::string token;  // shown on the terminal once, like sharectl share create
};

struct DemoInstallation {
  std::filesystem::path directory;
  std::filesystem::path config_file;  // for sharectl --config
  Config config;
  std::vector<DemoLink> links;
};

// Creates a fresh directory under the system temp dir with both databases,
// the licence registry, a key file, generated audio, three tracks (one
// removed), a collection and share links. listen is the address to serve on.
DemoInstallation create_demo_installation(const std::string& listen);

// The share page links of the demo, then ready-to-run curl commands, for a demo served at base_url.
std::string demo_instructions(const DemoInstallation& demo, const std::string& base_url);

}  // namespace sharelink
