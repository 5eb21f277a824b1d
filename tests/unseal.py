#!/usr/bin/env python3
"""Opens a sealed object (gateway/src/storage/sealed.rs) with a phase key, independently of the
gateway: what a party holding a key and a copy of the stored object could read.

usage: unseal.py KEY_BASE64 OBJECT_FILE > plaintext; exits 1 when the key does not open it.
"""
import base64
import struct
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HEADER, NONCE, TAG = 25, 12, 16


def unseal(key: bytes, data: bytes) -> bytes:
    header = data[:HEADER]
    if header[:4] != b"SVFS":
        raise ValueError("not a sealed object")
    chunk = struct.unpack(">I", header[5:9])[0]
    body, rec, out, index = data[HEADER:], NONCE + chunk + TAG, [], 0
    while True:
        record, body = body[:rec], body[rec:]
        last = not body
        aad = header + struct.pack(">Q", index) + bytes([1 if last else 0])
        out.append(AESGCM(key).decrypt(record[:NONCE], record[NONCE:], aad))
        if last:
            return b"".join(out)
        index += 1


def main() -> int:
    key = base64.b64decode(sys.argv[1])
    with open(sys.argv[2], "rb") as f:
        data = f.read()
    try:
        sys.stdout.buffer.write(unseal(key, data))
    except (InvalidTag, ValueError) as e:
        print(f"cannot open: {type(e).__name__} {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
