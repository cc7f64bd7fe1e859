// Prints every configuration key the parser knows, one dotted key per line (known_config_keys());
// docs/test_man_pages.py checks that shared-linkd.toml(5) documents each of them.
#include <iostream>

#include "common/config.hpp"

int main() {
  for (const auto& key : sharelink::known_config_keys()) std::cout << key << '\n';
  return 0;
}
