#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "telemetry/record.h"

namespace rslicer {
namespace {

TEST(StringTable, InternsFindsAndSurvivesCopiesAndMoves) {
  auto t = std::make_unique<StringTable>();
  const std::string long_name = "ts-gateway-service-6f6cfc45b-h5m2n";  // longer than the small-string buffer
  EXPECT_EQ(t->intern("a"), 0u);
  EXPECT_EQ(t->intern(long_name), 1u);
  for (int i = 0; i < 1000; ++i) t->intern("name-" + std::to_string(i));  // grows and rehashes
  EXPECT_EQ(t->intern(std::string_view(long_name)), 1u);
  EXPECT_EQ(t->find("name-999"), 1001u);
  EXPECT_EQ(t->find("absent"), kNoId);

  StringTable copy = *t;
  StringTable assigned;
  assigned.intern("other");
  assigned = *t;
  StringTable moved = std::move(*t);
  t.reset();  // the copies must not point into the original's storage
  for (const StringTable* c : {&copy, &assigned, &moved}) {
    EXPECT_EQ(c->size(), 1002u);
    EXPECT_EQ(c->find(long_name), 1u);
    EXPECT_EQ(c->find("name-500"), 502u);
    EXPECT_EQ(c->name(1), long_name);
  }
  EXPECT_EQ(copy.intern("new"), 1002u);
  EXPECT_EQ(moved.find("new"), kNoId);
}

}  // namespace
}  // namespace rslicer
