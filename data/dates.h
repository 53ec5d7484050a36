#pragma once
// The date-normalisation task: human-written dates in many formats and letter
// cases ("tue 24 nov 2026", "24/11/26", "November 24, 2026") to ISO 8601
// ("2026-11-24"). Seeded and reproducible on every platform.
#include <cstdint>
#include <string>
#include <vector>

#include "data/parallel_corpus.h"

namespace attnzoo {

struct Date {
  int year, month, day;
};

// Days since 1970-01-01 <-> civil date (proleptic Gregorian).
int64_t days_from_civil(Date d);
Date civil_from_days(int64_t days);
// 0 = Monday ... 6 = Sunday.
int weekday(Date d);

// Number of source formats the generator draws from.
int num_date_formats();
// `d` written in format `format` (0 .. num_date_formats()-1), lower case.
// Formats 1 ("24/11/26") and 11 ("24 nov '26") have two-digit years and are
// only drawn for 2000..2049.
std::string format_date(Date d, int format);
std::string iso_date(Date d);

// `n` pairs (human date, ISO date) for dates from 1950-01-01 to 2049-12-31.
std::vector<SentencePair> generate_dates(size_t n, uint64_t seed);

}  // namespace attnzoo
