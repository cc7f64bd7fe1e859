#!/usr/bin/python3
"""Prints botocore's SigV4 presigned GET URL for one S3 object, at a frozen time.

The reference that shared-link's own presigner (common/s3_presigner.cpp) is
checked against by tests/integration/test_s3_botocore.py. It goes through a
real botocore S3 client (path-style addressing, signature s3v4), so botocore
encodes the key and builds the canonical request itself; only the clock is
frozen. Test credentials only: the secret is taken from the command line.

usage: botocore_presign.py ENDPOINT BUCKET KEY REGION ACCESS_KEY_ID SECRET UNIX_TIME EXPIRES
"""
import datetime
import sys
from unittest import mock

import botocore.session
from botocore.config import Config


def presign(endpoint, bucket, key, region, access_key_id, secret, unix_time, expires):
    frozen = datetime.datetime.fromtimestamp(unix_time, datetime.timezone.utc).replace(tzinfo=None)

    class FrozenDatetime(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return frozen

    session = botocore.session.get_session()
    client = session.create_client(
        "s3",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    with mock.patch("botocore.auth.datetime.datetime", FrozenDatetime):
        return client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires)


def main(argv):
    if len(argv) != 9:
        sys.stderr.write(__doc__)
        return 2
    endpoint, bucket, key, region, access_key_id, secret, unix_time, expires = argv[1:]
    print(presign(endpoint, bucket, key, region, access_key_id, secret, int(unix_time), int(expires)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
