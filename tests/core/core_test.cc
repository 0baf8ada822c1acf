#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/base64.h"
#include "core/csv.h"
#include "core/errors.h"
#include "core/line_reader.h"
#include "core/parse_stats.h"
#include "core/strings.h"
#include "core/time.h"
#include "test_util.h"

namespace rslicer {
namespace {

TEST(Time, ParsesIsoAndSpaceSeparatedAsUtc) {
  EXPECT_EQ(*parse_datetime("1970-01-01 00:00:00"), 0);
  EXPECT_EQ(*parse_datetime("2023-01-29 08:43:04"), 1674981784LL * kUsPerSecond);
  EXPECT_EQ(*parse_datetime("2023-01-29T08:42:22.383150913Z"), 1674981742383150LL);
  EXPECT_EQ(*parse_datetime("2023-01-29T16:43:04+08:00"), 1674981784LL * kUsPerSecond);
  EXPECT_EQ(*parse_datetime("2023-01-29 08:41:09.470514006 +0000 UTC m=+0.546675867", true),
            1674981669470514LL);
  EXPECT_FALSE(parse_datetime("2023-13-01 00:00:00"));
  EXPECT_FALSE(parse_datetime("yesterday"));
  EXPECT_FALSE(parse_datetime("2023-01-29 08:43:04 trailing"));
}

TEST(Time, FormatsRoundTrip) {
  EXPECT_EQ(format_time(1674981784LL * kUsPerSecond), "2023-01-29T08:43:04Z");
  EXPECT_EQ(format_time(1674981742383150LL), "2023-01-29T08:42:22.383150Z");
  EXPECT_EQ(*parse_datetime(format_time(1674981742383150LL)), 1674981742383150LL);
}

TEST(Time, GuessesEpochUnitByMagnitude) {
  EXPECT_EQ(guess_epoch_unit(1674981784), EpochUnit::kSeconds);
  EXPECT_EQ(guess_epoch_unit(1674981784123.0), EpochUnit::kMillis);
  EXPECT_EQ(guess_epoch_unit(1674981784123456.0), EpochUnit::kMicros);
  EXPECT_EQ(guess_epoch_unit(1674981784123456789.0), EpochUnit::kNanos);
  EXPECT_EQ(epoch_to_us(1674981784123.0, EpochUnit::kMillis), 1674981784123000LL);
}

TEST(Strings, ParsesNumbersIncludingNonFinite) {
  EXPECT_DOUBLE_EQ(*parse_double(" 0.0045 "), 0.0045);
  EXPECT_DOUBLE_EQ(*parse_double("+3e2"), 300.0);
  EXPECT_TRUE(std::isnan(*parse_double("NaN")));
  EXPECT_TRUE(std::isinf(*parse_double("-inf")));
  EXPECT_FALSE(parse_double("12abc"));
  EXPECT_FALSE(parse_double(""));
  EXPECT_EQ(*parse_int("-6795364578871345152"), -6795364578871345152LL);
}

TEST(Base64, BytesAndFloatsRoundTrip) {
  EXPECT_EQ(base64_of("RuntimeSlicer"), "UnVudGltZVNsaWNlcg==");  // RFC 4648's alphabet and padding
  EXPECT_EQ(bytes_of_base64("UnVudGltZVNsaWNlcg==").value(), "RuntimeSlicer");
  EXPECT_EQ(bytes_of_base64("UnVudGltZVNsaWNlcg").value(), "RuntimeSlicer") << "padding optional";
  EXPECT_FALSE(bytes_of_base64("Un*u").has_value());
  // 1.0f is 0x3f800000: its bytes little-endian, whatever the machine
  EXPECT_EQ(floats_to_base64({1.0f}), "AACAPw==");
  const std::vector<float> v = {0.0f, -0.0f, 1e-38f, -3.25f, 0.123456789f, 3.4e38f, INFINITY};
  const auto back = floats_of_base64(floats_to_base64(v));
  ASSERT_TRUE(back.has_value());
  ASSERT_EQ(back->size(), v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(std::memcmp(&(*back)[i], &v[i], 4), 0) << i;  // bit for bit, the sign of -0 included
  }
  EXPECT_TRUE(floats_of_base64("").value().empty());
  EXPECT_FALSE(floats_of_base64("AACA").has_value()) << "three bytes are not a float";
  EXPECT_FALSE(floats_of_base64("AAC@Pw==").has_value());
}

TEST(Strings, ServiceOfPod) {
  EXPECT_EQ(service_of_pod("ts-auth-service-7f8d7d756d-k7b9j"), "ts-auth-service");
  EXPECT_EQ(service_of_pod("ts-food-service-f5756978c-k8vqf"), "ts-food-service");
  EXPECT_EQ(service_of_pod("emailservice-0"), "emailservice");
  EXPECT_EQ(service_of_pod("adservice2-0"), "adservice2");
  EXPECT_EQ(service_of_pod("frontend"), "frontend");
  EXPECT_EQ(service_of_pod("node-1"), "node");  // callers pass nodes with EntityKind::kNode, never through this
  // A ReplicaSet hash without a digit (Kubernetes' alphabet has no vowels; ~5 % of hashes have no digit).
  EXPECT_EQ(service_of_pod("checkout-bcdfghjkl-x7k2p"), "checkout");
  EXPECT_EQ(service_of_pod("ts-order-service-hzxvkzqs-qwv6r"), "ts-order-service");
  // DaemonSet pods: <name>-<5 characters>.
  EXPECT_EQ(service_of_pod("kube-proxy-x7k2p"), "kube-proxy");
  EXPECT_EQ(service_of_pod("node-exporter-bq5wz"), "node-exporter");
  // Words are not suffixes.
  EXPECT_EQ(service_of_pod("redis-cache"), "redis-cache");
  EXPECT_EQ(service_of_pod("api-gateway-proxy"), "api-gateway-proxy");
}

TEST(Csv, SplitsQuotedFieldsWithEscapes) {
  std::vector<std::string_view> f;
  std::string storage;
  ASSERT_TRUE(split_csv_line(R"(a,"b,c","d ""e""",)", ',', f, storage));
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0], "a");
  EXPECT_EQ(f[1], "b,c");
  EXPECT_EQ(f[2], "d \"e\"");
  EXPECT_EQ(f[3], "");
  EXPECT_FALSE(split_csv_line(R"(a,"open)", ',', f, storage));
}

TEST(Csv, WrittenFieldsAreQuotedOnlyWhenNeededAndReadBackUnchanged) {
  const std::vector<std::string> in = {"plain", "a,b", "say \"hi\"", " padded", "", "x;y z"};
  std::string line;
  for (size_t i = 0; i < in.size(); ++i) {
    if (i > 0) line += ',';
    append_csv_field(line, in[i]);
  }
  EXPECT_EQ(line, R"(plain,"a,b","say ""hi"""," padded",,x;y z)");
  std::vector<std::string_view> f;
  std::string storage;
  ASSERT_TRUE(split_csv_line(line, ',', f, storage));
  ASSERT_EQ(f.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) EXPECT_EQ(f[i], in[i]) << i;
}

TEST(Csv, ReadsGzipAndQuotedNewlines) {
  const std::string dir = testing::make_temp_dir("csv");
  testing::write_gzip_file(dir + "/a.csv.gz", "h1,h2\r\n1,\"x\ny\"\n2,z\n");
  CsvReader r(dir + "/a.csv.gz");
  std::vector<std::string_view> f;
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f[1], "h2");
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f[1], "x\ny");
  EXPECT_EQ(r.line_number(), 2);
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f[0], "2");
  EXPECT_EQ(r.line_number(), 4);
  EXPECT_FALSE(r.next(f));
}

TEST(Csv, StrayQuoteDoesNotSwallowTheFile) {
  const std::string dir = testing::make_temp_dir("csv");
  std::string content = "a,\"broken\n";
  for (int i = 0; i < 200; ++i) content += "x,y\n";
  testing::write_file(dir + "/b.csv", content);
  CsvReader r(dir + "/b.csv");
  std::vector<std::string_view> f;
  ASSERT_TRUE(r.next(f));
  EXPECT_TRUE(r.unterminated());
  int rest = 0;
  while (r.next(f)) ++rest;
  EXPECT_GT(rest, 100);  // bounded damage: later lines are still read
}

TEST(LineReader, MissingFileIsAnIoErrorNamingThePath) {
  try {
    LineReader r("/nonexistent/file.csv");
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/file.csv"), std::string::npos);
  }
}

TEST(LineReader, TruncatedGzipIsAnIoError) {
  const std::string dir = testing::make_temp_dir("gz");
  std::string big;
  for (int i = 0; i < 20000; ++i) big += "line " + std::to_string(i * 7919) + "\n";
  testing::write_gzip_file(dir + "/t.gz", big);
  testing::run_command("head -c 3000 " + dir + "/t.gz > " + dir + "/cut.gz");
  LineReader r(dir + "/cut.gz");
  std::string_view line;
  EXPECT_THROW(
      {
        while (r.next(line)) {
        }
      },
      IoError);
}

TEST(LineReader, ReadsLargeAndConcatenatedGzipLikeZcat) {
  // Two gzip members back to back (what `cat a.gz b.gz` or `gzip -c a b` makes),
  // each larger than one read buffer, compared line by line with zcat.
  const std::string dir = testing::make_temp_dir("gz");
  std::string a, b;
  for (int i = 0; i < 60000; ++i) a += "first member line " + std::to_string(i * 7919) + "\r\n";
  for (int i = 0; i < 50000; ++i) b += "second " + std::to_string(i) + "\n";
  testing::write_gzip_file(dir + "/a.gz", a);
  testing::write_gzip_file(dir + "/b.gz", b);
  testing::run_command("cat " + dir + "/a.gz " + dir + "/b.gz > " + dir + "/ab.gz");
  testing::run_command("zcat " + dir + "/ab.gz | tr -d '\\r' > " + dir + "/ab.txt");
  LineReader r(dir + "/ab.gz");
  EXPECT_TRUE(r.compressed());
  std::string got;
  std::string_view line;
  while (r.next(line)) got.append(line).push_back('\n');
  EXPECT_EQ(r.line_number(), 110000);
  EXPECT_EQ(got, read_text_file(dir + "/ab.txt"));
  EXPECT_EQ(r.bytes_read(), static_cast<std::int64_t>(a.size() + b.size()));
}

TEST(LineReader, CorruptGzipIsAnIoErrorNamingTheFile) {
  const std::string dir = testing::make_temp_dir("gz");
  std::string bad = "\x1f\x8b\x08";
  bad.push_back('\0');
  bad += std::string(6, '\0') + "garbage, not deflate data";
  testing::write_file(dir + "/bad.gz", bad);
  try {
    LineReader r(dir + "/bad.gz");
    std::string_view line;
    while (r.next(line)) {
    }
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.gz"), std::string::npos) << e.what();
  }
}

TEST(ParseStats, CountsKeepsExamplesAndThrowsWhenStrict) {
  ParseStats s;
  for (int i = 0; i < 30; ++i) s.reject("f.csv", i + 1, "field_count", "bad");
  EXPECT_EQ(s.rejected, 30);
  EXPECT_EQ(s.by_reason["field_count"], 30);
  EXPECT_EQ(s.examples.size(), ParseStats::max_examples);
  EXPECT_EQ(s.examples[0], "f.csv:1: bad");
  ParseStats strict;
  strict.strict = true;
  EXPECT_THROW(strict.reject("f.csv", 7, "x", "bad value"), InvalidInput);
}

}  // namespace
}  // namespace rslicer

#include <random>
#include <unordered_set>

#include "core/flat_set.h"

namespace rslicer {
namespace {

TEST(FlatU64Set, BehavesLikeAnUnorderedSetUnderRandomOperations) {
  FlatU64Set flat(4);
  std::unordered_set<std::uint64_t> ref;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200000; ++i) {
    const std::uint64_t k = 1 + rng() % 5000;  // small key space: many collisions and deletes
    if (rng() % 3 == 0) {
      flat.erase(k);
      ref.erase(k);
    } else {
      EXPECT_EQ(flat.insert(k), ref.insert(k).second);
    }
    if (i % 1000 == 0) {
      ASSERT_EQ(flat.size(), ref.size());
      for (std::uint64_t q = 1; q <= 5000; q += 37) ASSERT_EQ(flat.contains(q), ref.count(q) > 0) << q;
    }
  }
}

}  // namespace
}  // namespace rslicer
