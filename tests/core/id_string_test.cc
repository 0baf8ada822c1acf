#include <gtest/gtest.h>

#include <map>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/id_string.h"

namespace rslicer {
namespace {

TEST(IdString, HoldsShortAndLongStringsAndComparesLikeStdString) {
  const std::string span = "520b067330e3ede5";                   // 16: over std::string's small buffer
  const std::string trace = "b0103bb0161ad7fa352fe1828eeb643a";  // 32: exactly inline
  const std::string longer = trace + "-and-more-than-32-bytes";   // heap
  for (const std::string& s : {std::string(), span, trace, longer}) {
    IdString a(s);
    EXPECT_EQ(a.size(), s.size());
    EXPECT_EQ(a.empty(), s.empty());
    EXPECT_EQ(a, s);
    EXPECT_EQ(s, a);
    EXPECT_EQ(a.view(), s);
    EXPECT_EQ(std::string(a), s);
    EXPECT_EQ(a + '\n', s + '\n');
    IdString copy = a;
    IdString moved = std::move(copy);
    EXPECT_EQ(moved, a);
    EXPECT_TRUE(copy.empty());
    IdString assigned;
    assigned = a;
    EXPECT_EQ(assigned, s);
  }
  EXPECT_EQ(IdString("abc"), "abc");
  EXPECT_NE(IdString("abc"), "abd");
  EXPECT_LT(IdString("abc"), IdString("abd"));
}

TEST(IdString, ReassigningBetweenInlineAndHeapKeepsTheValue) {
  IdString a(std::string(40, 'x'));
  a = std::string(35, 'y');  // reuses the heap block
  EXPECT_EQ(a, std::string(35, 'y'));
  a = "short";
  EXPECT_EQ(a, "short");
  a = std::string(100, 'z');
  EXPECT_EQ(a.size(), 100u);
  a = a;  // self-assignment
  EXPECT_EQ(a, std::string(100, 'z'));
  a.assign(a.view().substr(10, 20));  // aliasing its own storage
  EXPECT_EQ(a, std::string(20, 'z'));
  a.clear();
  EXPECT_TRUE(a.empty());
}

TEST(IdString, WorksAsAKeyAndInContainers) {
  std::unordered_set<IdString> ids{IdString("a"), IdString(std::string(40, 'b'))};
  EXPECT_EQ(ids.count(IdString("a")), 1u);
  std::unordered_set<std::string> names;
  names.insert(IdString("a"));  // converts to std::string where one is needed
  EXPECT_EQ(names.count("a"), 1u);
  std::vector<IdString> v(1000, IdString(std::string(33, 'q')));
  v.resize(3000);
  EXPECT_EQ(v[999], std::string(33, 'q'));
  EXPECT_TRUE(v[2999].empty());
}

}  // namespace
}  // namespace rslicer
