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

// The full presigned URL "scheme://host/uri?X-Amz-...&X-Amz-Signature=hex",
// following AWS "Authenticating Requests: Using Query Parameters (AWS
// Signature Version 4)": every byte of the path other than A-Za-z0-9-._~ and
// '/' percent-encoded (UTF-8, uppercase hex, no normalisation), query
// parameters sorted, X-Amz-SignedHeaders=host, UNSIGNED-PAYLOAD, credential
// scope date/region/s3/aws4_request, X-Amz-Date from now (UTC, whole seconds).
// Throws Error if scheme is not http/https, host, region, access key or secret
// is empty, canonical_uri does not start with '/', or expires_seconds is
// outside 1..604800. Thread-safe.
std::string s3_presign_get(const S3PresignRequest& request);

// Just the lowercase hex signature of the request (for the AWS documentation
// test vector). Same checks and thread-safety as s3_presign_get.
std::string s3_presign_signature(const S3PresignRequest& request);

// Path-style helper: endpoint "http(s)://host[:port][/prefix]", bucket and
// object key (not encoded). Fills scheme, host (lowercased, default port 80/443
// dropped, IPv6 kept in brackets) and canonical_uri "/prefix/bucket/key"; the
// caller fills region, keys, now and expires_seconds. Throws Error naming the
// endpoint if it is not an http(s) URL with a host, or carries a query,
// fragment or user info, or if bucket is empty.
S3PresignRequest s3_path_style_request(const std::string& endpoint, const std::string& bucket,
                                       const std::string& key);

}  // namespace sharelink
