#!/usr/bin/env python3
"""Writes samples/profiles.ndjson: 1,000 synthetic profiles, the same every run (fixed seed).

Usage: python3 samples/generate-profiles.py > samples/profiles.ndjson
Import: curl -H "X-Api-Key: $KEY" -H "Content-Type: application/x-ndjson" --data-binary @samples/profiles.ndjson http://localhost:5080/api/profiles/import
"""
import json
import random
import sys

rng = random.Random(20260302)
FIRST = ["Ava", "Liam", "Maya", "Noah", "Zoe", "Ethan", "Lena", "Omar", "Iris", "Jonas", "Priya", "Diego", "Chloe", "Kenji", "Sara", "Amir"]
LAST = ["Smith", "Garcia", "Chen", "Johnson", "Okafor", "Müller", "Rossi", "Nguyen", "Kowalski", "Haddad", "Silva", "Brown"]
CITIES = ["Atlanta", "San Francisco", "Seattle", "Boston", "Denver", "Chicago", "Austin", "Portland", "Miami"]

for n in range(1, 1001):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    address = f"{first.lower()}.{last.lower()}{n}@example.com".replace("ü", "ue")
    birth_year = rng.randint(1950, 2005)
    attributes = {
        "person": {"name": {"firstName": first, "lastName": last},
                   # A few systems export numbers as strings; rules must still compare them as numbers.
                   "birthYear": str(birth_year) if n % 37 == 0 else birth_year},
        "personalEmail": {"address": address},
    }
    if n % 50 != 0:  # some profiles have no address at all
        attributes["homeAddress"] = {"city": rng.choice(CITIES)}
    profile = {"identities": {"email": address, "crmId": str(100000 + n)}, "attributes": attributes}
    if rng.random() < 0.5:
        profile["pushTokens"] = [{"token": f"tok-{n:04d}-{rng.getrandbits(48):012x}", "platform": rng.choice(["android", "ios", "web"])}]
    if rng.random() < 0.1:
        profile["consent"] = {"email": False, "push": True}
    if n % 20 == 0:
        profile["testProfile"] = True
    sys.stdout.write(json.dumps(profile, ensure_ascii=False, separators=(",", ":")) + "\n")
