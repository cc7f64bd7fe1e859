#include "common/s3_presigner.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "common/crypto.hpp"
#include "common/error.hpp"
#include "common/text.hpp"

namespace sharelink {
namespace {

constexpr int k_max_expires_seconds = 604800;  // SigV4's limit: seven days
constexpr std::string_view k_algorithm = "AWS4-HMAC-SHA256";

struct AmzTime {
  std::string date;       // 20130524
  std::string date_time;  // 20130524T000000Z
};

AmzTime amz_time(TimePoint now) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(now);
  const auto day = floor<days>(secs);
  const year_month_day ymd{day};
  const hh_mm_ss hms{secs - day};
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  const std::string date_time = buffer;
  return AmzTime{date_time.substr(0, 8), date_time};
}

void check_request(const S3PresignRequest& request) {
  if (request.scheme != "http" && request.scheme != "https") {
    throw Error("S3 presign: scheme \"" + request.scheme + "\" is not http or https");
  }
  if (request.host.empty()) throw Error("S3 presign: the host is empty");
  if (request.canonical_uri.empty() || request.canonical_uri.front() != '/') {
    throw Error("S3 presign: the object path must start with \"/\"");
  }
  if (request.region.empty()) throw Error("S3 presign: the region is empty (set playback.s3.region)");
  if (request.access_key_id.empty()) {
    throw Error("S3 presign: the access key id is empty (set playback.s3.access_key_id)");
  }
  if (request.secret_access_key.empty()) {
    throw Error("S3 presign: the secret access key is empty (set playback.s3.secret_access_key_file)");
  }
  if (request.expires_seconds < 1 || request.expires_seconds > k_max_expires_seconds) {
    throw Error("S3 presign: X-Amz-Expires " + std::to_string(request.expires_seconds) +
                " is outside 1..604800 seconds");
  }
}

// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), "s3"), "aws4_request").
// It changes once a day, so each thread keeps the last one it derived.
const std::string& signing_key(const S3PresignRequest& request, const std::string& date) {
  struct Derived {
    std::string secret, date, region, key;
  };
  thread_local Derived cache;
  if (cache.key.empty() || cache.date != date || cache.region != request.region ||
      !constant_time_equal(cache.secret, request.secret_access_key)) {
    std::string key = hmac_sha256("AWS4" + request.secret_access_key, date);
    key = hmac_sha256(key, request.region);
    key = hmac_sha256(key, "s3");
    key = hmac_sha256(key, "aws4_request");
    cache = Derived{request.secret_access_key, date, request.region, std::move(key)};
  }
  return cache.key;
}

struct Presigned {
  std::string encoded_uri;
  std::string query;  // canonical query string, without the signature
  std::string signature;
};

Presigned presign(const S3PresignRequest& request) {
  check_request(request);
  const AmzTime time = amz_time(request.now);

  Presigned out;
  append_percent_encoded(out.encoded_uri, request.canonical_uri, true);  // SigV4 UriEncode, '/' kept

  // Parameter names in byte order: Algorithm < Credential < Date < Expires < SignedHeaders.
  std::string credential = request.access_key_id + "/" + time.date + "/" + request.region + "/s3/aws4_request";
  out.query = "X-Amz-Algorithm=";
  out.query += k_algorithm;
  out.query += "&X-Amz-Credential=";
  append_percent_encoded(out.query, credential);
  out.query += "&X-Amz-Date=" + time.date_time;
  out.query += "&X-Amz-Expires=" + std::to_string(request.expires_seconds);
  out.query += "&X-Amz-SignedHeaders=host";

  std::string canonical_request = "GET\n";
  canonical_request += out.encoded_uri;
  canonical_request += '\n';
  canonical_request += out.query;
  canonical_request += "\nhost:";
  canonical_request += request.host;
  canonical_request += "\n\nhost\nUNSIGNED-PAYLOAD";

  std::string string_to_sign(k_algorithm);
  string_to_sign += '\n';
  string_to_sign += time.date_time;
  string_to_sign += '\n';
  string_to_sign += time.date + "/" + request.region + "/s3/aws4_request\n";
  string_to_sign += sha256_hex(canonical_request);

  out.signature = hex_encode(hmac_sha256(signing_key(request, time.date), string_to_sign));
  return out;
}

bool is_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string s3_presign_get(const S3PresignRequest& request) {
  const Presigned signed_request = presign(request);
  std::string url;
  url.reserve(request.scheme.size() + 3 + request.host.size() + signed_request.encoded_uri.size() + 1 +
              signed_request.query.size() + 17 + signed_request.signature.size());
  url += request.scheme;
  url += "://";
  url += request.host;
  url += signed_request.encoded_uri;
  url += '?';
  url += signed_request.query;
  url += "&X-Amz-Signature=";
  url += signed_request.signature;
  return url;
}

std::string s3_presign_signature(const S3PresignRequest& request) { return presign(request).signature; }

S3PresignRequest s3_path_style_request(const std::string& endpoint, const std::string& bucket,
                                       const std::string& key) {
  const auto bad = [&](const std::string& why) {
    return Error("S3 endpoint \"" + endpoint + "\" " + why + " (expected http(s)://host[:port][/prefix])");
  };
  S3PresignRequest request;
  const auto scheme_end = endpoint.find("://");
  if (scheme_end == std::string::npos) throw bad("has no scheme");
  request.scheme = ascii_lower(endpoint.substr(0, scheme_end));
  if (request.scheme != "http" && request.scheme != "https") throw bad("is not an http or https URL");

  std::string_view rest = std::string_view(endpoint).substr(scheme_end + 3);
  const auto path_start = rest.find('/');
  std::string_view authority = rest.substr(0, path_start);
  std::string_view prefix = path_start == std::string_view::npos ? std::string_view{} : rest.substr(path_start);
  if (authority.find('@') != std::string_view::npos) throw bad("carries user info");
  if (endpoint.find_first_of("?#") != std::string::npos) throw bad("carries a query or fragment");

  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw bad("has an unterminated IPv6 address");
    host = authority.substr(0, close + 1);
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw bad("has text after the IPv6 address");
      has_port = true;
      port = after.substr(1);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    has_port = true;
    port = authority.substr(colon + 1);
  }
  if (host.empty() || host == "[]") throw bad("has no host");
  request.host = ascii_lower(host);
  if (has_port) {
    const int number = is_digits(port) && port.size() <= 5 ? std::stoi(std::string(port)) : 0;
    if (number < 1 || number > 65535) throw bad("has an invalid port");
    const bool default_port = (request.scheme == "http" && number == 80) || (request.scheme == "https" && number == 443);
    if (!default_port) request.host += ":" + std::to_string(number);
  }

  if (bucket.empty()) throw Error("S3 bucket name is empty (set playback.s3.bucket)");
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  request.canonical_uri = std::string(prefix) + "/" + bucket + "/" + key;
  return request;
}

}  // namespace sharelink
