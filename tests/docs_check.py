#!/usr/bin/env python3
"""Docs that run: checks README.md and docs/*.md the way a reader meets them.

usage: docs_check.py links SOURCE_DIR
       docs_check.py run SOURCE_DIR BUILD_DIR [FILE.md ...]

links: every relative link ([text](path) or ![alt](path)) names a file that
exists, and a #fragment names a heading of that file (GitHub's anchors).

run: the shell blocks marked runnable (a fence of three backticks followed by
"sh runnable") of each file run in order, each block under bash -eu (as a
reader's shell runs it: a pipe is as good as its last command), in a fresh folder that holds links to the build's bin/, configs/
and ../shared, as a reader's clone would; ATTNZOO_MAX_STEPS (default 10 here)
caps every training so that the blocks run on small budgets. A block that
fails prints its file, its first line and the output.
"""
import os
import re
import subprocess
import sys
import tempfile
import time

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```")


def markdown_files(source):
    files = [os.path.join(source, "README.md")]
    docs = os.path.join(source, "docs")
    files += sorted(os.path.join(docs, f) for f in os.listdir(docs) if f.endswith(".md"))
    return files


def prose_lines(path):
    """(number, line) of the lines outside fenced code blocks."""
    inside = False
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        if FENCE.match(line):
            inside = not inside
            continue
        if not inside:
            yield number, line


def anchor(heading):
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors_of(path):
    return {anchor(line.lstrip("#")) for _, line in prose_lines(path) if line.startswith("#")}


def check_links(source):
    bad, count = [], 0
    for path in markdown_files(source):
        for number, line in prose_lines(path):
            # Code spans are not links.
            line = re.sub(r"`[^`]*`", "", line)
            for target in LINK.findall(line):
                if re.match(r"^[a-z]+:", target):
                    continue  # http:, https:, mailto:
                count += 1
                file_part, _, fragment = target.partition("#")
                dest = path if not file_part else os.path.normpath(
                    os.path.join(os.path.dirname(path), file_part))
                where = f"{os.path.relpath(path, source)}:{number}"
                if not os.path.exists(dest):
                    bad.append(f"{where}: {target}: no such file")
                elif fragment and dest.endswith(".md") and fragment not in anchors_of(dest):
                    bad.append(f"{where}: {target}: no heading #{fragment} in {os.path.relpath(dest, source)}")
    for b in bad:
        print(b)
    print(f"{count} relative links in {len(markdown_files(source))} files, {len(bad)} broken")
    return 1 if bad else 0


def runnable_blocks(path):
    blocks, current, start = [], None, 0
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        if current is None and re.match(r"^```sh runnable\s*$", line):
            current, start = [], number
        elif current is not None and FENCE.match(line):
            blocks.append((start, "".join(current)))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def run_blocks(source, build, names):
    files = [p for p in markdown_files(source)
             if not names or os.path.basename(p) in names or os.path.relpath(p, source) in names]
    env = dict(os.environ)
    env.setdefault("ATTNZOO_MAX_STEPS", "10")
    total, failed = 0, 0
    for path in files:
        blocks = runnable_blocks(path)
        if not blocks:
            continue
        rel = os.path.relpath(path, source)
        root = tempfile.mkdtemp(prefix="docs-", dir=build)
        work = os.path.join(root, "clone")
        os.makedirs(work)
        # The folder a reader works in: the build, the configs, the data beside it.
        os.symlink(os.path.abspath(build), os.path.join(work, "build"))
        for name in ("configs", "scripts", "examples", "tools"):
            os.symlink(os.path.join(source, name), os.path.join(work, name))
        shared = os.path.normpath(os.path.join(source, "..", "shared"))
        if os.path.isdir(shared):
            os.symlink(shared, os.path.join(root, "shared"))
        for start, code in blocks:
            total += 1
            began = time.time()
            result = subprocess.run(["bash", "-eu", "-c", code], cwd=work, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                    timeout=600)
            seconds = time.time() - began
            first = code.strip().splitlines()[0] if code.strip() else ""
            if result.returncode != 0:
                failed += 1
                print(f"FAIL {rel}:{start} ({seconds:.0f} s, exit {result.returncode}): {first}")
                print(result.stdout[-4000:])
            else:
                print(f"ok   {rel}:{start} ({seconds:.0f} s): {first}")
        subprocess.run(["rm", "-rf", root])
    print(f"{total} runnable blocks, {failed} failed")
    return 1 if failed or total == 0 else 0


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("links", "run") or (sys.argv[1] == "run" and len(sys.argv) < 4):
        sys.exit(__doc__)
    if sys.argv[1] == "links":
        sys.exit(check_links(os.path.abspath(sys.argv[2])))
    sys.exit(run_blocks(os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3]), sys.argv[4:]))


if __name__ == "__main__":
    main()
