// The JSON body of a resolve answer (SPEC 4): a resolver answer written as the API shows it.
#pragma once

#include <string>
#include <string_view>

#include "common/resolver.hpp"

namespace sharelink {

// The 200 body (available true or false) with SPEC 4's field order; nulls written.
std::string render_view(const ResolveResult& result);

// The message of an available:false answer.
inline constexpr std::string_view k_unavailable_message =
    "The creator has removed the content behind this share link.";

}  // namespace sharelink
