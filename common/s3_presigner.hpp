// AWS Signature Version 4 presigned GET URLs (query-string authentication) for S3-compatible stores.
#pragma once

#include <string>

#include "common/time_format.hpp"

namespace sharelink {

struct S3PresignRequest {
  std::string scheme = "https";  // "http" or "https"
  std::string host;              // Host header value, with ":port" when not the default
  std::string canonical_uri;     // already-decoded object path, e.g. "/bucket/key" or "/test.txt"
  std::string region;
  std::string access_key_id;
  std::string secret_access_key;
  TimePoint now;
  int expires_seconds = 300;  // X-Amz-Expires, 1..604800
};

// The full presigned URL (path segments URI-encoded per SigV4, query parameters
// in canonical order, X-Amz-Signature last).
std::string s3_presign_get(const S3PresignRequest& request);

// Just the hex signature of the request (for the AWS documentation test vector).
std::string s3_presign_signature(const S3PresignRequest& request);

// Path-style helper: endpoint "http://host:port", bucket and object key.
S3PresignRequest s3_path_style_request(const std::string& endpoint, const std::string& bucket,
                                       const std::string& key);

}  // namespace sharelink
