"""Signs generated requests with botocore's SigV4Auth, for the differential test of CostGuard's signer.

Usage: botocore_sign.py SEED COUNT  ->  a JSON array on stdout. Each item holds the request as CostGuard's signer
takes it (wire path, decoded query pairs, headers, body as hex), the signing inputs, and botocore's results.
"""
import datetime
import json
import random
import sys
from unittest import mock
from urllib.parse import quote

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~"
    " !\"#$%&'()*+,:;<=>?@[\\]^`{|}" + "éßሴ日本🙂"
)
HEADER_VALUE_ALPHABET = "abcXYZ019-_.~ !\"#$%&'()*+,/:;<=>?@[\\]^`{|}\t"
SERVICES = ["states", "elasticmapreduce", "sts", "service", "execute-api", "iam"]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1"]


def word(rng, alphabet, low=0, high=8):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))


def make_case(rng):
    segments = []
    for _ in range(rng.randint(0, 5)):
        roll = rng.random()
        if roll < 0.1:
            segments.append(".")
        elif roll < 0.2:
            segments.append("..")
        elif roll < 0.3:
            segments.append("")
        else:
            segments.append(quote(word(rng, ALPHABET, 1, 8), safe=""))
    path = "/" + "/".join(segments)
    if rng.random() < 0.3:
        path += "/"
    query = []
    for _ in range(rng.randint(0, 4)):
        name = word(rng, ALPHABET, 1, 6)
        query.append((name, word(rng, ALPHABET, 0, 6)))
        if rng.random() < 0.2:
            query.append((name, word(rng, ALPHABET, 0, 6)))
    headers = [("Host", "example.amazonaws.com")]
    for _ in range(rng.randint(0, 4)):
        name = rng.choice(["X-Custom", "x-amz-target", "Content-Type", "My-Header", "X-Amz-Meta-A", "User-Agent"])
        value = word(rng, HEADER_VALUE_ALPHABET, 0, 12)
        if rng.random() < 0.3:
            value = "  " + value + "   "
        headers.append((name if rng.random() < 0.5 else name.lower(), value))
    body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
    token = word(rng, "ABCDEFabcdef0123456789/+=", 20, 40) if rng.random() < 0.4 else None
    creds = Credentials(
        "AKID" + word(rng, "ABCDEFGHIJ0123456789", 16, 16), word(rng, "abcdefABCDEF0123456789/+", 40, 40), token
    )
    service = rng.choice(SERVICES)
    region = rng.choice(REGIONS)
    when = datetime.datetime(2015, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(
        seconds=rng.randint(0, 20 * 365 * 86400)
    )
    query_string = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in query)
    url = "https://example.amazonaws.com" + path + ("?" + query_string if query else "")
    request = AWSRequest(method=rng.choice(["GET", "POST", "PUT", "DELETE"]), url=url, data=body)
    for name, value in headers:
        request.headers.add_header(name, value)
    naive = when.replace(tzinfo=None)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=naive):
        botocore.auth.SigV4Auth(creds, service, region).add_auth(request)
    return {
        "method": request.method,
        "path": path,
        "query": [[k, v] for k, v in query],
        "headers": [[k, v] for k, v in headers],
        "bodyHex": body.hex(),
        "accessKeyID": creds.access_key,
        "secretAccessKey": creds.secret_key,
        "sessionToken": token,
        "service": service,
        "region": region,
        "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "authorization": request.headers["Authorization"],
    }


def main():
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    json.dump([make_case(rng) for _ in range(count)], sys.stdout)


if __name__ == "__main__":
    main()
