// zoo-serve (serve/): the batcher, then a server on 127.0.0.1 over exported
// seeded models of every kind, asked over HTTP: answers equal to the file's
// own methods called as zoo-run calls them, errors as JSON 4xx that leave the
// server serving, and 200 concurrent clients answered as sequential ones.
#include <httplib.h>
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "data/images.h"
#include "export/export.h"
#include "runtime/inputs.h"
#include "runtime/kind.h"
#include "serve/batcher.h"
#include "serve/server.h"
#include "tasks/glimpse.h"
#include "tests/export_cases.h"
#include "tests/temp_dir.h"

using namespace attnzoo;
using namespace attnzoo::testing;
using nlohmann::json;

TEST_CASE("batcher: concurrent items run in batches, each answered with its own result",
          "[serve]") {
  std::atomic<int> calls{0};
  serve::Batcher<int, int> batcher(
      [&](const std::vector<int>& items) {
        ++calls;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        std::vector<int> out;
        for (int i : items) out.push_back(i * i);
        return out;
      },
      8, std::chrono::milliseconds(20));
  std::vector<std::thread> threads;
  std::vector<int> results(64, -1);
  for (int i = 0; i < 64; ++i)
    threads.emplace_back([&, i] { results[i] = batcher.submit(i).get().value; });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 64; ++i) CHECK(results[i] == i * i);
  const auto s = batcher.stats();
  CHECK(s.items == 64);
  CHECK(s.largest <= 8);
  CHECK(s.largest > 1);  // concurrent submissions were gathered
  CHECK(s.batches == calls);
  CHECK(s.batches < 64);
}

TEST_CASE("batcher: an item that fails fails alone", "[serve]") {
  serve::Batcher<int, int> batcher(
      [](const std::vector<int>& items) {
        std::vector<int> out;
        for (int i : items) {
          if (i == 13) throw std::runtime_error("thirteen");
          out.push_back(-i);
        }
        return out;
      },
      16, std::chrono::milliseconds(30));
  std::vector<std::future<serve::Timed<int>>> futures;
  for (int i = 10; i < 16; ++i) futures.push_back(batcher.submit(i));
  for (int i = 10; i < 16; ++i) {
    auto& f = futures[static_cast<size_t>(i - 10)];
    if (i == 13) {
      CHECK_THROWS_WITH(f.get(), "thirteen");
    } else {
      CHECK(f.get().value == -i);
    }
  }
}

TEST_CASE("batcher: a full queue refuses a submission whole, a passed deadline is never run",
          "[serve]") {
  std::atomic<int> ran{0};
  std::promise<void> release;
  auto gate = release.get_future().share();
  serve::Batcher<int, int> batcher(
      [&](const std::vector<int>& items) {
        gate.wait();  // the first batch holds the worker until released
        ran += static_cast<int>(items.size());
        return items;
      },
      1, std::chrono::microseconds(0), /*max_queue=*/3);
  auto first = batcher.submit(1);  // taken by the worker, which then waits
  while (batcher.stats().queued > 0) std::this_thread::yield();
  const auto soon = serve::BatchClock::now() + std::chrono::milliseconds(1);
  auto late = batcher.submit(2, soon);  // waits behind the first past its deadline
  auto a = batcher.submit_all({3, 4});  // the queue holds 3 now
  CHECK_THROWS_AS(batcher.submit_all({5, 6}), serve::Overloaded);  // 3 + 2 > 3: none queued
  CHECK(batcher.stats().queued == 3);
  CHECK(batcher.stats().refused == 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  release.set_value();
  CHECK(first.get().value == 1);
  CHECK_THROWS_AS(late.get(), serve::DeadlineExceeded);
  CHECK(a[0].get().value == 3);
  const auto timed = a[1].get();
  CHECK(timed.value == 4);
  CHECK(timed.queue_ms >= 4);  // it waited behind the held batch
  CHECK(ran == 3);             // 1, 3, 4: never 2
  CHECK(batcher.stats().expired == 1);
}

TEST_CASE("batcher: with two workers two batches run at once", "[serve]") {
  for (const int workers : {1, 2}) {
    std::atomic<int> inside{0}, most{0};
    serve::Batcher<int, int> batcher(
        [&](const std::vector<int>& items) {
          const int now = ++inside;
          int seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {
          }
          // Waits (up to 2 s) for a second batch to come in beside it.
          const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
          while (inside < 2 && workers == 2 && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          --inside;
          return items;
        },
        1, std::chrono::microseconds(0), 0, workers);
    auto a = batcher.submit(1);
    auto b = batcher.submit(2);
    CHECK(a.get().value == 1);
    CHECK(b.get().value == 2);
    CHECK(most == workers);
    CHECK(batcher.stats().batches == 2);
  }
}

TEST_CASE("batcher: reserved places count as waiting, an item that would finish late is not run",
          "[serve]") {
  std::atomic<int> ran{0};
  serve::Batcher<int, int> batcher(
      [&](const std::vector<int>& items) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        ran += static_cast<int>(items.size());
        return items;
      },
      4, std::chrono::microseconds(0), /*max_queue=*/3);
  CHECK(batcher.reserve());
  CHECK(batcher.reserve());
  CHECK(batcher.stats().queued == 2);
  auto one = batcher.submit(1);  // 2 reserved + 1 queued (or running) <= 3
  CHECK(one.get().value == 1);   // a batch took ~50 ms: the recent run time
  CHECK(batcher.reserve());
  CHECK_FALSE(batcher.reserve());  // 3 places held
  CHECK(batcher.stats().refused == 1);
  batcher.unreserve();
  CHECK(batcher.stats().queued == 2);
  CHECK(batcher.reserve());
  batcher.unreserve();
  batcher.unreserve();
  batcher.unreserve();
  CHECK(batcher.stats().queued == 0);
  // 20 ms left, batches take ~50: refused before it runs; 10 s left: run.
  auto late = batcher.submit(2, serve::BatchClock::now() + std::chrono::milliseconds(20));
  CHECK_THROWS_WITH(late.get(), Catch::Contains("would pass before the model could answer"));
  auto fine = batcher.submit(3, serve::BatchClock::now() + std::chrono::seconds(10));
  CHECK(fine.get().value == 3);
  CHECK(ran == 2);
  CHECK(batcher.stats().expired == 1);
}

namespace {

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string base64(const std::string& bytes) { return runtime::encode_base64(bytes); }

// The exported fixtures: translator, captioner, a residual-attention glimpse
// classifier and a forecaster, and images / a window to ask them about.
struct Fixture {
  std::string dir, translator, spm_translator, captioner, glimpse, forecaster, scene_png, shoe_png;
  torch::Tensor window;  // (L,C) in the CSV's units
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture x;
    x.dir = (scratch_dir() / "serve").string();
    std::filesystem::create_directories(x.dir);
    {
      auto translator = make_translator(translator_cases()[0]);
      x.translator = x.dir + "/translate.pt";
      save_export(export_translator(translator), x.translator, "translate", translator.config);
      auto spm = make_translator(translator_cases()[4]);  // SentencePiece source: ids in and out
      torch::jit::ExtraFilesMap files;
      x.spm_translator = x.dir + "/translate-spm.pt";
      save_export(export_translator(spm, &files), x.spm_translator, "translate", spm.config, false,
                  files);
    }
    {
      auto c = make_captioner({"encoder.positions=2"});
      x.captioner = x.dir + "/caption.pt";
      save_export(export_captioner(c.captioner), x.captioner, "caption", c.captioner.config);
      x.scene_png = x.dir + "/scene.png";
      write_image(x.scene_png, c.data.test[0].pixels);
    }
    {
      auto config = default_glimpse_config();
      config["model"]["kind"] = "cnn";
      torch::manual_seed(4);
      GlimpseClassifier classifier(config);
      x.glimpse = x.dir + "/glimpse.pt";
      save_export(export_glimpse(classifier), x.glimpse, "glimpse", classifier.config);
      torch::manual_seed(5);
      x.shoe_png = x.dir + "/shoe.png";
      write_image(x.shoe_png, torch::randint(0, 256, {28, 28}, torch::kLong).to(torch::kUInt8));
    }
    {
      auto f = make_forecaster(forecaster_cases()[0]);
      x.forecaster = x.dir + "/forecast.pt";
      save_export(export_forecaster(*f.f), x.forecaster, "forecast", f.f->config);
      x.window = f.table.values.slice(0, 10, 10 + f.f->input_len()).to(torch::kFloat);
    }
    return x;
  }();
  return f;
}

// A server on 127.0.0.1 (any free port) serving the fixtures, stopped at scope end.
struct RunningServer {
  explicit RunningServer(serve::ServerOptions o) : server(o) {
    const auto& f = fixture();
    server.add_model("m", f.translator);
    server.add_model("scenes", f.captioner);
    server.add_model("shoes", f.glimpse);
    server.add_model("etth1", f.forecaster);
    server.add_model("spm", f.spm_translator);
    port = server.bind();
    thread = std::thread([this] { server.serve(); });
  }
  ~RunningServer() {
    server.stop();
    thread.join();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    return c;
  }
  serve::ModelServer server;
  int port = 0;
  std::thread thread;
};

serve::ServerOptions test_options() {
  serve::ServerOptions o;
  o.http.port = 0;
  o.http.limits.max_body_bytes = 1u << 20u;
  o.model.max_batch = 16;
  o.model.max_wait_ms = 20;
  return o;
}

// POSTs `body` to /v1/models/NAME; the status and the parsed answer.
std::pair<int, json> post(const RunningServer& s, const std::string& name,
                          const std::string& body) {
  auto c = s.client();
  auto res = c.Post(("/v1/models/" + name).c_str(), body, "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->get_header_value("Content-Type") == "application/json");
  return {res->status, json::parse(res->body)};
}

torch::jit::Module load(const std::string& path) { return torch::jit::load(path); }

// What zoo-run does with an image file: read_image as the file says, preprocess.
torch::Tensor zoo_run_input(torch::jit::Module& m, const std::string& path) {
  ImageReadOptions o;
  o.side = m.attr("image_side").toInt();
  o.grey = m.attr("image_grey").toBool();
  o.centre_crop = m.attr("image_crop").toBool();
  return m.get_method("preprocess")({read_image(path, o).unsqueeze(0)}).toTensor();
}

}  // namespace

TEST_CASE("exported kinds: each file opens as the kind its app names, an unknown app is refused",
          "[serve]") {
  const auto& f = fixture();
  CHECK(runtime::kind_names() ==
        std::vector<std::string>{"translate", "caption", "glimpse", "forecast"});
  struct Case {
    std::string path, app, one, many;
    bool uploads;
    std::vector<std::string> flags;
  };
  torch::NoGradGuard no_grad;
  for (const auto& c : std::vector<Case>{
           {f.translator, "translate", "text", "texts", false, {"--text"}},
           {f.spm_translator, "translate", "ids", "", false, {"--text"}},
           {f.captioner, "caption", "image", "images", true, {"--image", "--beam"}},
           {f.glimpse, "glimpse", "image", "images", true, {"--image"}},
           {f.forecaster, "forecast", "values", "windows", false, {"--csv", "--at"}}}) {
    INFO(c.path);
    auto kind = runtime::open_kind(load_exported(c.path), c.path);
    CHECK(kind->app() == c.app);
    CHECK(kind->one_field() == c.one);
    CHECK(kind->many_field() == c.many);
    CHECK(kind->takes_uploads() == c.uploads);
    CHECK(kind->cli_flags() == c.flags);
    const auto fields = kind->fields();
    CHECK(std::find(fields.begin(), fields.end(), c.one) != fields.end());
    // Its schema names an input, and a batch of two made-up inputs gets two
    // answers, each holding the fields the schema requires.
    const auto schema = kind->schema(runtime::Limits{});
    CHECK(!schema.input.is_null());
    const auto input = kind->warm_up_input();
    REQUIRE(input);
    const auto answers = kind->run({*input, *input});
    REQUIRE(answers.size() == 2);
    for (const auto& answer : answers)
      for (const auto& key : schema.result_required) CHECK(answer.contains(key));
  }
  // Base64 both ways (RFC 4648's test vectors).
  const std::vector<std::pair<std::string, std::string>> vectors = {{"", ""},
                                                                    {"f", "Zg=="},
                                                                    {"fo", "Zm8="},
                                                                    {"foo", "Zm9v"},
                                                                    {"foob", "Zm9vYg=="},
                                                                    {"fooba", "Zm9vYmE="},
                                                                    {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, coded] : vectors) {
    CHECK(runtime::encode_base64(plain) == coded);
    CHECK(runtime::decode_base64(coded, "v") == plain);
  }
  // A file whose app no kind is registered for: refused, naming the known ones.
  const std::string other = f.dir + "/speak.pt";
  save_export(load(f.forecaster), other, "speak", json::object());
  CHECK_THROWS_WITH(runtime::open_kind(load_exported(other), other),
                    Catch::Contains("speak.pt: an export of app \"speak\"") &&
                        Catch::Contains("it runs translate, caption, glimpse, forecast"));
}

TEST_CASE("zoo-serve: every model kind answers as zoo-run does", "[serve]") {
  RunningServer s(test_options());
  const auto& f = fixture();
  torch::NoGradGuard no_grad;
  {
    auto c = s.client();
    auto health = c.Get("/health");
    REQUIRE(health);
    CHECK(health->status == 200);
    CHECK(json::parse(health->body) == json{{"status", "ok"}, {"models", 5}});
    auto models = c.Get("/v1/models");
    REQUIRE(models);
    const auto list = json::parse(models->body).at("models");
    REQUIRE(list.size() == 5);
    CHECK(list[0].at("name") == "etth1");  // by name
    CHECK(list[0].at("app") == "forecast");
  }
  SECTION("translate: text, texts, n-best and attention") {
    auto m = load(f.translator);
    for (const auto& text : translator_inputs()) {
      const auto [status, answer] = post(s, "m", json{{"text", text}}.dump());
      CHECK(status == 200);
      CHECK(answer.at("translation") == m.get_method("translate")({text}).toStringRef());
      CHECK(answer.at("model") == "m");
    }
    const auto texts = translator_inputs();
    const auto [status, answer] = post(s, "m", json{{"texts", texts}}.dump());
    REQUIRE(status == 200);
    REQUIRE(answer.at("results").size() == texts.size());
    for (size_t i = 0; i < texts.size(); ++i)
      CHECK(answer["results"][i].at("translation") ==
            m.get_method("translate")({texts[i]}).toStringRef());

    const auto [s2, nbest] =
        post(s, "m", json{{"text", texts[1]}, {"beam", 4}, {"n_best", 3}}.dump());
    REQUIRE(s2 == 200);
    const auto& list = nbest.at("n_best");
    REQUIRE(list.size() == 3);
    CHECK(list[0].at("translation") == nbest.at("translation"));
    CHECK(list[0].at("score").get<double>() >= list[1].at("score").get<double>());
    CHECK(list[1].at("score").get<double>() >= list[2].at("score").get<double>());
    CHECK(list[0].at("translation") != list[1].at("translation"));
    // Without "beam", n_best may go up to the file's default beam, and the
    // refusal above it says which beam and what to send.
    const int64_t default_beam = m.attr("default_beam").toInt();
    const auto [s_within, within] =
        post(s, "m", json{{"text", texts[1]}, {"n_best", default_beam}}.dump());
    CHECK(s_within == 200);
    if (default_beam > 1) CHECK(within.at("n_best").size() == static_cast<size_t>(default_beam));
    const auto [s_above, above] =
        post(s, "m", json{{"text", texts[1]}, {"n_best", default_beam + 1}}.dump());
    CHECK(s_above == 400);
    CHECK_THAT(above.at("error").get<std::string>(),
               Catch::Contains("the file's default") &&
                   Catch::Contains("\"beam\": " + std::to_string(default_beam + 1) + " or more"));

    const auto [s3, aligned] = post(s, "m", json{{"text", texts[0]}, {"attention", true}}.dump());
    REQUIRE(s3 == 200);
    const auto attention = m.get_method("attention")({texts[0]});
    const auto& expected = attention.toTupleRef().elements();
    const auto& a = aligned.at("attention");
    std::vector<std::string> source, target;
    for (const auto& t : expected[0].toListRef()) source.push_back(t.toStringRef());
    for (const auto& t : expected[1].toListRef()) target.push_back(t.toStringRef());
    CHECK(a.at("source") == source);
    CHECK(a.at("target") == target);
    const auto w = expected[2].toTensor();
    REQUIRE(a.at("weights").size() == static_cast<size_t>(w.size(0)));
    for (int64_t t = 0; t < w.size(0); ++t)
      for (int64_t j = 0; j < w.size(1); ++j)
        CHECK(a["weights"][t][j].get<double>() == Approx(w[t][j].item<double>()).margin(1e-6));

    const auto [s4, empty] = post(s, "m", R"({"text": "   "})");
    CHECK(s4 == 200);
    CHECK(empty.at("translation") == "");
  }
  SECTION("translate, SentencePiece: ids in, ids out") {
    auto m = load(f.spm_translator);
    const std::vector<int64_t> ids = {5, 9, 7, 12};
    const auto [status, answer] = post(s, "spm", json{{"ids", ids}, {"attention", true}}.dump());
    REQUIRE(status == 200);
    CHECK(answer.at("ids").get<std::vector<int64_t>>() ==
          m.get_method("translate")({c10::List<int64_t>(ids)}).toIntVector());
    CHECK(answer.at("attention").at("source").size() == ids.size() + 1);
    CHECK(post(s, "spm", R"({"text": "a"})").first == 400);
    CHECK(post(s, "spm", R"({"ids": [1, 2], "beam": 2})").first == 400);
    CHECK(post(s, "spm", R"({"ids": [1, 100000]})").first == 400);
  }
  SECTION("caption: base64 and multipart uploads") {
    auto m = load(f.captioner);
    const auto input = zoo_run_input(m, f.scene_png);
    const std::string expected =
        m.get_method("caption")({input[0], m.attr("default_beam").toInt()}).toStringRef();
    const auto [status, answer] =
        post(s, "scenes", json{{"image", base64(file_bytes(f.scene_png))}}.dump());
    REQUIRE(status == 200);
    CHECK(answer.at("caption") == expected);
    const auto greedy = m.get_method("caption")({input[0], 1}).toStringRef();
    const auto [s2, answer2] = post(
        s, "scenes",
        json{{"image", "data:image/png;base64," + base64(file_bytes(f.scene_png))}, {"beam", 1}}
            .dump());
    REQUIRE(s2 == 200);
    CHECK(answer2.at("caption") == greedy);

    auto c = s.client();
    httplib::MultipartFormDataItems form = {
        {"image", file_bytes(f.scene_png), "scene.png", "image/png"},
        {"image", file_bytes(f.scene_png), "again.png", "image/png"}};
    auto res = c.Post("/v1/models/scenes", form);
    REQUIRE(res);
    REQUIRE(res->status == 200);
    const auto results = json::parse(res->body).at("results");
    REQUIRE(results.size() == 2);
    CHECK(results[0].at("caption") == expected);
    CHECK(results[1].at("caption") == expected);
  }
  SECTION("glimpse: class, probability, top k") {
    auto m = load(f.glimpse);
    const auto logits =
        m.forward({zoo_run_input(m, f.shoe_png)}).toTupleRef().elements()[0].toTensor();
    const auto probs = torch::softmax(logits[0].to(torch::kDouble), 0);
    const int64_t label = probs.argmax().item<int64_t>();
    const auto [status, answer] =
        post(s, "shoes", json{{"image", base64(file_bytes(f.shoe_png))}, {"top_k", 3}}.dump());
    REQUIRE(status == 200);
    const auto classes = m.attr("classes").toListRef();
    CHECK(answer.at("class") == classes[static_cast<size_t>(label)].toStringRef());
    CHECK(answer.at("probability").get<double>() ==
          Approx(probs[label].item<double>()).epsilon(1e-5));
    REQUIRE(answer.at("top").size() == 3);
    CHECK(answer["top"][0].at("class") == answer.at("class"));
  }
  SECTION("forecast: a window of values") {
    auto m = load(f.forecaster);
    const auto out = m.forward({f.window.unsqueeze(0)}).toTupleRef().elements()[0].toTensor()[0];
    json rows = json::array();
    for (int64_t i = 0; i < f.window.size(0); ++i)
      rows.push_back(std::vector<float>(f.window[i].data_ptr<float>(),
                                        f.window[i].data_ptr<float>() + f.window.size(1)));
    const auto [status, answer] = post(s, "etth1", json{{"values", rows}}.dump());
    REQUIRE(status == 200);
    const auto forecast = answer.at("forecast").get<std::vector<double>>();
    REQUIRE(static_cast<int64_t>(forecast.size()) == out.size(0));
    const double scale = out.abs().max().item<double>();
    for (int64_t k = 0; k < out.size(0); ++k)
      CHECK(std::abs(forecast[static_cast<size_t>(k)] - out[k].item<double>()) <=
            1e-5 * std::max(1.0, scale));
  }
}

TEST_CASE("zoo-serve: bad requests get a JSON 4xx and the server goes on", "[serve]") {
  RunningServer s(test_options());
  struct Bad {
    std::string model, body;
    int status;
    std::string says;
  };
  const std::string big(2u << 20u, 'x');
  for (const auto& b : std::vector<Bad>{
           {"m", "{\"text\": ", 400, "malformed JSON"},
           {"m", "[1, 2]", 400, "must be a JSON object"},
           {"m", R"({"text": 5})", 400, "text: must be a string"},
           {"m", R"({"txt": "a"})", 400, "unknown field \"txt\""},
           {"m", R"({"text": "a", "texts": ["b"]})", 400, "one of them"},
           {"m", R"({"texts": []})", 400, "non-empty list"},
           {"m", R"({"text": "a", "beam": 0})", 400, "\"beam\" must be an integer from 1"},
           {"m", R"({"text": "a", "beam": 2, "n_best": 3})", 400, "\"n_best\""},
           {"m", R"({"text": "a", "attention": "yes"})", 400, "true or false"},
           {"m", "{\"text\": \"a\\nb\"}", 400, "several lines"},
           {"nope", R"({"text": "a"})", 404, "no model \"nope\""},
           {"scenes", R"({"image": "%%%"})", 400, "not base64"},
           {"scenes", R"({"image": "aGVsbG8gd29ybGQ="})", 400, "not a PNG or JPEG"},
           // A PNG header claiming 100000 x 100000 pixels: refused before decoding.
           {"scenes", R"({"image": "iVBORw0KGgoAAAANSUhEUgABhqAAAYagCAIAAAA="})", 413,
            "100000x100000 pixels"},
           {"m", "{\"text\": " + std::string(5000, '[') + std::string(5000, ']') + "}", 400,
            "nests deeper than 32"},
           {"etth1", "{\"values\": " + std::string(100000, '[') + "}", 400, "nests deeper"},
           {"m", "{\"text\": \"" + std::string(20000, 'w') + "\"}", 400, "longer than 16384"},
           {"m", R"({"text": "a", "timeout_ms": 0})", 400, "\"timeout_ms\" must be an integer"},
           {"shoes", R"({"image": "", "top_k": 11})", 400, "\"top_k\""},
           {"etth1", R"({"values": [[1, 2]]})", 400, "values: must be"},
           {"m", "{\"text\": \"" + big + "\"}", 413, "larger than"},
       }) {
    CAPTURE(b.model, b.body.substr(0, 60));
    const auto [status, answer] = post(s, b.model, b.body);
    CHECK(answer.at("error").get<std::string>().size() < 300);  // inputs are not echoed whole
    CHECK(status == b.status);
    CHECK_THAT(answer.at("error").get<std::string>(), Catch::Contains(b.says));
  }
  {  // A window of the right shape with a value past float range.
    const auto& f = fixture();
    json rows = json::array();
    for (int64_t i = 0; i < f.window.size(0); ++i) {
      json row = json::array();
      for (int64_t k = 0; k < f.window.size(1); ++k) row.push_back(1.0);
      rows.push_back(row);
    }
    rows[3][0] = 1e39;
    const auto [status, answer] = post(s, "etth1", json{{"values", rows}}.dump());
    CHECK(status == 400);
    CHECK_THAT(answer.at("error").get<std::string>(), Catch::Contains("values[3][0]"));
    CHECK_THAT(answer.at("error").get<std::string>(), Catch::Contains("float range"));
  }
  auto c = s.client();
  auto unknown = c.Get("/v2/else");
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  CHECK(json::parse(unknown->body).contains("error"));
  auto health = c.Get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
}

TEST_CASE("zoo-serve: 200 concurrent clients get the answers of sequential requests", "[serve]") {
  auto options = test_options();
  options.http.workers = 64;
  RunningServer s(options);
  std::vector<std::string> texts = translator_inputs();
  for (const auto& t : translator_inputs()) texts.push_back(t + " " + t);
  for (int i = 0; i < 10; ++i)
    texts.push_back(std::to_string(i + 1) + " May 19" + std::to_string(i * 9 % 100));
  std::vector<std::string> sequential;
  for (const auto& t : texts)
    sequential.push_back(post(s, "m", json{{"text", t}}.dump()).second.at("translation"));
  const auto before = json::parse(s.client().Get("/v1/models/m")->body);

  constexpr int kClients = 200;
  std::vector<std::string> concurrent(kClients);
  std::vector<int> statuses(kClients, 0);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i)
    clients.emplace_back([&, i] {
      auto c = s.client();
      auto res = c.Post("/v1/models/m", json{{"text", texts[i % texts.size()]}}.dump(),
                        "application/json");
      if (!res) {
        concurrent[i] = "no answer: " + httplib::to_string(res.error());
        return;
      }
      statuses[i] = res->status;
      concurrent[i] = json::parse(res->body).value("translation", "<none>");
    });
  for (auto& t : clients) t.join();
  for (int i = 0; i < kClients; ++i) {
    CAPTURE(i, texts[i % texts.size()]);
    CHECK(statuses[i] == 200);
    CHECK(concurrent[i] == sequential[i % texts.size()]);
  }
  const auto after = json::parse(s.client().Get("/v1/models/m")->body);
  CHECK(after.at("items").get<int64_t>() - before.at("items").get<int64_t>() == kClients);
  CHECK(after.at("largest_batch").get<int64_t>() > 1);  // requests were batched
  CHECK(after.at("largest_batch").get<int64_t>() <= 16);
}

namespace {

// A raw HTTP exchange on 127.0.0.1: the whole reply of one request.
std::string raw_exchange(int port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  timeval tv{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  std::string out;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;)
    out.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

}  // namespace

TEST_CASE("zoo-serve: health, readiness, methods, HEAD and request ids", "[serve]") {
  serve::ModelServer server(test_options());
  const int port = server.bind();
  std::thread serving([&] { server.serve(); });
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(60, 0);
  // Serving, no model yet: live, not ready.
  CHECK(c.Get("/health/live")->status == 200);
  auto ready = c.Get("/health/ready");
  CHECK(ready->status == 503);
  CHECK(json::parse(ready->body).at("status") == "no models");
  server.add_model("m", fixture().translator);
  ready = c.Get("/health/ready");
  CHECK(ready->status == 200);
  CHECK(json::parse(ready->body) == json{{"status", "ready"}, {"models", 1}});
  CHECK(json::parse(c.Get("/v1/models/m")->body).at("ready") == true);

  // Another method on a route: 405 and what it takes.
  for (const std::string method : {"PUT", "PATCH", "DELETE", "OPTIONS"}) {
    const auto said =
        raw_exchange(port, method + " /v1/models/m HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    CAPTURE(method, said);
    CHECK(said.rfind("HTTP/1.1 405 ", 0) == 0);
    CHECK(said.find("Allow: GET, HEAD, POST\r\n") != std::string::npos);
  }
  CHECK(raw_exchange(port, "POST /health HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
            .find("Allow: GET, HEAD\r\n") != std::string::npos);
  // HEAD: the head of GET's answer, no body.
  const auto head = raw_exchange(port, "HEAD /health HTTP/1.1\r\n\r\n");
  CHECK(head.rfind("HTTP/1.1 200 ", 0) == 0);
  CHECK(head.substr(head.find("\r\n\r\n") + 4).empty());
  // The client's request id comes back; without one, a new one.
  httplib::Headers with_id = {{"X-Request-Id", "job-7"}};
  auto answered = c.Post("/v1/models/m", with_id, R"({"text": "x"})", "application/json");
  CHECK(answered->get_header_value("X-Request-Id") == "job-7");
  auto wrong = c.Post("/v1/models/nope", with_id, R"({"text": "x"})", "application/json");
  CHECK(wrong->status == 404);
  CHECK(wrong->get_header_value("X-Request-Id") == "job-7");
  CHECK(c.Get("/health")->get_header_value("X-Request-Id").size() == 16);
  // The config shown holds no data, training or path settings.
  const auto info = json::parse(c.Get("/v1/models/m")->body).at("config");
  CHECK_FALSE(info.contains("data"));
  CHECK_FALSE(info.contains("train"));
  CHECK(info.contains("model"));
  server.stop();
  serving.join();
}

TEST_CASE("zoo-serve: a full queue is 503 with Retry-After, a passed deadline is 504 and not run",
          "[serve]") {
  auto options = test_options();
  options.model.max_batch = 1;  // one input a run: a long request keeps the queue full
  options.model.max_wait_ms = 0;
  options.model.max_queue = 300;
  options.model.batch_workers = 1;
  RunningServer s(options);
  std::vector<std::string> texts(256);
  for (size_t i = 0; i < texts.size(); ++i) texts[i] = std::to_string(i) + " May 1999 and on";
  int long_status = 0;  // checked after join: Catch2's assertions are not thread-safe
  std::thread long_request([&] {
    auto own = s.client();
    auto res = own.Post("/v1/models/m", json{{"texts", texts}}.dump(), "application/json");
    long_status = res ? res->status : -1;
  });
  auto c = s.client();
  const auto queued = [&] {
    return json::parse(c.Get("/v1/models/m")->body).at("queued").get<int64_t>();
  };
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (queued() < 200 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(queued() >= 100);
  const auto before = json::parse(c.Get("/v1/models/m")->body);
  // 100 more inputs do not fit: refused at once, whole.
  std::vector<std::string> more(100, "1 May 1999");
  auto full = c.Post("/v1/models/m", json{{"texts", more}}.dump(), "application/json");
  CHECK(full->status == 503);
  CHECK(full->get_header_value("Retry-After") == "1");
  CHECK_THAT(json::parse(full->body).at("error").get<std::string>(),
             Catch::Contains("queue is full"));
  // One input with a 1 ms deadline waits behind the rest: 504, never run.
  const auto [late_status, late] = post(s, "m", R"({"text": "2 May 1999", "timeout_ms": 1})");
  CHECK(late_status == 504);
  CHECK_THAT(late.at("error").get<std::string>(), Catch::Contains("deadline"));
  long_request.join();
  CHECK(long_status == 200);
  const auto after = json::parse(c.Get("/v1/models/m")->body);
  CHECK(after.at("items").get<int64_t>() - before.at("items").get<int64_t>() <= 256);
  CHECK(after.at("expired").get<int64_t>() == 1);
  CHECK(after.at("refused").get<int64_t>() == 100);
  // A timeout_ms past the server's is refused.
  CHECK(post(s, "m", R"({"text": "x", "timeout_ms": 99999999})").first == 400);
}

TEST_CASE("zoo-serve: a request past a full queue is refused as it arrives, not after a wait",
          "[serve]") {
  auto options = test_options();
  options.model.max_queue = 3;
  options.http.workers = 1;
  RunningServer s(options);
  // Requests that arrived and wait for a worker hold their places (tickets):
  // three fill the queue.
  const auto arrived = [] {
    serve::HttpRequest r;
    r.method = "POST";
    r.path = "/v1/models/m";
    r.received = std::chrono::steady_clock::now();
    return r;
  };
  std::vector<serve::HttpRequest> waiting;
  for (int i = 0; i < 3; ++i) {
    waiting.push_back(arrived());
    REQUIRE_FALSE(s.server.admit(waiting.back()));
    REQUIRE(waiting.back().ticket);
  }
  auto c = s.client();
  CHECK(json::parse(c.Get("/v1/models/m")->body).at("queued") == 3);
  // Over a socket: refused at once with Retry-After, counted in /metrics.
  auto full = c.Post("/v1/models/m", R"({"text": "1 May 1999"})", "application/json");
  REQUIRE(full);
  CHECK(full->status == 503);
  CHECK(full->get_header_value("Retry-After") == "1");
  CHECK_THAT(json::parse(full->body).at("error").get<std::string>(),
             Catch::Contains("queue is full"));
  const std::string metrics = c.Get("/metrics")->body;
  CHECK_THAT(metrics, Catch::Contains(R"(zoo_requests_total{model="m",code="503"} 1)"));
  // Other models have their own queues; a GET is never held.
  CHECK(post(s, "etth1", json{{"values", json::array()}}.dump()).first != 503);
  CHECK(c.Get("/v1/models/m")->status == 200);
  // A place given back (the request reached its model, or ended) admits one more.
  waiting[0].ticket->release();
  waiting[0].ticket->release();  // once only
  CHECK(json::parse(c.Get("/v1/models/m")->body).at("queued") == 2);
  CHECK(post(s, "m", R"({"text": "1 May 1999"})").first == 200);
  waiting.clear();  // destroyed tickets give their places back
  CHECK(json::parse(c.Get("/v1/models/m")->body).at("queued") == 0);
  // Without a key, nothing is reserved: route() answers 401 (keys test below).
}

namespace {

// The value of one sample line of a Prometheus text ("name{labels} value").
double sample(const std::string& text, const std::string& series) {
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

}  // namespace

TEST_CASE("zoo-serve: /metrics counts add up to the requests sent", "[serve]") {
  RunningServer s(test_options());
  // Catch2's assertions are not thread-safe: the clients only record statuses.
  std::vector<int> statuses(20, 0);
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i)
    clients.emplace_back([&, i] {
      auto own = s.client();
      for (int k = 0; k < 5; ++k) {
        auto res =
            own.Post("/v1/models/m", json{{"text", std::to_string(i * 5 + k) + " May 1999"}}.dump(),
                     "application/json");
        statuses[static_cast<size_t>(i * 5 + k)] = res ? res->status : -1;
      }
    });
  for (auto& t : clients) t.join();
  for (int status : statuses) CHECK(status == 200);
  CHECK(post(s, "m", R"({"texts": ["a", "b", "c"]})").first == 200);
  for (int i = 0; i < 2; ++i) CHECK(post(s, "m", R"({"text": 5})").first == 400);
  CHECK(post(s, "nope", R"({"text": "a"})").first == 404);
  auto c = s.client();
  const auto res = c.Get("/metrics");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK_THAT(res->get_header_value("Content-Type"), Catch::StartsWith("text/plain; version=0.0.4"));
  const std::string text = "\n" + res->body;
  INFO(res->body.substr(0, 3000));
  CHECK(sample(text, R"(zoo_requests_total{model="m",code="200"})") == 21);
  CHECK(sample(text, R"(zoo_requests_total{model="m",code="400"})") == 2);
  CHECK(sample(text, R"(zoo_request_inputs_total{model="m"})") == 23);
  CHECK(sample(text, R"(zoo_request_duration_seconds_count{model="m"})") == 23);
  CHECK(sample(text, R"(zoo_queue_duration_seconds_count{model="m"})") == 21);
  CHECK(sample(text, R"(zoo_request_duration_seconds_bucket{model="m",le="+Inf"})") == 23);
  CHECK(sample(text, R"(zoo_http_requests_total{code="404"})") == 1);
  CHECK(sample(text, R"(zoo_http_requests_total{code="200"})") >= 21);
  // Every input ran in one batch: the batch-size histogram holds them all.
  CHECK(sample(text, R"(zoo_batch_size_sum{model="m"})") == 23);
  CHECK(sample(text, R"(zoo_batch_size_count{model="m"})") ==
        sample(text, R"(zoo_batches_total{model="m"})"));
  CHECK(sample(text, R"(zoo_batch_size_bucket{model="m",le="1"})") <=
        sample(text, R"(zoo_batch_size_count{model="m"})"));
  CHECK(sample(text, R"(zoo_model_ready{model="shoes"})") == 1);
  CHECK(sample(text, R"(zoo_queued_inputs{model="m"})") == 0);
  CHECK(sample(text, "process_resident_memory_bytes") > 1e6);
  CHECK(text.find("# TYPE zoo_request_duration_seconds histogram") != std::string::npos);
}

TEST_CASE("zoo-serve: keys: 401 before anything is revealed, health stays open", "[serve]") {
  auto options = test_options();
  const std::string user = "inference-key-0123456789", manager = "management-key-0123456789";
  options.api_keys = {user};
  options.management_keys = {manager};
  RunningServer s(options);
  auto c = s.client();
  CHECK(c.Get("/health/ready")->status == 200);
  for (const auto* path :
       {"/v1/models", "/v1/models/m", "/v1/models/nope", "/metrics", "/openapi.json", "/else"}) {
    auto res = c.Get(path);
    CAPTURE(path);
    CHECK(res->status == 401);
    CHECK(res->get_header_value("WWW-Authenticate") == "Bearer");
    CHECK(res->body.find("etth1") == std::string::npos);
  }
  const auto with = [](const std::string& key) {
    return httplib::Headers{{"Authorization", "Bearer " + key}};
  };
  CHECK(c.Post("/v1/models/nope", R"({"text": "a"})", "application/json")->status == 401);
  CHECK(c.Post("/v1/models/m", with(user + "x"), R"({"text": "a"})", "application/json")->status ==
        401);
  CHECK(c.Post("/v1/models/m", with(user.substr(0, 10)), R"({"text": "a"})", "application/json")
            ->status == 401);
  CHECK(c.Post("/v1/models/m", with(user), R"({"text": "a"})", "application/json")->status == 200);
  httplib::Headers lower = {{"Authorization", "bearer " + user}};
  CHECK(c.Get("/v1/models", lower)->status == 200);
  CHECK(c.Post("/v1/models/nope", with(user), R"({"text": "a"})", "application/json")->status ==
        404);
  // Reloading takes the management key only.
  CHECK(c.Post("/v1/models/m/reload", with(user), "", "application/json")->status == 401);
  CHECK(c.Post("/v1/models/m/reload", with(manager), "", "application/json")->status == 200);
  CHECK(c.Post("/v1/models/m", with(manager), R"({"text": "a"})", "application/json")->status ==
        200);
}

TEST_CASE("zoo-serve: a reload under load drops nothing, a bad file leaves the old model",
          "[serve]") {
  auto options = test_options();
  options.management_keys = {"management-key-0123456789"};
  RunningServer s(options);
  const auto& f = fixture();
  // A second translator, of another shape, to swap in.
  const std::string other = f.dir + "/translate-other.pt";
  {
    auto t = make_translator(translator_cases()[1]);
    save_export(export_translator(t), other, "translate", t.config);
  }
  const httplib::Headers manager = {{"Authorization", "Bearer management-key-0123456789"}};
  auto c = s.client();
  const auto old_answer = post(s, "m", R"({"text": "12 May 1999"})").second.at("translation");
  // Another app's file, a missing file, a broken body: 409/409/400, and m answers as before.
  for (const auto& [body, status] :
       std::vector<std::pair<std::string, int>>{{json{{"file", f.captioner}}.dump(), 409},
                                                {json{{"file", f.dir + "/missing.pt"}}.dump(), 409},
                                                {R"({"file": 3})", 400},
                                                {R"({"path": "x"})", 400}}) {
    auto res = c.Post("/v1/models/m/reload", manager, body, "application/json");
    CAPTURE(body, res->body);
    CHECK(res->status == status);
    CHECK(post(s, "m", R"({"text": "12 May 1999"})").second.at("translation") == old_answer);
  }
  CHECK(c.Post("/v1/models/nope/reload", manager, "", "application/json")->status == 404);
  CHECK(c.Get("/v1/models/m/reload", manager)->status == 405);
  CHECK(c.Get("/v1/models/m/reload")->status == 401);  // the key first

  std::atomic<bool> done{false};
  std::atomic<int> answered{0}, failed{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 6; ++i)
    clients.emplace_back([&] {
      auto own = s.client();
      while (!done) {
        auto res = own.Post("/v1/models/m", R"({"text": "3 June 2001"})", "application/json");
        (res && res->status == 200 ? answered : failed) += 1;
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto res =
      c.Post("/v1/models/m/reload", manager, json{{"file", other}}.dump(), "application/json");
  CHECK(res->status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  done = true;
  for (auto& t : clients) t.join();
  CHECK(failed == 0);
  CHECK(answered > 10);
  auto swapped = torch::jit::load(other);
  CHECK(post(s, "m", R"({"text": "12 May 1999"})").second.at("translation") ==
        swapped.get_method("translate")({std::string("12 May 1999")}).toStringRef());
}
