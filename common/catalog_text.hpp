// The texts an operator gives the catalogue and share links (titles, names, notes...): their limits and checks.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/domain.hpp"

namespace sharelink {

// Byte limits of the operator-supplied texts (UTF-8 bytes, not characters).
// Every resolve of a share sends its texts to the client, so they stay small.
inline constexpr std::size_t k_max_title_bytes = 300;             // track title
inline constexpr std::size_t k_max_collection_name_bytes = 300;   // collection name
inline constexpr std::size_t k_max_description_bytes = 4000;      // collection description
inline constexpr std::size_t k_max_engine_bytes = 64;             // track engine
inline constexpr std::size_t k_max_mode_bytes = 64;               // track mode
inline constexpr std::size_t k_max_note_bytes = 1000;             // share note
inline constexpr std::size_t k_max_reason_bytes = 500;            // revoke reason
inline constexpr std::size_t k_max_mime_type_bytes = 127;         // track mime type
inline constexpr std::size_t k_max_audio_path_bytes = 4096;       // track audio path (PATH_MAX)

// What an imported or --id identifier may look like (SPEC 2), for messages.
inline constexpr std::string_view k_track_id_form = "mtrack_ followed by 1 to 64 of A-Z a-z 0-9 _ -";
inline constexpr std::string_view k_collection_id_form = "mcoll_ followed by 1 to 64 of A-Z a-z 0-9 _ -";

// text with every control character (C0, DEL, C1) and every byte that is not
// part of well-formed UTF-8 written as a visible escape (\x1b, \u009b, \xff),
// so that printing it on a terminal cannot move the cursor, recolour or
// retitle it. Thread-safe.
std::string visible_text(std::string_view text);

// The value quoted for a message: at most 200 bytes of it as visible_text,
// quotes and backslashes escaped too (\x22, \x5c). Thread-safe.
std::string quote_value(std::string_view value);

// True when text is well-formed UTF-8 (RFC 3629) without a control character:
// C0 (U+0000..U+001F), DEL (U+007F) and C1 (U+0080..U+009F).
bool is_clean_text(std::string_view text);

// A non-empty, clean (is_clean_text) text of at most max_bytes bytes; returns
// it. Throws UsageError "WHAT: expected a non-empty text of at most N bytes
// (valid UTF-8, no control characters), got ..." otherwise; a text over the
// limit is named by its length, not quoted.
std::string parse_text(std::string_view what, std::string_view text, std::size_t max_bytes);

// One of the four licence classes of SPEC 4. Throws UsageError listing them otherwise.
LicenceClass parse_licence_class_arg(std::string_view what, std::string_view text);
// A licence version: 1 to 32 of A-Z a-z 0-9 . _ -. Throws UsageError otherwise.
std::string parse_licence_version(std::string_view what, std::string_view text);
// "type/subtype" of token characters, at most k_max_mime_type_bytes. Throws UsageError otherwise.
std::string parse_mime_type(std::string_view what, std::string_view text);

}  // namespace sharelink
