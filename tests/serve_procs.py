"""What the zoo-serve command-line tests share (cli_serve*.py): their list
of failures, a server started on a free port of 127.0.0.1, and its stop at
SIGTERM. Python's standard library only."""
import re
import signal
import subprocess
import sys

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def finish(name, summary=""):
    print(f"{name}: {summary}{len(failures)} failures")
    sys.exit(1 if failures else 0)


def start_server(zoo_serve, args, stderr=subprocess.DEVNULL):
    """zoo-serve --port 0 --threads 1 --max-seconds 400 ARGS: (process, port,
    its start line). The start line comes once the models are loaded, or the
    server exits (bounded either way)."""
    p = subprocess.Popen([zoo_serve, "--port", "0", "--threads", "1", "--max-seconds", "400"] + args,
                         stdout=subprocess.PIPE, stderr=stderr, text=True)
    line = p.stdout.readline()
    m = re.search(r"listening on http://127\.0\.0\.1:(\d+) ", line)
    if m is None:
        p.kill()
        raise SystemExit(f"zoo-serve {' '.join(args)}: no start line: {line!r}")
    return p, int(m.group(1)), line


def wait_exit(server, timeout=60):
    """Its exit status, or "hung" (killed) after `timeout` s."""
    try:
        return server.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        server.kill()
        return "hung"


def stop(server, timeout=60):
    """SIGTERM, then wait_exit."""
    server.send_signal(signal.SIGTERM)
    return wait_exit(server, timeout)
