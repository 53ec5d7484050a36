// Every fuzz target (fuzz/targets.h) over its seed corpus and its findings
// (fuzz/corpus/<target>/): each input is read or refused with a UserError
// (or a JSON error the apps report on one line), never anything else. A crash
// make fuzz finds is kept there, so that it stays fixed.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/error.h"
#include "fuzz/targets.h"

namespace fs = std::filesystem;

TEST_CASE("fuzz targets replay their corpus: each input is read or refused with one line") {
  const fs::path corpus = fs::path(ATTNZOO_SOURCE_DIR) / "fuzz" / "corpus";
  for (const auto& target : attnzoo::fuzz::targets()) {
    const fs::path dir = corpus / target.name;
    INFO("target " << target.name);
    REQUIRE(fs::is_directory(dir));
    int inputs = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream bytes;
      bytes << in.rdbuf();
      INFO("input " << entry.path().string());
      ++inputs;
      try {
        target.run(bytes.str());
      } catch (const attnzoo::UserError&) {
      } catch (const nlohmann::json::exception&) {
      } catch (const std::exception& e) {
        FAIL_CHECK("an exception the apps would not report on one line: " << e.what());
      }
    }
    CHECK(inputs >= 2);
  }
}
