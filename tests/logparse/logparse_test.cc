#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "logparse/drain.h"
#include "logparse/log_line.h"

namespace rslicer {
namespace {

TEST(LogLine, UnwrapsDockerJsonAndSplitsLevel) {
  const std::string raw =
      R"({"log":"16:42:22.382 INFO  t.s.TravelServiceImpl#532 TraceID: ffc8 SpanID: 439b [getRouteByRouteId][Route is: x]\n","stream":"stdout","time":"2023-01-29T08:42:22.383150913Z"})";
  const ParsedLogLine p = parse_log_line(raw);
  EXPECT_EQ(p.level, LogLevel::kInfo);
  EXPECT_EQ(p.stream, "stdout");
  EXPECT_EQ(p.message, "t.s.TravelServiceImpl#532 TraceID: ffc8 SpanID: 439b [getRouteByRouteId][Route is: x]");
}

TEST(LogLine, LevelFormats) {
  LogLevel l;
  std::string m;
  split_level("2023-01-29 08:00:00,123 WARN pool exhausted", l, m);
  EXPECT_EQ(l, LogLevel::kWarn);
  EXPECT_EQ(m, "pool exhausted");
  split_level("[ERROR] disk full", l, m);
  EXPECT_EQ(l, LogLevel::kError);
  split_level("level=error msg=timeout", l, m);
  EXPECT_EQ(l, LogLevel::kError);
  split_level("just text with ERROR later", l, m);
  EXPECT_EQ(l, LogLevel::kUnknown);
  EXPECT_EQ(m, "just text with ERROR later");
}

TEST(LogLine, UnicodeEscapesAndPlainFallback) {
  const ParsedLogLine p = parse_log_line(R"({"log":"E caf\u00e9 \ud83d\ude00 done","stream":"stderr"})");
  EXPECT_EQ(p.message, "E caf\xc3\xa9 \xf0\x9f\x98\x80 done");  // "E" alone is too short to be a level
  const ParsedLogLine q = parse_log_line("{not json");
  EXPECT_EQ(q.message, "{not json");
}

TEST(Drain, GroupsMessagesThatDifferInVariables) {
  DrainMiner m;
  const int a = m.add("Get user by id 4d2a46c7 took 12 ms");
  const int b = m.add("Get user by id 9f00aa11 took 7 ms");
  const int c = m.add("Connection refused to db host");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(m.templates()[a].count, 2);
  EXPECT_EQ(m.templates()[a].text(), "Get user by id <*> took <*> ms");
}

TEST(Drain, MergesDifferingWordsIntoWildcards) {
  DrainMiner m;
  const int a = m.add("order created for user alice status ok");
  const int b = m.add("order created for user bob status ok");
  EXPECT_EQ(a, b);
  EXPECT_EQ(m.templates()[a].text(), "order created for user <*> status ok");
  EXPECT_EQ(m.match("order created for user carol status ok"), a);
  EXPECT_EQ(m.match("something entirely different here"), -1);
}

TEST(Drain, IdsAreStableAcrossRunsAndPersist) {
  const std::vector<std::string> lines = {"a b c 1", "x y z", "a b c 2", "p q 3 r", "x y w", "a b d 4"};
  DrainMiner m1, m2;
  std::vector<int> ids1, ids2;
  for (const auto& l : lines) ids1.push_back(m1.add(l));
  for (const auto& l : lines) ids2.push_back(m2.add(l));
  EXPECT_EQ(ids1, ids2);
  const DrainMiner loaded = DrainMiner::from_json(nlohmann::json::parse(m1.to_json().dump()));
  ASSERT_EQ(loaded.templates().size(), m1.templates().size());
  for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(loaded.match(lines[i]), ids1[i]) << lines[i];
}

TEST(Drain, RejectsBadOptionsAndState) {
  DrainOptions o;
  o.depth = 1;
  EXPECT_THROW(DrainMiner{o}, InvalidInput);
  EXPECT_THROW(DrainMiner::from_json(nlohmann::json::parse(R"({"templates":[]})")), InvalidInput);
}

}  // namespace
}  // namespace rslicer
