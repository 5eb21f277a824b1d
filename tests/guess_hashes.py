#!/usr/bin/env python3
"""Tries guesses against the private-data hashes every org keeps in its blocks.

    guess_hashes.py BLOCKS_DIR GUESSES_JSON

BLOCKS_DIR holds blocks decoded by configtxlator (N.json); GUESSES_JSON is a list of
{"what": label, "key": string} or {"what": label, "value": string} (or "value_b64" for bytes): a private key or value as
someone who knows every public fact and the true id and document would write it. Prints one JSON
object: how many hashed writes the blocks hold, and which guesses match one (by label).
"""
import base64
import hashlib
import json
import os
import sys


def hashed_writes(block):
    for env in block.get("data", {}).get("data", []):
        for action in env.get("payload", {}).get("data", {}).get("actions", []) or []:
            results = action.get("payload", {}).get("action", {}).get("proposal_response_payload", {}).get("extension", {}).get("results", {})
            for ns in results.get("ns_rwset", []) or []:
                for coll in ns.get("collection_hashed_rwset", []) or []:
                    for w in coll.get("hashed_rwset", {}).get("hashed_writes", []) or []:
                        yield base64.b64decode(w.get("key_hash") or ""), base64.b64decode(w.get("value_hash") or "")


def main():
    blocks_dir, guesses_path = sys.argv[1], sys.argv[2]
    keys, values = set(), set()
    for name in os.listdir(blocks_dir):
        if name.endswith(".json"):
            with open(os.path.join(blocks_dir, name)) as f:
                for k, v in hashed_writes(json.load(f)):
                    keys.add(k)
                    values.add(v)
    with open(guesses_path) as f:
        guesses = json.load(f)
    matches = []
    for g in guesses:
        if "key" in g and hashlib.sha256(g["key"].encode()).digest() in keys:
            matches.append(g["what"])
        if "value" in g and hashlib.sha256(g["value"].encode()).digest() in values:
            matches.append(g["what"])
        if "value_b64" in g and hashlib.sha256(base64.b64decode(g["value_b64"])).digest() in values:
            matches.append(g["what"])
    print(json.dumps({"hashed_writes": len(keys), "guesses": len(guesses), "matches": matches}))


if __name__ == "__main__":
    main()
