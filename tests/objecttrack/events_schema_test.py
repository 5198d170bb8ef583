#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks objecttrack's event schema with the reference validator (python3-jsonschema).

The schema itself must be a valid JSON Schema 2020-12 document, and every line that
`keepup-analyze test --events -` writes (zones, lines, loitering and tracks turned on) must
validate against it. The C++ tests validate with a small validator of their own
(tests/common/json_schema_lite.hpp); this one keeps that validator honest. Needs the hermetic
test environment and KEEPUP_BUILD_DIR. Exits 77 (skipped) when python3-jsonschema is missing.
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
SCHEMA = os.path.join(SOURCE, "elements", "objecttrack", "events-v1.schema.json")
BUILD = os.environ["KEEPUP_BUILD_DIR"]


def main():
    try:
        import jsonschema
    except ImportError:
        print("python3-jsonschema is not installed: skipped")
        return 77
    with open(SCHEMA, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    proc = subprocess.run(
        [os.path.join(BUILD, "bin", "keepup-analyze"), "test", "--seconds", "4", "--output", "-",
         "--events", "-", "--meters-per-pixel", "0.045", "--lines", "gate:640,0,640,720"],
        capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        print("FAIL: keepup-analyze exited", proc.returncode, proc.stderr)
        return 1
    types = {}
    for line in proc.stdout.splitlines():
        event = json.loads(line)
        errors = sorted(validator.iter_errors(event), key=str)
        if errors:
            print("FAIL:", line, "\n ", errors[0].message)
            return 1
        types[event["type"]] = types.get(event["type"], 0) + 1
    for needed in ("track-started", "track-ended", "line-crossed"):
        if not types.get(needed):
            print("FAIL: no", needed, "event in", types)
            return 1
    # What the schema must refuse.
    bad = {"v": 2, "type": "zone-entered", "stream": "s", "wall_time": "2026-12-04T16:55:01.123Z",
           "pts": 0, "track_id": 1, "label": "car", "class_id": 0, "zone": "a"}
    if validator.is_valid(bad):
        print("FAIL: v 2 accepted")
        return 1
    print("ok:", types)
    return 0


if __name__ == "__main__":
    sys.exit(main())
