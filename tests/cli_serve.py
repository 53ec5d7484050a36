"""zoo-serve as a user runs it: the binary on 127.0.0.1 (a free port) over
export_fixture's files answers as zoo-run does (translator, forecaster),
stops cleanly at SIGTERM, and refuses bad command lines with one line and
exit status 1. Python's standard library only.

    cli_serve.py EXPORT_FIXTURE ZOO_RUN ZOO_SERVE
"""
import csv
import json
import random
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from serve_procs import check, finish, start_server, stop

fixture, zoo_run, zoo_serve = sys.argv[1:4]


def post(port, name, body):
    data = json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/models/{name}", data=data,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


with tempfile.TemporaryDirectory() as d:
    d = Path(d)
    subprocess.run([fixture, str(d)], check=True, stdout=subprocess.DEVNULL)
    translator = d / "translate-gru-additive-char.pt"
    forecaster = d / "forecast-direct-last-gru-additive.pt"

    server, port, line = start_server(
        zoo_serve, ["--model", f"m={translator}", "--model", f"f={forecaster}"], stderr=subprocess.PIPE)
    try:
        check("(2 models)" in line, f"the start line: {line!r}")

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=30) as r:
            check(json.load(r) == {"status": "ok", "models": 2}, "GET /health")

        # The forecaster's channels in its order (GET /v1/models/f), and a CSV of them.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models/f", timeout=30) as r:
            info = json.load(r)
        channels, input_len = info["channels"], info["input_len"]
        rows = input_len + 7
        rng = random.Random(5)
        values = [[round(rng.uniform(-3, 3), 4) for _ in channels] for _ in range(rows)]
        with open(d / "window.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["date"] + channels)
            for i, row in enumerate(values):
                w.writerow([f"2020-01-01 {i % 24:02d}:00:00"] + row)

        texts = ["12 March 1990", "Tuesday, 3. Okt 2001!", "x", "ÄÖ 7/7/77 — ok"]
        expected = subprocess.run([zoo_run, str(translator)] + sum([["--text", t] for t in texts], []),
                                  check=True, capture_output=True, text=True).stdout.split("\n")
        for text, want in zip(texts, expected):
            status, answer = post(port, "m", {"text": text})
            check(status == 200 and answer.get("translation") == want,
                  f"translate {text!r}: zoo-run {want!r}, zoo-serve {answer}")
        status, answer = post(port, "m", {"texts": texts})
        check(status == 200 and [r["translation"] for r in answer["results"]] == expected[:len(texts)],
              f"texts: {answer}")

        at = rows - 3
        out = subprocess.run([zoo_run, str(forecaster), "--csv", str(d / "window.csv"), "--at", str(at)],
                             check=True, capture_output=True, text=True).stdout.strip().split("\n")
        want = [float(line.split(",")[1]) for line in out[1:]]
        window = values[at - input_len:at]
        status, answer = post(port, "f", {"values": window})
        got = answer.get("forecast", [])
        scale = max(1.0, max(abs(v) for v in want))
        check(status == 200 and len(got) == len(want) and
              all(abs(a - b) <= 1e-5 * scale for a, b in zip(got, want)),
              f"forecast: zoo-run {want}, zoo-serve {got}")

        status, answer = post(port, "m", {"text": 7})
        check(status == 400 and "must be a string" in answer.get("error", ""), f"bad type: {answer}")
    finally:
        code = stop(server)
    check(code == 0, f"exit status at SIGTERM: {code}")
    check("stopping (signal)" in server.stderr.read(), "the stop line")

    # Command-line mistakes: one line, exit status 1.
    for args, says in [
        (["--model", "m"], "give NAME=FILE"),
        (["--model", f"m={d / 'missing.pt'}"], "missing.pt"),
        (["--model", f"a={translator}", "--model", f"a={forecaster}"], "two models of that name"),
        (["--model", f"m/x={translator}"], "without '/'"),
    ]:
        r = subprocess.run([zoo_serve, "--port", "0", "--max-seconds", "5"] + args,
                           capture_output=True, text=True, timeout=60)
        lines = r.stderr.strip().split("\n")
        check(r.returncode == 1 and len(lines) == 1 and says in lines[0],
              f"{args}: exit {r.returncode}, stderr {r.stderr!r}")
    # Its HTTP threads start before a model loads: loading caps the address
    # space (data/address_space.h), and 256 threads' stacks created meanwhile
    # did not fit (std::system_error, an abort without a word, in 6 of 6
    # starts before the fix).
    for attempt in range(3):
        r = subprocess.run([zoo_serve, "--model", f"c={d / 'caption-scenes.pt'}", "--port", "0",
                            "--threads", "2", "--http-threads", "256", "--max-seconds", "1"],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0 and "listening on" in r.stdout,
              f"start {attempt + 1} with 256 HTTP threads: exit {r.returncode}, {r.stderr[-300:]!r}")
    # A port in use.
    holder, taken, _ = start_server(zoo_serve, ["--model", f"m={translator}"])
    r = subprocess.run([zoo_serve, "--model", f"m={translator}", "--port", str(taken), "--max-seconds", "5"],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 1 and "cannot listen" in r.stderr, f"port in use: {r.stderr!r}")
    stop(holder)

finish("cli_serve")
