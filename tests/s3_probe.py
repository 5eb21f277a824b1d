#!/usr/bin/env python3
"""One S3 request to the RGW as one org's own RGW user (boto3), for tests/storage_test.sh.

    s3_probe.py STATE ORG OP BUCKET [KEY [VERSION]]

OP: list, list-versions, get (the current version, or VERSION), head, put, delete, delete-version (the current version, or
VERSION), shorten-retention, get-policy, put-policy, list-buckets (prints the names), version
(prints the current version id). Exit 0: allowed; 1: refused (403 AccessDenied); 2: any other
answer (printed), so a test tells "refused" from "missing" or "broken".
"""
import datetime
import json
import sys

import boto3
import botocore.config
import botocore.exceptions


def client(state, org):
    def read(ext):
        with open(f"{state}/ceph/s3/{org}.{ext}") as f:
            return f.read().strip()

    env = dict(line.strip().split("=", 1) for line in open(f"{state}/ceph/s3.env") if "=" in line)
    return boto3.client(
        "s3",
        endpoint_url=env["SVCFLOW_S3_ENDPOINT"],
        aws_access_key_id=read("access"),
        aws_secret_access_key=read("secret"),
        region_name=env.get("SVCFLOW_S3_REGION", "default"),
        config=botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def main():
    state, org, op, bucket = sys.argv[1:5]
    key = sys.argv[5] if len(sys.argv) > 5 else None
    version = sys.argv[6] if len(sys.argv) > 6 else None
    s3 = client(state, org)
    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=1)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam:::user/{org}"]},
                                                      "Action": ["s3:*"], "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}]}
    current = lambda: version or s3.head_object(Bucket=bucket, Key=key)["VersionId"]
    ops = {
        "list": lambda: s3.list_objects_v2(Bucket=bucket).get("KeyCount"),
        "list-versions": lambda: len(s3.list_object_versions(Bucket=bucket).get("Versions", [])),
        "get": lambda: len(s3.get_object(Bucket=bucket, Key=key, **({"VersionId": version} if version else {}))["Body"].read()),
        "head": lambda: s3.head_object(Bucket=bucket, Key=key)["ContentLength"],
        "put": lambda: s3.put_object(Bucket=bucket, Key=key, Body=b"overwritten")["ETag"],
        "delete": lambda: s3.delete_object(Bucket=bucket, Key=key).get("DeleteMarker"),
        "delete-version": lambda: s3.delete_object(Bucket=bucket, Key=key, VersionId=current(), BypassGovernanceRetention=True) and "deleted",
        "shorten-retention": lambda: s3.put_object_retention(Bucket=bucket, Key=key, VersionId=current(), BypassGovernanceRetention=True,
                                                             Retention={"Mode": "GOVERNANCE", "RetainUntilDate": soon}) and "shortened",
        "get-policy": lambda: s3.get_bucket_policy(Bucket=bucket)["Policy"],
        "put-policy": lambda: s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy)) and "set",
        "list-buckets": lambda: " ".join(b["Name"] for b in s3.list_buckets()["Buckets"]),
        "version": lambda: s3.head_object(Bucket=bucket, Key=key)["VersionId"],
        "versions": lambda: " ".join(f"{v['VersionId']}:{'latest' if v['IsLatest'] else 'old'}" for v in s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])),
        "delete-marker": lambda: " ".join(s3.delete_object(Bucket=bucket, Key=key, VersionId=m["VersionId"]) and m["VersionId"]
                                          for m in s3.list_object_versions(Bucket=bucket, Prefix=key).get("DeleteMarkers", [])),
    }
    try:
        print(ops[op]())
    except botocore.exceptions.ClientError as e:
        code = e.response["Error"]["Code"]
        status = e.response["ResponseMetadata"]["HTTPStatusCode"]
        print(f"{op}: {code} ({status})")
        sys.exit(1 if status == 403 else 2)


if __name__ == "__main__":
    main()
