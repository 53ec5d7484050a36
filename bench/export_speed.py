"""Greedy decoding speed (sentences/s) of the exported translator in Python:
torch.jit.load of the files bench_export wrote, forward() over the same
batches (batches.json), plain and frozen, under torch.no_grad().

    python3 bench/export_speed.py --work runs/bench/export [--threads 1] --repeats 5

Prints one JSON object: medians over repeats, and every sample.
"""
import argparse
import json
import statistics
import sys
import time

import torch


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", default="runs/bench/export", help="bench_export's --work folder")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (the median is reported)")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    batches = [(torch.tensor(b["src"]), torch.tensor(b["lengths"])) for b in json.load(open(f"{args.work}/batches.json"))]
    sentences = sum(src.shape[0] for src, _ in batches)
    extra = {"attnzoo.json": ""}
    models = {"python_exported": torch.jit.load(f"{args.work}/translator.pt", _extra_files=extra),
              "python_frozen": torch.jit.load(f"{args.work}/translator.frozen.pt")}
    # int8 quantises each call's activations with their own scale: the frozen
    # file's rewrites may flip a token there, so differing sentences are counted.
    int8 = json.loads(extra["attnzoo.json"])["config"].get("export", {}).get("quantize") == "int8"
    rates = {name: [] for name in models}
    differing = 0
    with torch.no_grad():
        for src, lengths in batches:  # warm-up; both give the same ids
            a = models["python_exported"](src, lengths)[0]
            for i in range(2):
                b = models["python_frozen"](src, lengths)[0]
                if not torch.equal(b, a):
                    assert int8 and b.shape == a.shape, "frozen ids differ"
                    differing += int(b.ne(a).any(1).sum()) if i == 1 else 0
        for r in range(args.repeats):
            for name, model in models.items():
                start = time.perf_counter()
                for src, lengths in batches:
                    model(src, lengths)
                rates[name].append(sentences / (time.perf_counter() - start))
            print(f"repeat {r + 1}: " + ", ".join(f"{n} {v[-1]:.1f}" for n, v in rates.items()) + " sentences/s",
                  file=sys.stderr)
    result = {"sentences": sentences, "threads": torch.get_num_threads(), "torch": torch.__version__,
              "quantize": "int8" if int8 else "fp32", "frozen_sentences_differing": differing}
    for name, v in rates.items():
        result[f"{name}_sentences_per_sec_median"] = statistics.median(v)
        result[f"{name}_sentences_per_sec"] = v
    print(json.dumps(result))


if __name__ == "__main__":
    main()
