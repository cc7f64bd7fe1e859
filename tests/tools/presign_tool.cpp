// Test helper: prints the presigned S3 GET URL that common/s3_presigner.cpp makes for its arguments.
// Used by tests/integration/test_s3_botocore.py to compare with botocore. Test credentials only.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "common/s3_presigner.hpp"

int main(int argc, char** argv) {
  if (argc != 9) {
    std::fprintf(stderr,
                 "usage: presign_tool ENDPOINT BUCKET KEY REGION ACCESS_KEY_ID SECRET UNIX_TIME EXPIRES\n");
    return 2;
  }
  try {
    auto request = sharelink::s3_path_style_request(argv[1], argv[2], argv[3]);
    request.region = argv[4];
    request.access_key_id = argv[5];
    request.secret_access_key = argv[6];
    request.now = sharelink::from_unix_seconds(std::stoll(argv[7]));
    request.expires_seconds = std::stoi(argv[8]);
    std::printf("%s\n", sharelink::s3_presign_get(request).c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "presign_tool: error: %s\n", e.what());
    return 1;
  }
}
