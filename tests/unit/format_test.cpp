// Sizes, ages and timestamps in Docker's text forms.
#include "util/format.h"

#include <gtest/gtest.h>

#include <ctime>

namespace strata {
namespace {

TEST(HumanSize, DockerColumnsUseThreeDigits) {
  EXPECT_EQ(humanSize(0), "0B");
  EXPECT_EQ(humanSize(1), "1B");
  EXPECT_EQ(humanSize(999), "999B");
  EXPECT_EQ(humanSize(1000), "1kB");
  EXPECT_EQ(humanSize(1023), "1.02kB");
  EXPECT_EQ(humanSize(1234), "1.23kB");
  EXPECT_EQ(humanSize(12345), "12.3kB");
  EXPECT_EQ(humanSize(123456), "123kB");
  EXPECT_EQ(humanSize(1000000), "1MB");
  EXPECT_EQ(humanSize(4261550), "4.26MB");  // busybox:latest
  EXPECT_EQ(humanSize(12345678), "12.3MB");
  EXPECT_EQ(humanSize(123456789), "123MB");
  EXPECT_EQ(humanSize(1.5e9), "1.5GB");
  EXPECT_EQ(humanSize(7.2e12), "7.2TB");
  EXPECT_EQ(humanSize(1e24), "1YB");
  // Go's %g switches to an exponent once rounding reaches 1000, and so do we.
  EXPECT_EQ(humanSize(999999), "1e+03kB");
  EXPECT_EQ(humanSize(1e27), "1e+03YB");
}

TEST(HumanSize, GoUnitsHumanSizeExamples) {
  // go-units' own tests of HumanSize (precision 4).
  EXPECT_EQ(humanSizeWithPrecision(1000, 4), "1kB");
  EXPECT_EQ(humanSizeWithPrecision(1024, 4), "1.024kB");
  EXPECT_EQ(humanSizeWithPrecision(1000000, 4), "1MB");
  EXPECT_EQ(humanSizeWithPrecision(1048576, 4), "1.049MB");
  EXPECT_EQ(humanSizeWithPrecision(2e6, 4), "2MB");
  EXPECT_EQ(humanSizeWithPrecision(3.42e9, 4), "3.42GB");
  EXPECT_EQ(humanSizeWithPrecision(5.372e12, 4), "5.372TB");
  EXPECT_EQ(humanSizeWithPrecision(2.22e15, 4), "2.22PB");
  EXPECT_EQ(humanSizeWithPrecision(1e28, 4), "1e+04YB");
}

constexpr int64_t kMinute = 60, kHour = 60 * kMinute, kDay = 24 * kHour, kWeek = 7 * kDay,
                  kMonth = 30 * kDay, kYear = 365 * kDay;

TEST(HumanDuration, GoUnitsExamples) {
  // go-units' TestHumanDuration, in whole seconds.
  EXPECT_EQ(humanDuration(0), "Less than a second");
  EXPECT_EQ(humanDuration(-5), "Less than a second");
  EXPECT_EQ(humanDuration(1), "1 second");
  EXPECT_EQ(humanDuration(45), "45 seconds");
  EXPECT_EQ(humanDuration(59), "59 seconds");
  EXPECT_EQ(humanDuration(60), "About a minute");
  EXPECT_EQ(humanDuration(119), "About a minute");
  EXPECT_EQ(humanDuration(3 * kMinute), "3 minutes");
  EXPECT_EQ(humanDuration(35 * kMinute + 40), "35 minutes");
  EXPECT_EQ(humanDuration(59 * kMinute + 59), "59 minutes");
  EXPECT_EQ(humanDuration(kHour), "About an hour");
  EXPECT_EQ(humanDuration(kHour + 29 * kMinute), "About an hour");
  EXPECT_EQ(humanDuration(kHour + 31 * kMinute), "2 hours");
  EXPECT_EQ(humanDuration(kHour + 59 * kMinute), "2 hours");
  EXPECT_EQ(humanDuration(3 * kHour), "3 hours");
  EXPECT_EQ(humanDuration(3 * kHour + 29 * kMinute), "3 hours");
  EXPECT_EQ(humanDuration(3 * kHour + 31 * kMinute), "4 hours");
  EXPECT_EQ(humanDuration(24 * kHour), "24 hours");
  EXPECT_EQ(humanDuration(kDay + 12 * kHour), "36 hours");
  EXPECT_EQ(humanDuration(2 * kDay), "2 days");
  EXPECT_EQ(humanDuration(7 * kDay), "7 days");
  EXPECT_EQ(humanDuration(13 * kDay + 5 * kHour), "13 days");
  EXPECT_EQ(humanDuration(2 * kWeek), "2 weeks");
  EXPECT_EQ(humanDuration(2 * kWeek + 4 * kDay), "2 weeks");
  EXPECT_EQ(humanDuration(3 * kWeek), "3 weeks");
  EXPECT_EQ(humanDuration(4 * kWeek + 3 * kDay), "4 weeks");
  EXPECT_EQ(humanDuration(kMonth), "4 weeks");
  EXPECT_EQ(humanDuration(kMonth + 2 * kWeek), "6 weeks");
  EXPECT_EQ(humanDuration(2 * kMonth), "2 months");
  EXPECT_EQ(humanDuration(2 * kMonth + 2 * kWeek), "2 months");
  EXPECT_EQ(humanDuration(3 * kMonth + kWeek), "3 months");
  EXPECT_EQ(humanDuration(5 * kMonth + 2 * kWeek), "5 months");
  EXPECT_EQ(humanDuration(13 * kMonth), "13 months");
  EXPECT_EQ(humanDuration(23 * kMonth), "23 months");
  EXPECT_EQ(humanDuration(24 * kMonth), "24 months");
  EXPECT_EQ(humanDuration(24 * kMonth + 2 * kWeek), "2 years");
  EXPECT_EQ(humanDuration(3 * kYear + 2 * kMonth), "3 years");
}

TEST(Rfc3339, Formats) {
  EXPECT_EQ(formatRfc3339Nano(0, 0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(formatRfc3339Nano(1700000000, 0), "2023-11-14T22:13:20Z");
  EXPECT_EQ(formatRfc3339Nano(1700000000, 500000000), "2023-11-14T22:13:20.5Z");
  EXPECT_EQ(formatRfc3339Nano(1689722373, 655005962), "2023-07-18T23:19:33.655005962Z");
  EXPECT_EQ(formatRfc3339Nano(1689722373, 100), "2023-07-18T23:19:33.0000001Z");
  EXPECT_EQ(formatRfc3339Nano(1689722373, 120000000), "2023-07-18T23:19:33.12Z");
  EXPECT_EQ(formatRfc3339Nano(951782400, 0), "2000-02-29T00:00:00Z");
  EXPECT_EQ(formatRfc3339Nano(4102444800, 0), "2100-01-01T00:00:00Z");
  EXPECT_EQ(formatRfc3339Nano(-62135596800, 0), "0001-01-01T00:00:00Z");  // Go's zero time
  EXPECT_EQ(formatRfc3339Nano(253402300799, 0), "9999-12-31T23:59:59Z");
  EXPECT_EQ(formatRfc3339Nano(-1, 0), "1969-12-31T23:59:59Z");
  // Nanoseconds out of range carry into seconds.
  EXPECT_EQ(formatRfc3339Nano(0, -1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(formatRfc3339Nano(0, 1500000000), "1970-01-01T00:00:01.5Z");
}

TEST(Rfc3339, Parses) {
  auto t = parseRfc3339("2023-07-18T23:19:33.655005962Z");
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->sec, 1689722373);
  EXPECT_EQ(t->nsec, 655005962);
  EXPECT_EQ(*parseRfc3339Seconds("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*parseRfc3339Seconds("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(*parseRfc3339Seconds("1969-12-31T19:00:00-05:00"), 0);
  EXPECT_EQ(*parseRfc3339Seconds("2023-11-14T22:13:20.999999999Z"), 1700000000);
  EXPECT_EQ(*parseRfc3339Seconds("2000-02-29T00:00:00Z"), 951782400);
  EXPECT_EQ(*parseRfc3339Seconds("0001-01-01T00:00:00Z"), -62135596800);
  EXPECT_EQ(*parseRfc3339Seconds("2023-11-14t22:13:20z"), 1700000000);
  EXPECT_EQ(*parseRfc3339Seconds("2023-11-14T23:43:20+01:30"), 1700000000);
  t = parseRfc3339("2023-11-14T22:13:20.1234567891Z");  // more than 9 digits: truncated
  ASSERT_TRUE(t);
  EXPECT_EQ(t->nsec, 123456789);
  t = parseRfc3339("1969-12-31T23:59:59.5Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->sec, -1);
  EXPECT_EQ(t->nsec, 500000000);
}

TEST(Rfc3339, RejectsMalformed) {
  for (const char* text :
       {"", "2023-07-18", "2023-07-18T23:19:33", "2023-07-18 23:19:33Z", "2023-13-01T00:00:00Z",
        "2023-00-01T00:00:00Z", "2023-02-29T00:00:00Z", "2023-04-31T00:00:00Z",
        "2023-07-18T24:00:00Z", "2023-07-18T23:60:00Z", "2023-07-18T23:19:60Z",
        "2023-07-18T23:19:33.Z", "2023-07-18T23:19:33+0100", "2023-07-18T23:19:33+01",
        "2023-07-18T23:19:33+25:00", "2023-07-18T23:19:33Zjunk", "23-07-18T23:19:33Z",
        "2023-7-18T23:19:33Z", "abcd-ef-ghTij:kl:mnZ"}) {
    auto r = parseRfc3339Seconds(text);
    EXPECT_FALSE(r) << text;
    if (!r) {
      EXPECT_NE(r.error().message().find(std::string("\"") + text + "\""), std::string::npos);
    }
  }
}

TEST(Rfc3339, RoundTrips) {
  for (int64_t sec : {int64_t{0}, int64_t{1}, int64_t{-86401}, int64_t{951868800},
                      int64_t{1689722373}, int64_t{4102444799}, int64_t{-62135596800}}) {
    for (int64_t nsec : {int64_t{0}, int64_t{1}, int64_t{10}, int64_t{999999999}, int64_t{5000}}) {
      std::string s = formatRfc3339Nano(sec, nsec);
      auto t = parseRfc3339(s);
      ASSERT_TRUE(t) << s;
      EXPECT_EQ(t->sec, sec) << s;
      EXPECT_EQ(t->nsec, nsec) << s;
    }
  }
}

TEST(Rfc3339, Now) {
  std::string now = nowRfc3339Nano();
  auto t = parseRfc3339Seconds(now);
  ASSERT_TRUE(t) << now;
  EXPECT_LE(std::llabs(*t - static_cast<int64_t>(std::time(nullptr))), 5);
  EXPECT_EQ(now.back(), 'Z');
}

}  // namespace
}  // namespace strata

TEST(GoJson, EscapesHtmlCharactersLikeGo) {
  nlohmann::ordered_json j = {{"Tag", "<none>"}, {"Cmd", "a && b"}};
  EXPECT_EQ(strata::toGoJson(j), R"({"Tag":"\u003cnone\u003e","Cmd":"a \u0026\u0026 b"})");
  EXPECT_EQ(strata::toGoJson(nlohmann::ordered_json::array(), 4), "[]");
}
