#!/usr/bin/env python3
"""Baseline for bench_translate: the same translator written the way the
popular PyTorch seq2seq tutorials write it (bentrevett/pytorch-seq2seq,
notebook 3), run with Debian's python3-torch on the same machine.

What makes this the "tutorial way": the attention re-projects the encoder
states at every decoder step (concatenating the repeated hidden state with
them), the vocabulary projection runs inside the step loop, the encoder uses
packed sequences, and batches are random (no length buckets).

Sizes: embedding 256, bidirectional GRU 512, decoder GRU 512, attention 512,
batch 128; vocabularies from Multi30k (whitespace tokens, min frequency 2).
Prints one JSON object with the same keys as build/bin/bench_translate.
"""
import argparse
import gzip
import json
import random
import statistics
import time
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F

PAD, UNK, BOS, EOS = 0, 1, 2, 3


def read(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [line.strip().split() for line in f]


def vocab(sentences, min_freq=2):
    counts = Counter(t for s in sentences for t in s)
    itos = ["<pad>", "<unk>", "<bos>", "<eos>"] + sorted(t for t, c in counts.items() if c >= min_freq)
    return {t: i for i, t in enumerate(itos)}


class Encoder(nn.Module):
    def __init__(self, vocab_size, emb, enc_hid, dec_hid, dropout):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, emb)
        self.rnn = nn.GRU(emb, enc_hid, bidirectional=True)
        self.fc = nn.Linear(enc_hid * 2, dec_hid)
        self.dropout = nn.Dropout(dropout)

    def forward(self, src, lengths):  # src (S, B)
        embedded = self.dropout(self.embedding(src))
        packed = nn.utils.rnn.pack_padded_sequence(embedded, lengths, enforce_sorted=False)
        outputs, hidden = self.rnn(packed)
        outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs, total_length=src.shape[0])
        hidden = torch.tanh(self.fc(torch.cat((hidden[-2], hidden[-1]), dim=1)))
        return outputs, hidden


class Attention(nn.Module):
    def __init__(self, enc_hid, dec_hid):
        super().__init__()
        self.attn = nn.Linear(enc_hid * 2 + dec_hid, dec_hid)
        self.v = nn.Linear(dec_hid, 1, bias=False)

    def forward(self, hidden, encoder_outputs, mask):
        src_len = encoder_outputs.shape[0]
        hidden = hidden.unsqueeze(1).repeat(1, src_len, 1)
        encoder_outputs = encoder_outputs.permute(1, 0, 2)
        # The encoder states are projected again at every step.
        energy = torch.tanh(self.attn(torch.cat((hidden, encoder_outputs), dim=2)))
        scores = self.v(energy).squeeze(2).masked_fill(mask == 0, -1e10)
        return F.softmax(scores, dim=1)


class Decoder(nn.Module):
    def __init__(self, vocab_size, emb, enc_hid, dec_hid, dropout):
        super().__init__()
        self.attention = Attention(enc_hid, dec_hid)
        self.embedding = nn.Embedding(vocab_size, emb)
        self.rnn = nn.GRU(enc_hid * 2 + emb, dec_hid)
        self.fc_out = nn.Linear(enc_hid * 2 + dec_hid + emb, vocab_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, token, hidden, encoder_outputs, mask):
        embedded = self.dropout(self.embedding(token.unsqueeze(0)))
        a = self.attention(hidden, encoder_outputs, mask).unsqueeze(1)
        weighted = torch.bmm(a, encoder_outputs.permute(1, 0, 2)).permute(1, 0, 2)
        output, hidden = self.rnn(torch.cat((embedded, weighted), dim=2), hidden.unsqueeze(0))
        # The vocabulary projection runs inside the step loop.
        prediction = self.fc_out(torch.cat((output.squeeze(0), weighted.squeeze(0), embedded.squeeze(0)), dim=1))
        return prediction, hidden.squeeze(0)


class Seq2Seq(nn.Module):
    def __init__(self, src_vocab, tgt_vocab):
        super().__init__()
        self.encoder = Encoder(src_vocab, 256, 512, 512, 0.5)
        self.decoder = Decoder(tgt_vocab, 256, 512, 512, 0.5)

    def forward(self, src, lengths, tgt):
        encoder_outputs, hidden = self.encoder(src, lengths)
        mask = (src != PAD).permute(1, 0)
        outputs = []
        token = tgt[0]
        for t in range(1, tgt.shape[0]):
            prediction, hidden = self.decoder(token, hidden, encoder_outputs, mask)
            outputs.append(prediction)
            token = tgt[t]
        return torch.stack(outputs)

    @torch.no_grad()
    def greedy(self, src, lengths, max_len, stop_at_eos=True):
        encoder_outputs, hidden = self.encoder(src, lengths)
        mask = (src != PAD).permute(1, 0)
        token = torch.full((src.shape[1],), BOS, dtype=torch.long)
        done = torch.zeros(src.shape[1], dtype=torch.bool)
        for _ in range(max_len):
            prediction, hidden = self.decoder(token, hidden, encoder_outputs, mask)
            token = prediction.argmax(1)
            done |= token == EOS
            if stop_at_eos and done.all():
                break


def pad(batch, index):
    seqs = [[index.get(t, UNK) for t in s] + [EOS] for s in batch]
    length = max(len(s) for s in seqs)
    return torch.tensor([s + [PAD] * (length - len(s)) for s in seqs]).t(), torch.tensor([len(s) for s in seqs])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default="../shared/data/multi30k")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--decode-sentences", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--decode-steps", type=int, default=30,
                        help="greedy steps per sentence, <eos> or not, so that any weights do the same work")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    random.seed(1)
    de, en = read(f"{args.data_dir}/train.de.gz"), read(f"{args.data_dir}/train.en.gz")
    src_index, tgt_index = vocab(de), vocab(en)
    model = Seq2Seq(len(src_index), len(tgt_index))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss(ignore_index=PAD)
    pairs = list(zip(de, en))

    def train_steps(n):
        tokens = 0
        for _ in range(n):
            batch = random.sample(pairs, args.batch_size)
            src, lengths = pad([p[0] for p in batch], src_index)
            tgt_body, _ = pad([p[1] for p in batch], tgt_index)
            tgt = torch.cat([torch.full((1, tgt_body.shape[1]), BOS), tgt_body])
            optimizer.zero_grad()
            out = model(src, lengths, tgt)
            loss = criterion(out.reshape(-1, out.shape[-1]), tgt[1:].reshape(-1))
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            tokens += int((tgt[1:] != PAD).sum())
        return tokens

    model.train()
    train_steps(2)
    train_rates = []
    for r in range(args.repeats):
        start = time.perf_counter()
        tokens = train_steps(args.steps)
        train_rates.append(tokens / (time.perf_counter() - start))
        print(f"repeat {r + 1}: train {train_rates[-1]:.0f} tok/s", flush=True, file=__import__("sys").stderr)
    model.eval()
    test = read(f"{args.data_dir}/test_2016_flickr.de.gz")[: args.decode_sentences]
    decode_rates = []
    for r in range(args.repeats):
        start = time.perf_counter()
        for i in range(0, len(test), 100):
            src, lengths = pad(test[i : i + 100], src_index)
            model.greedy(src, lengths, args.decode_steps, stop_at_eos=False)
        decode_rates.append(len(test) / (time.perf_counter() - start))
    print(json.dumps({
        "model_parameters": sum(p.numel() for p in model.parameters()),
        "threads": args.threads, "batch_size": args.batch_size, "decode_steps": args.decode_steps,
        "train_tokens_per_sec_median": statistics.median(train_rates),
        "greedy_sentences_per_sec_median": statistics.median(decode_rates),
        "train_tokens_per_sec": train_rates, "greedy_sentences_per_sec": decode_rates}))


if __name__ == "__main__":
    main()
