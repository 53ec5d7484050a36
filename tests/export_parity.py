"""The exported TorchScript files, loaded with Python's torch.jit.load, give
the outputs the C++ modules gave (export_fixture's JSON): ids exactly,
attention and scores to 1e-5, texts exactly; frozen files the same ids.

    python3 export_parity.py DIR
"""
import glob
import json
import os
import sys

try:
    import torch
except ImportError:
    print("python3-torch is absent: the Python check of exported files is skipped")
    sys.exit(0)


def check_same(expected, result, what):
    ids, attention = result[0], result[-1]
    scores = result[1] if len(result) == 3 else None
    rows = expected["ids"]
    assert ids.shape[0] == len(rows), what
    assert ids.shape[1] == max(len(r) for r in rows), (what, ids.shape)
    for b, row in enumerate(rows):
        n = len(row)
        assert ids[b, :n].tolist() == row, (what, b, ids[b].tolist(), row)
        assert (ids[b, n:] == 0).all(), what
        want = torch.tensor(expected["attention"][b], dtype=torch.float64)
        got = attention[b, :n].double()
        assert torch.allclose(got, want, atol=1e-5, rtol=0), (what, b, (got - want).abs().max())
        assert (attention[b, n:] == 0).all(), what
        if scores is not None:
            assert abs(scores[b].item() - expected["scores"][b]) <= 1e-5 * abs(expected["scores"][b]) + 1e-9, what


def pick(result, rows):
    return {k: [result[k][r] for r in rows] for k in ("ids", "attention", "scores") if k in result}


def check_translator(path, expected, frozen):
    model = torch.jit.load(path)
    src = torch.tensor(expected["src"])
    lengths = torch.tensor(expected["lengths"])
    beam = expected["beam"]["beam"]
    # int8 and shortlist files depend on the batch: the whole batch only.
    batch_dependent = expected["batch_dependent"]
    for rows in ([0, 1, 2, 3, 4],) if batch_dependent else ([0, 1, 2, 3, 4], [2], [4, 0, 3]):
        index = torch.tensor(rows)
        s, n = src.index_select(0, index), lengths.index_select(0, index)
        check_same(pick(expected["greedy"], rows), model(s, n), path + " greedy")
        check_same(pick(expected["beam"], rows), model.beam_search(s, n, beam, 0), path + " beam")
    if expected["spm"]:
        # SentencePiece: ids in and out; the models travel as extra files.
        extra = {"src.spm": "", "tgt.spm": ""}
        torch.jit.load(path, _extra_files=extra)
        assert len(extra["src.spm"]) > 0, path
        for i, row in enumerate(expected["src"]):
            ids = row[: expected["lengths"][i] - 1]
            want = expected["beam"]["ids"][i]
            want = want[: want.index(3)] if 3 in want else want
            assert model.translate(ids) == want, (path, ids)
        return
    for text, translation, alignment in zip(expected["texts"], expected["translations"], expected["alignments"]):
        assert model.translate(text) == translation, (path, text, model.translate(text), translation)
        source, target, weights = model.attention(text)
        assert source == alignment["source"] and target == alignment["target"], (path, text)
        assert weights.shape == (len(target), len(source)), (path, weights.shape)
    # translate_batch: the texts as one padded batch give translate()'s text
    # and attention()'s tokens; n-best lists come best first.
    batch = model.translate_batch(expected["texts"], 0, 1)
    for hypotheses, translation, alignment in zip(batch, expected["translations"], expected["alignments"]):
        text, score, source, target, weights = hypotheses[0]
        assert source == alignment["source"], (path, source)
        assert batch_dependent or (text == translation and target == alignment["target"]), (
            path, text, translation)
        assert weights.shape == (len(target), len(source)), (path, weights.shape)
    for hypotheses in model.translate_batch(expected["texts"], 4, 3):
        scores = [h[1] for h in hypotheses]
        assert 1 <= len(scores) <= 3 and scores == sorted(scores, reverse=True), (path, scores)


def check_captioner(path, expected, frozen):
    model = torch.jit.load(path)
    images = torch.tensor(expected["images"]["data"], dtype=torch.float32).view(expected["images"]["shape"])
    beam = expected["beam"]["beam"]
    for rows in ([0, 1, 2, 3], [3], [2, 0]):
        batch = images.index_select(0, torch.tensor(rows))
        check_same(pick(expected["greedy"], rows), model(batch), path + " greedy")
        check_same(pick(expected["beam"], rows), model.beam_search(batch, beam), path + " beam")
    for i, caption in enumerate(expected["captions"]):
        assert model.caption(images[i], beam) == caption, (path, i)
    # Python too decodes a batch as one: each caption as caption() gives it.
    assert model.caption_batch(images, beam) == expected["captions"], path


def unflatten(j):
    return torch.tensor(j["data"], dtype=torch.float64).view(j["shape"])


def check_forecaster(path, expected, frozen):
    model = torch.jit.load(path)
    values, times = unflatten(expected["values"]).float(), unflatten(expected["times"]).float()
    want, want_attention = unflatten(expected["forecast"]), unflatten(expected["attention"])
    for rows in ([0, 1, 2, 3], [2], [3, 0]):
        index = torch.tensor(rows)
        args = [values.index_select(0, index)] + ([times.index_select(0, index)] if expected["timed"] else [])
        forecast, attention = model(*args)
        assert torch.allclose(forecast.double(), want.index_select(0, index), rtol=1e-4, atol=1e-4), path
        assert torch.allclose(attention.double(), want_attention.index_select(0, index), atol=1e-5), path
    assert model.horizon == want.shape[1] and model.input_len == values.shape[1], path


def main(folder):
    checked = 0
    for expected_path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        expected = json.load(open(expected_path))
        for suffix, frozen in ((".pt", False), (".frozen.pt", True)):
            path = expected_path[: -len(".json")] + suffix
            extra = {"attnzoo.json": ""}
            torch.jit.load(path, _extra_files=extra)
            record = json.loads(extra["attnzoo.json"])
            assert record["app"] == expected["app"] and record["frozen"] == frozen, record
            if expected["app"] == "translate":
                check_translator(path, expected, frozen)
            elif expected["app"] == "forecast":
                check_forecaster(path, expected, frozen)
            else:
                check_captioner(path, expected, frozen)
            checked += 1
    assert checked >= 4, f"only {checked} exported files in {folder}"
    print(f"{checked} exported files give the C++ outputs in Python")


if __name__ == "__main__":
    main(sys.argv[1])
