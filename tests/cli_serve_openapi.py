"""zoo-serve's GET /openapi.json against what the server really does: the
document is OpenAPI 3.1 with every route the server answers; real answers of
every status checked here (200 of each model kind, single and plural, with
n-best and attention; 4xx errors; health; the lists) validate against the
schemas it gives, and requests the server refuses fail its request schemas.
Debian's python3-jsonschema (scripts/setup) validates.

    cli_serve_openapi.py EXPORT_FIXTURE ZOO_SERVE
"""
import base64
import json
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import jsonschema

from serve_procs import check, finish, start_server, stop

fixture, zoo_serve = sys.argv[1:3]
validated = [0]


def call(port, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, r.headers.get("Content-Type"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read()


with tempfile.TemporaryDirectory() as d:
    d = Path(d)
    subprocess.run([fixture, str(d)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    models = {"m": d / "translate-gru-additive-char.pt", "spm": d / "translate-bpe-source.pt",
              "c": d / "caption-scenes.pt", "f": d / "forecast-direct-last-gru-additive.pt"}
    server, port, _ = start_server(zoo_serve, sum([["--model", f"{k}={v}"] for k, v in models.items()], []))
    try:
        status, kind, raw = call(port, "/openapi.json")
        doc = json.loads(raw)
        check(status == 200 and doc.get("openapi", "").startswith("3.1"), f"openapi: {status} {doc.get('openapi')}")
        # The document: every path has operations with responses, and every $ref resolves.
        for path, ops in doc["paths"].items():
            for method, op in ops.items():
                check(method in ("get", "post") and "responses" in op, f"{method} {path}")
        resolver = jsonschema.RefResolver.from_schema(doc)
        meta = jsonschema.Draft202012Validator

        def schema_of(path, method, status, content="application/json"):
            responses = doc["paths"][path][method]["responses"]
            return responses[str(status)]["content"][content]["schema"]

        def validates(schema, value, what):
            meta.check_schema(schema)
            validated[0] += 1
            errors = list(meta(schema, resolver=resolver).iter_errors(value))
            check(not errors, f"{what}: {[e.message for e in errors[:3]]} in {json.dumps(value)[:300]}")

        expected_paths = {"/health", "/health/live", "/health/ready", "/metrics", "/openapi.json", "/v1/models"}
        for name in models:
            expected_paths |= {f"/v1/models/{name}", f"/v1/models/{name}/reload"}
        check(set(doc["paths"]) == expected_paths, f"paths: {sorted(set(doc['paths']) ^ expected_paths)}")

        # Real answers against the document.
        for path in ["/health", "/health/live", "/health/ready", "/v1/models", "/v1/models/m", "/v1/models/f"]:
            status, _, raw = call(port, path)
            validates(schema_of(path, "get", status), json.loads(raw), f"GET {path}")
        status, kind, _ = call(port, "/metrics")
        check(status == 200 and kind.startswith("text/plain") and "text/plain" in doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"],
              "metrics content type")

        _, _, info = call(port, "/v1/models/f")
        info = json.loads(info)
        window = [[0.5] * len(info["channels"]) for _ in range(info["input_len"])]
        png = base64.b64encode((d / "scene.png").read_bytes()).decode() if (d / "scene.png").exists() else None
        if png is None:  # the fixture's scene: any small PNG the captioner reads
            import zlib, struct
            def chunk(t, b):
                return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xFFFFFFFF)
            rows = b"".join(b"\0" + bytes([(x * 7 + y * 3) % 256 for x in range(32 * 3)]) for y in range(32))
            png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 32, 8, 2, 0, 0, 0))
                                   + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")).decode()
        requests = [
            ("m", {"text": "12 May 1999"}),
            ("m", {"text": "12 May 1999", "beam": 3, "n_best": 2, "attention": True, "timeout_ms": 5000}),
            ("m", {"texts": ["1 June 2001", "", "x"], "attention": True}),
            ("spm", {"ids": [1, 2, 3]}),
            ("spm", {"ids": [1, 2], "attention": True}),
            ("c", {"image": png}),
            ("c", {"images": [png, png], "beam": 2}),
            ("f", {"values": window}),
            ("f", {"windows": [window, window]}),
        ]
        for name, body in requests:
            path = f"/v1/models/{name}"
            request_schema = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
            validates(request_schema, body, f"request to {name}")
            status, _, raw = call(port, path, body)
            check(status == 200, f"POST {path} {json.dumps(body)[:80]}: {status} {raw[:200]!r}")
            if status == 200:
                validates(schema_of(path, "post", 200), json.loads(raw), f"answer of {name} to {json.dumps(body)[:60]}")

        # Requests the server refuses: their status is in the document, the body an Error,
        # and the request schema refuses them too.
        for name, body, want in [
            ("m", {"text": 5}, 400),
            ("m", {"txt": "a"}, 400),
            ("m", {"text": "a", "texts": ["b"]}, 400),
            ("m", {"text": "a", "beam": 0}, 400),
            ("f", {"values": [[1]]}, 400),
            ("c", {"image": "%%%"}, 400),
            ("m", {"text": "a", "timeout_ms": 0}, 400),
        ]:
            path = f"/v1/models/{name}"
            status, _, raw = call(port, path, body)
            check(status == want, f"{name} {body}: {status}")
            validates(schema_of(path, "post", status), json.loads(raw), f"error answer {status}")
            if name != "c":  # base64 is only a string to the schema
                request_schema = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
                errors = list(meta(request_schema, resolver=resolver).iter_errors(body))
                check(errors, f"the request schema takes {body}, which the server refuses")
        status, _, raw = call(port, "/v1/models/nope", {"text": "a"})
        check(status == 404, "unknown model: 404")
        validates(doc["components"]["schemas"]["Error"], json.loads(raw), "404 answer")
    finally:
        stop(server)

check(validated[0] >= 30, f"only {validated[0]} validations ran")
finish("cli_serve_openapi", f"{validated[0]} values validated, ")
