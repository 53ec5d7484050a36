#include "data/dates.h"

#include <fmt/format.h>

namespace attnzoo {
namespace {

const char* const kMonths[12] = {"january",   "february", "march",    "april",
                                 "may",       "june",     "july",     "august",
                                 "september", "october",  "november", "december"};
const char* const kWeekdays[7] = {"monday", "tuesday",  "wednesday", "thursday",
                                  "friday", "saturday", "sunday"};

// splitmix64: tiny, fast and identical everywhere (std:: distributions are not).
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }
};

std::string abbrev(const char* word) { return std::string(word).substr(0, 3); }

std::string apply_case(const std::string& s, int mode, SplitMix64& rng) {
  std::string out = s;
  bool word_start = true;
  for (char& c : out) {
    const bool letter = (c >= 'a' && c <= 'z');
    if (letter) {
      if (mode == 1 || (mode == 2 && word_start) || (mode == 3 && rng.below(2) == 0))
        c = static_cast<char>(c - 32);
    }
    word_start = !letter;
  }
  return out;
}

}  // namespace

int64_t days_from_civil(Date d) {
  const int y = d.year - (d.month <= 2);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (d.month + (d.month > 2 ? -3 : 9)) + 2) / 5 + d.day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<int64_t>(era) * 146097 + static_cast<int64_t>(doe) - 719468;
}

Date civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  const int year = static_cast<int>(yoe + era * 400) + (month <= 2);
  return {year, month, day};
}

int weekday(Date d) {
  // 1970-01-01 was a Thursday (index 3).
  const int64_t days = days_from_civil(d);
  return static_cast<int>(((days % 7) + 7 + 3) % 7);
}

int num_date_formats() { return 12; }

std::string format_date(Date d, int format) {
  const std::string month = kMonths[d.month - 1];
  const std::string wday = kWeekdays[weekday(d)];
  switch (format) {
    case 0:
      return fmt::format("{} {} {} {}", abbrev(wday.c_str()), d.day, abbrev(month.c_str()), d.year);
    case 1:
      return fmt::format("{:02}/{:02}/{:02}", d.day, d.month, d.year % 100);
    case 2:
      return fmt::format("{} {}, {}", month, d.day, d.year);
    case 3:
      return fmt::format("{} {} {}", d.day, month, d.year);
    case 4:
      return fmt::format("{}, {} {} {}", wday, d.day, month, d.year);
    case 5:
      return fmt::format("{:02}.{:02}.{}", d.day, d.month, d.year);
    case 6:
      return fmt::format("{} {}, {}", abbrev(month.c_str()), d.day, d.year);
    case 7:
      return fmt::format("{} {} {}", d.day, abbrev(month.c_str()), d.year);
    case 8:
      return fmt::format("{}/{}/{}", d.day, d.month, d.year);
    case 9:
      return fmt::format("{}, {} {}, {}", wday, month, d.day, d.year);
    case 10:
      return fmt::format("{:02}-{}-{}", d.day, abbrev(month.c_str()), d.year);
    default:
      return fmt::format("{} {} '{:02}", d.day, abbrev(month.c_str()), d.year % 100);
  }
}

std::string iso_date(Date d) { return fmt::format("{:04}-{:02}-{:02}", d.year, d.month, d.day); }

std::vector<SentencePair> generate_dates(size_t n, uint64_t seed) {
  SplitMix64 rng{seed * 0x2545F4914F6CDD1Dull + 1};
  const int64_t first = days_from_civil({1950, 1, 1});
  const int64_t last = days_from_civil({2049, 12, 31});
  std::vector<SentencePair> pairs;
  pairs.reserve(n);
  while (pairs.size() < n) {
    const Date d = civil_from_days(first + static_cast<int64_t>(rng.below(last - first + 1)));
    const int format = static_cast<int>(rng.below(num_date_formats()));
    const bool two_digit_year = format == 1 || format == 11;
    if (two_digit_year && (d.year < 2000 || d.year > 2049)) continue;
    const int case_mode = static_cast<int>(rng.below(4));  // lower, UPPER, Title, rAnDoM
    pairs.push_back({apply_case(format_date(d, format), case_mode, rng), iso_date(d)});
  }
  return pairs;
}

}  // namespace attnzoo
