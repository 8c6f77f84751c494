#!/usr/bin/env python3
"""Validate FedPulse header documents (frame 1 of a message) against schemas/.

Usage:
    python3 scripts/check_schemas.py [--schemas DIR] [--topic TOPIC] FILE...

Each FILE holds one header JSON document. Its schema is DIR/<topic>.schema.json, where
<topic> is --topic if given, else the document's own "topic" field. Prints one line per
file, tab-separated so a caller can split it safely:

    OK<TAB>FILE
    FAIL<TAB>FILE<TAB>JSON-PATH: message

Exit status: 0 when every file is OK, 1 when any file FAILs, 2 when the checker itself
cannot run (jsonschema missing, a schema invalid, bad arguments).

JSON is read as strictly as the Swift decoder reads it: UTF-8 only, no byte-order mark,
no duplicate keys, no NaN/Infinity literals and no number that overflows to infinity.
"""

import argparse
import json
import math
import pathlib
import sys


class StrictJSONError(ValueError):
    pass


def _reject_constant(name):
    raise StrictJSONError(f"non-standard JSON constant {name}")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise StrictJSONError(f"number {text} is out of range")
    return value


def _unique_keys(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise StrictJSONError(f"duplicate key {key!r}")
        result[key] = value
    return result


def load_strict(raw):
    text = raw.decode("utf-8")  # strict: invalid UTF-8 raises UnicodeDecodeError
    if text.startswith("\ufeff"):
        raise StrictJSONError("byte-order mark")
    return json.loads(
        text,
        object_pairs_hook=_unique_keys,
        parse_constant=_reject_constant,
        parse_float=_finite_float,
    )


def one_line(text, limit=400):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_dir = pathlib.Path(__file__).resolve().parent.parent / "schemas"
    parser.add_argument("--schemas", type=pathlib.Path, default=default_dir, help="folder of *.schema.json")
    parser.add_argument("--topic", help="validate every FILE against this topic's schema")
    parser.add_argument("files", nargs="+", type=pathlib.Path, metavar="FILE")
    args = parser.parse_args(argv)

    try:
        import jsonschema
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource
    except ImportError as error:
        print(f"ERROR\tpython3 cannot import jsonschema/referencing ({error}); pip install jsonschema", file=sys.stderr)
        return 2

    schemas = {}
    resources = []
    for path in sorted(args.schemas.glob("*.schema.json")):
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
            Draft202012Validator.check_schema(schema)
        except (OSError, ValueError, jsonschema.exceptions.SchemaError) as error:
            print(f"ERROR\t{path}: invalid schema: {one_line(error)}", file=sys.stderr)
            return 2
        schemas[path.name[: -len(".schema.json")]] = schema
        resources.append((schema["$id"], Resource.from_contents(schema)))
    if not schemas:
        print(f"ERROR\tno *.schema.json in {args.schemas}", file=sys.stderr)
        return 2
    registry = Registry().with_resources(resources)

    failures = 0
    for path in args.files:
        try:
            document = load_strict(path.read_bytes())
        except (OSError, ValueError) as error:
            print(f"FAIL\t{path}\t$: not strict JSON: {one_line(error)}")
            failures += 1
            continue
        topic = args.topic or (document.get("topic") if isinstance(document, dict) else None)
        if not isinstance(topic, str) or topic == "envelope" or topic not in schemas:
            print(f"FAIL\t{path}\t$.topic: no schema for topic {one_line(repr(topic), 80)}")
            failures += 1
            continue
        validator = Draft202012Validator(
            schemas[topic], registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        error = jsonschema.exceptions.best_match(validator.iter_errors(document))
        if error is None:
            print(f"OK\t{path}")
        else:
            print(f"FAIL\t{path}\t{error.json_path}: {one_line(error.message)}")
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
