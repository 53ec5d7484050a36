"""zoo-serve against hostile clients, as the binary runs on 127.0.0.1: each
attack gets its status at once and the server stays up, answers /health and
keeps its memory; slow clients cost no thread and time out; the JSON access
log keeps every line whole and out of replies; SIGTERM answers every admitted
request. Python's standard library only; every loop is bounded.

    cli_serve_hostile.py EXPORT_FIXTURE ZOO_SERVE
"""
import base64
import json
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from serve_procs import check, finish, start_server, stop, wait_exit

fixture, zoo_serve = sys.argv[1:3]


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_reply(s):
    """One response: (status, headers dict, body bytes); (0, {}, b"") when the connection closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            return 0, {}, b""
        if not chunk:
            return 0, {}, b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def send_raw(port, data, timeout=30):
    s = connect(port)
    s.settimeout(timeout)
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    reply = read_reply(s)
    s.close()
    return reply


def post(port, path, body, extra=b""):
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return send_raw(port, b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: "
                    + str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body)


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def start(args, log_path):
    server, port, _ = start_server(zoo_serve, args, stderr=open(log_path, "w"))
    return server, port


def healthy(port):
    status, _, body = send_raw(port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
    return status == 200


with tempfile.TemporaryDirectory() as d:
    d = Path(d)
    subprocess.run([fixture, str(d)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    translator = d / "translate-gru-additive-char.pt"
    forecaster = d / "forecast-direct-last-gru-additive.pt"
    captioner = d / "caption-scenes.pt"
    log_path = d / "access.log"
    server, port = start(["--model", f"m={translator}", "--model", f"f={forecaster}",
                          "--model", f"c={captioner}", "--log", "--head-timeout-s", "1",
                          "--max-body-mb", "1", "--http-threads", "8"], log_path)
    try:
        # --- one request each: its status, and the server goes on -----------------------
        deep = b"[" * 100000 + b"]" * 100000
        _, _, info = send_raw(port, b"GET /v1/models/f HTTP/1.1\r\n\r\n")
        info = json.loads(info)
        window = [[1.0] * len(info["channels"]) for _ in range(info["input_len"])]
        window[2][0] = 1e39
        attacks = [
            ("nested text", post(port, "/v1/models/m", b'{"text": ' + deep + b"}"), 400),
            ("nested texts", post(port, "/v1/models/m", b'{"texts": ' + deep + b"}"), 400),
            ("nested beam", post(port, "/v1/models/m", b'{"text": "a", "beam": ' + deep + b"}"), 400),
            ("nested values", post(port, "/v1/models/f", b'{"values": ' + deep + b"}"), 400),
            ("1e39 forecast value", post(port, "/v1/models/f", {"values": window}), 400),
            ("1 MB word", post(port, "/v1/models/m", {"text": "w" * 1000000}), 400),
            ("two Content-Length", send_raw(port, b"POST /v1/models/m HTTP/1.1\r\nContent-Length: 2\r\n"
                                           b"Content-Length: 40\r\n\r\n{}"), 400),
            ("Content-Length and chunked", send_raw(port, b"POST /v1/models/m HTTP/1.1\r\nContent-Length: 5\r\n"
                                                   b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400),
            ("gzip body", post(port, "/v1/models/m", b"\x1f\x8b" + b"\0" * 100,
                               b"Content-Encoding: gzip\r\n"), 415),
            ("forged log line", send_raw(port, b"GET /v1/models/x%0A%7B%22status%22%3A200%7D HTTP/1.1\r\n\r\n"), 400),
            ("HTTP/2 preface", send_raw(port, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505),
            ("long head", send_raw(port, b"GET /health HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n"), 431),
            ("image bomb header", post(port, "/v1/models/c", {"image": base64.b64encode(
                b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\1\x86\xa0\0\1\x86\xa0\x08\x02\0\0\0").decode()}), 413),
            ("not an image", post(port, "/v1/models/c", {"image": base64.b64encode(b"GIF89a" + b"x" * 50).decode()}), 400),
            ("max-body-mb nan-proof", post(port, "/v1/models/m", b" " * (2 << 20)), 413),
        ]
        for method in ["PUT", "PATCH", "DELETE", "OPTIONS"]:
            attacks.append((method, send_raw(port, method.encode() + b" /v1/models/m HTTP/1.1\r\n"
                                             b"Content-Length: 0\r\n\r\n"), 405))
        for name, (status, headers, body), want in attacks:
            check(status == want, f"{name}: status {status}, want {want}: {body[:200]!r}")
            if status:
                check("error" in json.loads(body) and len(body) < 400, f"{name}: the error body {body[:200]!r}")
                check(len(headers.get("x-request-id", "")) > 0, f"{name}: no X-Request-Id")
            check(healthy(port), f"after {name}: /health does not answer")

        # A body over the limit is refused from its Content-Length, before it is sent.
        s = connect(port)
        t = time.time()
        s.sendall(b"POST /v1/models/m HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n")
        status, _, _ = read_reply(s)
        s.close()
        check(status == 413 and time.time() - t < 2, f"declared 1 GB body: {status} in {time.time() - t:.1f} s")

        # The config shown to clients names no path of the server's disks.
        _, _, listing = send_raw(port, b"GET /v1/models HTTP/1.1\r\n\r\n")
        check(str(d) not in listing.decode() and "/shared/" not in listing.decode(),
              "GET /v1/models lists paths")

        # --- memory: a 300 MiB chunked body is refused past 1 MiB, not read whole -------
        before = rss_kb(server.pid)
        s = connect(port)
        s.sendall(b"POST /v1/models/m HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"100000\r\n" + b" " * 0x100000 + b"\r\n"
        sent = 0
        try:
            for _ in range(300):
                s.sendall(chunk)
                sent += 1
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass
        status, _, _ = read_reply(s)
        s.close()
        after = rss_kb(server.pid)
        check(status in (413, 0) and sent < 300, f"300 MiB chunked: status {status}, {sent} MiB sent")
        check(after - before < 64 * 1024, f"300 MiB chunked: RSS {before} -> {after} kB")
        print(f"300 MiB chunked: {sent} MiB taken, status {status}, RSS {before} -> {after} kB")

        # --- slow clients: no thread each, /health answers, 408 after the head timeout ----
        slow = []
        for _ in range(100):
            s = connect(port)
            s.sendall(b"POST /v1/models/m HTTP/1.1\r\nHo")
            slow.append(s)
        t = time.time()
        check(healthy(port) and time.time() - t < 1, f"/health with 100 slow clients: {time.time() - t:.2f} s")
        print(f"/health with 100 slow clients: {1000 * (time.time() - t):.1f} ms")
        time.sleep(0.5)
        for s in slow[:10]:
            try:
                s.sendall(b"s")  # a byte now and then does not extend the deadline
            except OSError:
                pass
        time.sleep(1.5)
        timed_out = 0
        for s in slow:
            s.settimeout(5)
            status, _, _ = read_reply(s)
            timed_out += status == 408
            s.close()
        check(timed_out == 100, f"slow heads answered 408: {timed_out} of 100")

        # --- the access log under concurrent image decoding: whole, and never in a reply --
        png_garbage = base64.b64encode(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x02\0\0\0"
                                       + b"\xde\xad" * 200).decode()
        replies, lock = [], threading.Lock()
        sent_requests = [0]

        def client(i):
            for k in range(10):
                if i % 2:
                    r = post(port, "/v1/models/c", {"image": png_garbage})
                else:
                    r = post(port, "/v1/models/m", {"text": f"{k} May 19{i:02d}"})
                with lock:
                    replies.append(r)
                    sent_requests[0] += 1

        log_lines_before = sum(1 for _ in open(log_path))
        threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        leaked = [r for r in replies if b"bytes_in" in r[2] or b"libpng" in r[2]]
        check(not leaked, f"{len(leaked)} replies hold log text: {leaked[:1]}")
        check(all(r[0] in (200, 400) for r in replies), f"image/text statuses {sorted(set(r[0] for r in replies))}")
        lines = open(log_path).read().split("\n")[log_lines_before:]
        records = []
        for line in lines:
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except ValueError:
                    check(False, f"a broken log line: {line[:200]!r}")
        cut = [line for line in lines if '{"' in line and not line.startswith("{")]
        check(not cut, f"log lines written into another line: {cut[:2]}")
        posts = [r for r in records if r.get("method") == "POST"]
        check(len(posts) == sent_requests[0] == 200, f"log lines of 200 requests: {len(posts)}")
        print(f"access log: {len(posts)} lines for {sent_requests[0]} requests, {len(leaked)} replies with log text")
        check(all({"time", "id", "status", "model", "inputs", "queue_ms", "compute_ms"} <= set(r) for r in posts),
              "log fields")
        full_log = open(log_path).read()
        check('{"status":200}' not in full_log.replace(" ", "").split("\n"), "a forged log line")
        check(healthy(port), "after the image clients")
    finally:
        code = stop(server)
    check(code == 0, f"exit status at SIGTERM: {code}")

    # --- SIGTERM during 64 admitted requests: every one answered, then exit 0 ----------
    server, port = start(["--model", f"m={translator}", "--max-batch", "1", "--http-threads", "64"],
                         d / "drain.log")
    conns = []
    for i in range(64):
        s = connect(port)
        body = json.dumps({"text": f"{i} March 1990 " * 6}).encode()
        s.sendall(b"POST /v1/models/m HTTP/1.1\r\nContent-Length: " + str(len(body)).encode()
                  + b"\r\n\r\n" + body)
        conns.append(s)
    lazy = connect(port)
    lazy.sendall(b"GET /hea")  # never finishes its head: not admitted, closed at once
    time.sleep(0.3)
    t = time.time()
    server.send_signal(signal.SIGTERM)
    statuses = [read_reply(s)[0] for s in conns]
    code = wait_exit(server)
    check(statuses.count(200) == 64, f"SIGTERM: {statuses.count(200)} of 64 admitted requests answered: {statuses}")
    check(code == 0 and time.time() - t < 8, f"SIGTERM: exit {code} after {time.time() - t:.1f} s")
    print(f"SIGTERM with 64 admitted requests: {statuses.count(200)} answered, exit {code} after "
          f"{time.time() - t:.2f} s")

    # --- keys from files; SIGHUP reloads every model from its file ------------------------
    (d / "keys").write_text("# inference\nuser-key-0123456789abcdef\n\n")
    (d / "admin").write_text("admin-key-0123456789abcdef\n")
    server, port = start(["--model", f"m={translator}", "--api-key-file", str(d / "keys"),
                          "--management-key-file", str(d / "admin")], d / "keys.log")
    try:
        check(send_raw(port, b"GET /v1/models HTTP/1.1\r\n\r\n")[0] == 401, "no key: 401")
        check(send_raw(port, b"GET /v1/models HTTP/1.1\r\nAuthorization: Bearer user-key-0123456789abcdef\r\n\r\n")[0]
              == 200, "inference key: 200")
        check(healthy(port), "/health needs no key")
        server.send_signal(signal.SIGHUP)
        deadline = time.time() + 60
        while "reloaded m from" not in (d / "keys.log").read_text() and time.time() < deadline:
            time.sleep(0.1)
        check("reloaded m from" in (d / "keys.log").read_text(), "SIGHUP: no reload line")
        status, _, _ = post(port, "/v1/models/m", {"text": "1 May 1999"},
                            b"Authorization: Bearer admin-key-0123456789abcdef\r\n")
        check(status == 200, f"after SIGHUP: {status}")
        check(server.poll() is None, "SIGHUP stopped the server")
    finally:
        stop(server)
    (d / "short").write_text("abc\n")
    r = subprocess.run([zoo_serve, "--model", f"m={translator}", "--api-key-file", str(d / "short")],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 1 and "16 or more characters" in r.stderr and "abc" not in r.stderr,
          f"a short key: exit {r.returncode}, {r.stderr!r}")

    # --- numbers that are not numbers ---------------------------------------------------
    for flag in ["--max-body-mb", "--max-seconds", "--max-wait-ms", "--timeout-ms", "--drain-s"]:
        for value in ["nan", "inf"]:
            r = subprocess.run([zoo_serve, "--model", f"m={translator}", flag, value],
                               capture_output=True, text=True, timeout=60)
            check(r.returncode != 0 and "must be a number" in r.stderr,
                  f"{flag} {value}: exit {r.returncode}, {r.stderr.strip()[:200]!r}")

finish("cli_serve_hostile")
