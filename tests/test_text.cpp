// Text data: UTF-8, readers and their errors, vocabularies, tokenizers, dates, batching.
#include <catch2/catch.hpp>

#include <zlib.h>
#include "tests/temp_dir.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/batching.h"
#include "data/dates.h"
#include "data/error.h"
#include "data/parallel_corpus.h"
#include "data/text_io.h"
#include "data/tokenizer.h"
#include "data/utf8.h"
#include "data/vocab.h"

using namespace attnzoo;
namespace fs = std::filesystem;

namespace {

std::string temp_dir() { return attnzoo::testing::scratch_dir().string(); }

std::string write_file(const std::string& name, const std::string& content) {
  const std::string path = temp_dir() + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

std::string write_gz(const std::string& name, const std::string& content) {
  const std::string path = temp_dir() + "/" + name;
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, content.data(), static_cast<unsigned>(content.size()));
  gzclose(f);
  return path;
}

// The message of the UserError `f` throws (fails when it throws none).
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  FAIL("expected a UserError");
  return "";
}

}  // namespace

TEST_CASE("utf8: validation finds the first bad byte", "[text]") {
  CHECK(find_invalid_utf8("plain ascii") == std::string::npos);
  CHECK(find_invalid_utf8("Grüße, 東京") == std::string::npos);
  CHECK(find_invalid_utf8("ab\xff") == 2);
  CHECK(find_invalid_utf8("a\xc3") == 1);         // truncated sequence
  CHECK(find_invalid_utf8("\xc0\xaf") == 0);      // overlong '/'
  CHECK(find_invalid_utf8("\xed\xa0\x80") == 0);  // surrogate
  CHECK(to_lower("ÄRGER Über STRAßE") == "ärger über straße");
  CHECK(u32_to_utf8(utf8_to_u32("Grüße 東京 😀")) == "Grüße 東京 😀");
}

TEST_CASE("read_lines: plain and gzip files, CRLF, errors name file and line", "[text]") {
  const auto plain = write_file("plain.txt", "one\r\ntwo\nthree");
  CHECK(read_lines(plain) == std::vector<std::string>{"one", "two", "three"});
  const auto gz = write_gz("lines.gz", "eins\nzwei\n");
  CHECK(read_lines(gz) == std::vector<std::string>{"eins", "zwei"});
  CHECK_THAT(error_of([] { read_lines("/nonexistent/file.txt"); }),
             Catch::Contains("/nonexistent/file.txt") && Catch::Contains("no such file"));
  const auto bad = write_file("bad.txt", "fine\nstill fine\nbro\xffken\n");
  CHECK_THAT(error_of([&] { read_lines(bad); }),
             Catch::Contains(bad + ":3") && Catch::Contains("invalid UTF-8"));
}

TEST_CASE("input lines: one at a time, BOM and CR dropped, bad lines named, long lines refused",
          "[text]") {
  std::istringstream in(
      "\xEF\xBB\xBF"
      "one\r\ntwo\n\nlast");
  InputLines lines(in, "stdin");
  std::string line;
  REQUIRE(lines.next(line));
  CHECK(line == "one");
  // Nothing read ahead: the stream stands right after the first line.
  CHECK(in.rdbuf()->pubseekoff(0, std::ios::cur, std::ios::in) == 8);
  REQUIRE(lines.next(line));
  CHECK(line == "two");
  REQUIRE(lines.next(line));
  CHECK(line.empty());
  REQUIRE(lines.next(line));
  CHECK(line == "last");
  CHECK_FALSE(lines.next(line));
  CHECK(lines.count() == 4);

  std::istringstream bad("fine\nbad \xC3(\n");
  CHECK_THROWS_WITH(read_input_lines(bad, "stdin"), "stdin:2: invalid UTF-8 at byte 5");
  std::istringstream nul(std::string("a\0b\n", 4));
  CHECK_THROWS_WITH(read_input_lines(nul, "stdin"),
                    Catch::Contains("stdin:1: a NUL byte at byte 2"));
  std::istringstream long_line("ok\n" + std::string(100, 'x') + "\n");
  CHECK_THROWS_WITH(read_input_lines(long_line, "stdin", 64),
                    "stdin:2: a line longer than 64 bytes; split the text into lines");
  CHECK(check_input_line("24/11/26\r\n", "--text") == "24/11/26");
  CHECK_THROWS_WITH(check_input_line("a\nb", "--text"), Catch::Contains("holds several lines"));
}

TEST_CASE("parallel corpora: aligned files, TSV pairs, and their errors", "[text]") {
  const auto de = write_file("p.de", "ein hund\nzwei katzen\n");
  const auto en = write_file("p.en", "a dog\ntwo cats\n");
  const auto pairs = read_parallel(de, en);
  REQUIRE(pairs.size() == 2);
  CHECK(pairs[1].src == "zwei katzen");
  CHECK(pairs[1].tgt == "two cats");

  const auto short_en = write_file("short.en", "a dog\n");
  CHECK_THAT(error_of([&] { read_parallel(de, short_en); }),
             Catch::Contains("not aligned") && Catch::Contains("2 lines"));
  const auto empty = write_file("empty.de", "");
  const auto empty2 = write_file("empty.en", "");
  CHECK_THAT(error_of([&] { read_parallel(empty, empty2); }), Catch::Contains("empty corpus"));
  const auto half = write_file("half.en", "a dog\n\n");
  CHECK_THAT(error_of([&] { read_parallel(de, half); }),
             Catch::Contains(":2") && Catch::Contains("one side"));

  const auto tsv =
      write_file("eng-fra.txt", "Go.\tVa !\tCC-BY 2.0 (France) Attribution\nHi.\tSalut !\n");
  const auto t = read_tsv_pairs(tsv);
  REQUIRE(t.size() == 2);
  CHECK(t[0].src == "Go.");
  CHECK(t[0].tgt == "Va !");
  CHECK(read_tsv_pairs(tsv, /*swap=*/true)[1].src == "Salut !");
  const auto bad_tsv = write_file("bad.tsv", "Go.\tVa !\nno tab here\n");
  CHECK_THAT(error_of([&] { read_tsv_pairs(bad_tsv); }), Catch::Contains(bad_tsv + ":2"));

  CHECK_THAT(error_of([] { split_file("/nowhere", "train", "de"); }),
             Catch::Contains("/nowhere/train.de"));
}

TEST_CASE("vocab: specials first, frequency order, min_freq, max_size, JSON round trip", "[text]") {
  const std::vector<std::vector<std::string>> sentences = {{"b", "a", "a"}, {"a", "c", "b"}, {"d"}};
  const auto v = Vocab::build(sentences, /*min_freq=*/2);
  REQUIRE(v.size() == 6);
  CHECK(v.token(Vocab::kPad) == "<pad>");
  CHECK(v.token(Vocab::kEos) == "<eos>");
  CHECK(v.token(4) == "a");
  CHECK(v.token(5) == "b");
  CHECK(v.id("c") == Vocab::kUnk);
  CHECK(Vocab::build(sentences, 1, /*max_size=*/5).size() == 5);
  CHECK(v.decode({4, 5, Vocab::kEos, 4}) == std::vector<std::string>{"a", "b"});

  const std::string path = temp_dir() + "/vocab.json";
  v.save(path);
  CHECK(Vocab::load(path) == v);
  CHECK_THAT(error_of([] {
               Vocab::from_json(nlohmann::json{{"tokens", {"x"}}}, "v.json");
             }),
             Catch::Contains("v.json"));
}

TEST_CASE("word tokenizer splits punctuation and detokenizes back to the text", "[text]") {
  auto tok = make_tokenizer(TokenizerOptions{});
  const std::string text = "Ein Mann (mit Hut) sagt: \"Hallo!\" Zwei T-Shirts, 3.5 Äpfel...";
  const auto tokens = tok->tokenize(text);
  CHECK(std::find(tokens.begin(), tokens.end(), "Mann") != tokens.end());
  CHECK(std::find(tokens.begin(), tokens.end(), "Hut") != tokens.end());
  CHECK(tok->detokenize(tokens) == text);
  TokenizerOptions lower;
  lower.lowercase = true;
  CHECK(make_tokenizer(lower)->tokenize("Äpfel UND Birnen") ==
        std::vector<std::string>{"äpfel", "und", "birnen"});
}

TEST_CASE("char tokenizer: one token per code point, spaces kept", "[text]") {
  TokenizerOptions o;
  o.kind = "char";
  auto tok = make_tokenizer(o);
  const auto tokens = tok->tokenize("Grüß 24");
  CHECK(tokens.size() == 7);
  CHECK(tokens[2] == "ü");
  CHECK(tokens[4] == kSpaceSymbol);
  CHECK(tok->detokenize(tokens) == "Grüß 24");
}

TEST_CASE("SentencePiece BPE and unigram train on a corpus and round-trip", "[text]") {
  std::vector<std::string> corpus;
  for (const auto& p : generate_dates(400, 3)) corpus.push_back(p.src + " " + p.tgt);
  for (const std::string kind : {"bpe", "unigram"}) {
    TokenizerOptions o;
    o.kind = kind;
    o.vocab_size = 120;
    auto tok = make_tokenizer(o, "", &corpus);
    const std::string text = "tuesday, 24 november 2026";
    const auto pieces = tok->tokenize(text);
    CHECK(pieces.size() < text.size());  // merges happened
    CHECK(tok->detokenize(pieces) == text);
    // A tokenizer rebuilt from the saved model bytes behaves identically.
    auto again = make_tokenizer(o, tok->model_bytes());
    CHECK(again->tokenize(text) == pieces);
  }
}

TEST_CASE("dates: reproducible, every format maps to the right ISO date", "[text][dates]") {
  const auto a = generate_dates(300, 7);
  const auto b = generate_dates(300, 7);
  const auto c = generate_dates(300, 8);
  REQUIRE(a.size() == 300);
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].src == b[i].src);
    CHECK(a[i].tgt == b[i].tgt);
  }
  CHECK(a[0].src != c[0].src);
  const Date d{2026, 11, 24};
  CHECK(weekday(d) == 1);  // a Tuesday
  CHECK(civil_from_days(days_from_civil(d)).day == 24);
  CHECK(format_date(d, 0) == "tue 24 nov 2026");
  CHECK(format_date(d, 1) == "24/11/26");
  CHECK(format_date(d, 2) == "november 24, 2026");
  CHECK(format_date(d, 3) == "24 november 2026");
  CHECK(iso_date(d) == "2026-11-24");
  bool upper = false, two_digit_only_recent = true;
  for (const auto& p : generate_dates(2000, 1)) {
    upper = upper || p.src.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos;
    if (p.src.size() == 8 && p.src[2] == '/' && p.src[5] == '/')
      two_digit_only_recent = two_digit_only_recent && p.tgt.substr(0, 2) == "20" && p.tgt[2] < '5';
  }
  CHECK(upper);
  CHECK(two_digit_only_recent);
}

TEST_CASE("batching: padding, masks, bos/eos and length buckets", "[text]") {
  std::vector<Example> data;
  for (int64_t n = 1; n <= 40; ++n)
    data.push_back({std::vector<int64_t>(n % 7 + 1, 5), std::vector<int64_t>(n % 5 + 1, 6)});
  const auto batches = make_batches(data, 8, /*shuffle=*/true, 42);
  size_t seen = 0;
  for (const auto& b : batches) seen += b.size();
  CHECK(seen == data.size());
  CHECK(make_batches(data, 8, true, 42) == batches);  // deterministic for a seed
  CHECK(make_batches(data, 8, true, 43) != batches);

  const Batch batch = collate(data, {0, 4});  // source lengths 2 and 6, target lengths 2 and 1
  CHECK(batch.src.sizes() == torch::IntArrayRef({2, 6}));
  CHECK(batch.src_lengths[0].item<int64_t>() == 2);
  CHECK(batch.src_mask[0].sum().item<int64_t>() == 2);
  CHECK(batch.src[0][2].item<int64_t>() == Vocab::kPad);
  CHECK(batch.tgt_in[0][0].item<int64_t>() == Vocab::kBos);
  CHECK(batch.tgt_out[0][2].item<int64_t>() == Vocab::kEos);
  CHECK(batch.tgt_out[1][1].item<int64_t>() == Vocab::kEos);
  CHECK(batch.tgt_out[1][2].item<int64_t>() == Vocab::kPad);
  CHECK(batch.target_tokens == 3 + 2);
}
