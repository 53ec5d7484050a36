"""Compares the model weights of two attnzoo checkpoints (read as TorchScript
archives) and, optionally, the validation figures of their metrics.jsonl.

usage: compare_checkpoints.py A.pt B.pt --tol T [--metrics A.jsonl B.jsonl --metric-tol M]

The weight gap is max |a - b| over every parameter and buffer, divided by the
largest |b| (the weights' scale); it fails above T. Prints the gap, so a test
log shows how far inside the tolerance a run landed.
"""
import argparse
import json
import sys

import torch


def tensors(path):
    m = torch.jit.load(path, map_location="cpu")
    out = dict(m.model.named_parameters())
    out.update({"buffer:" + k: v for k, v in m.model.named_buffers()})
    return out


def last_validation(path):
    figures = {}
    for line in open(path):
        rec = json.loads(line)
        figures.update({k: v for k, v in rec.items() if k.startswith("valid_")})
    return figures


def main():
    p = argparse.ArgumentParser()
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--tol", type=float, required=True)
    p.add_argument("--metrics", nargs=2)
    p.add_argument("--metric-tol", type=float, default=1e-3)
    args = p.parse_args()
    a, b = tensors(args.a), tensors(args.b)
    if a.keys() != b.keys():
        sys.exit(f"different tensors: {sorted(a.keys() ^ b.keys())[:5]}")
    scale = max(float(v.abs().max()) for v in b.values() if v.is_floating_point() and v.numel())
    gap, worst = 0.0, ""
    for k in a:
        if not a[k].is_floating_point():
            if not torch.equal(a[k], b[k]):
                sys.exit(f"{k} differs")
            continue
        g = float((a[k].double() - b[k].double()).abs().max()) if a[k].numel() else 0.0
        if g > gap:
            gap, worst = g, k
    rel = gap / scale
    print(f"weights: max |a-b| = {gap:.3e} ({worst}), scale max |b| = {scale:.3e}, relative {rel:.3e} (tol {args.tol:.1e})")
    ok = rel <= args.tol
    if args.metrics:
        ma, mb = last_validation(args.metrics[0]), last_validation(args.metrics[1])
        if not ma or ma.keys() != mb.keys():
            sys.exit(f"validation figures differ in kind: {sorted(ma)} vs {sorted(mb)}")
        for k in sorted(ma):
            d = abs(ma[k] - mb[k])
            print(f"{k}: {ma[k]:.6g} vs {mb[k]:.6g} (|diff| {d:.2e})")
            ok = ok and d <= args.metric_tol * max(1.0, abs(mb[k]))
    if not ok:
        sys.exit("FAIL: the runs differ beyond the tolerance")


if __name__ == "__main__":
    main()
