// Identifier forms of SPEC 2: generation and syntax checks, share tokens, digests and fingerprints.
#pragma once

#include <string>
#include <string_view>

namespace sharelink {

// Generated identifiers: prefix + 12 lowercase hex from the CSPRNG.
std::string new_track_id();       // mtrack_xxxxxxxxxxxx
std::string new_collection_id();  // mcoll_xxxxxxxxxxxx
std::string new_share_id();       // mslink_xxxxxxxxxxxx

// A request id, req_ + 16 lowercase hex, from a per-thread buffer of CSPRNG
// bytes refilled 4 KiB at a time: one RAND_bytes call (and its fork check, a
// getpid()) per 512 ids instead of one each. Each byte is used once.
// Thread-safe; not for a process that forks after its first call (neither
// binary forks).
std::string new_request_id();
// ^req_[0-9a-f]{16}$ (a page view's id is the request id of the page).
bool is_request_id(std::string_view id);

// Accepted forms: mtrack_[A-Za-z0-9_-]{1,64}, mcoll_[A-Za-z0-9_-]{1,64},
// mslink_ + 12 lowercase hex.
bool is_track_id(std::string_view id);
bool is_collection_id(std::string_view id);
bool is_share_id(std::string_view id);

// shr_ + 32 lowercase hex: 128 bits from RAND_bytes. Shown once, never stored.
std::string new_share_token();
// ^shr_[0-9a-f]{32}$
bool is_share_token(std::string_view token);
// What the database stores and looks up by: lowercase hex SHA-256 of the token.
std::string token_digest(std::string_view token);
// First 12 hex characters of SHA-256 of the whole token (audit log, inspect).
std::string token_fingerprint(std::string_view token);

}  // namespace sharelink
