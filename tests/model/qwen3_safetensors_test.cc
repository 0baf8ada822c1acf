// safetensors reader/writer and Qwen3 config.json parsing (no python needed).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/errors.h"
#include "model/hf_config.h"
#include "model/safetensors.h"
#include "test_util.h"

namespace rslicer {
namespace {

namespace fs = std::filesystem;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A raw safetensors file from a header string and data bytes.
std::string raw_file(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

TEST(Safetensors, WriteReadRoundTrip) {
  const std::string dir = testing::make_temp_dir("st_roundtrip");
  MemoryWeightReader mem;
  mem.add_f32("a.weight", {2, 3}, {1, 2, 3, 4, 5, 6});
  std::vector<std::uint8_t> bf(4 * 2);
  for (int i = 0; i < 4; ++i) {
    const std::uint16_t v = float_to_bf16(0.5f * static_cast<float>(i));
    std::memcpy(bf.data() + 2 * i, &v, 2);
  }
  mem.add("b", WeightDType::kBF16, {4}, bf);
  mem.add("scalar", WeightDType::kF32, {}, std::vector<std::uint8_t>(4, 0));
  write_safetensors(dir + "/model.safetensors", mem);

  SafetensorsReader reader(dir);  // folder -> model.safetensors
  EXPECT_EQ(reader.names(), (std::vector<std::string>{"a.weight", "b", "scalar"}));
  auto a = reader.get("a.weight");
  EXPECT_EQ(a.info.dtype, WeightDType::kF32);
  EXPECT_EQ(a.info.shape, (std::vector<std::int64_t>{2, 3}));
  ASSERT_EQ(a.size, 24u);
  float values[6];
  std::memcpy(values, a.data, 24);
  EXPECT_EQ(values[5], 6.0f);
  auto b = reader.get("b");
  EXPECT_EQ(b.info.dtype, WeightDType::kBF16);
  std::uint16_t v3;
  std::memcpy(&v3, b.data + 6, 2);
  EXPECT_EQ(bf16_to_float(v3), 1.5f);
  EXPECT_EQ(reader.get("scalar").info.shape.size(), 0u);
  EXPECT_NE(error_of([&] { reader.get("nope"); }).find("missing tensor \"nope\""), std::string::npos);
  fs::remove_all(dir);
}

TEST(Safetensors, ShardedIndex) {
  const std::string dir = testing::make_temp_dir("st_sharded");
  MemoryWeightReader mem;
  mem.add_f32("x", {2}, {1, 2});
  mem.add_f32("y", {1}, {3});
  write_safetensors(dir + "/part1.safetensors", mem, {"x"});
  write_safetensors(dir + "/part2.safetensors", mem, {"y"});
  testing::write_file(dir + "/model.safetensors.index.json",
                      R"({"metadata": {}, "weight_map": {"x": "part1.safetensors", "y": "part2.safetensors"}})");
  SafetensorsReader reader(dir);
  EXPECT_EQ(reader.num_files(), 2u);
  EXPECT_TRUE(reader.contains("y"));
  EXPECT_EQ(reader.get("y").info.source, dir + "/part2.safetensors");
  // index names a tensor its shard lacks
  testing::write_file(dir + "/model.safetensors.index.json",
                      R"({"weight_map": {"x": "part1.safetensors", "z": "part2.safetensors"}})");
  const auto msg = error_of([&] { SafetensorsReader r(dir); });
  EXPECT_NE(msg.find("part2.safetensors: missing tensor \"z\""), std::string::npos) << msg;
  testing::write_file(dir + "/model.safetensors.index.json", R"({"weights": {}})");
  EXPECT_NE(error_of([&] { SafetensorsReader r(dir); }).find("no \"weight_map\""), std::string::npos);
  fs::remove_all(dir);
}

TEST(Safetensors, HeaderErrorsNameTheFile) {
  const std::string dir = testing::make_temp_dir("st_errors");
  const std::string path = dir + "/model.safetensors";
  auto check = [&](const std::string& content, const std::string& expected) {
    testing::write_file(path, content);
    const auto msg = error_of([&] { SafetensorsFile f(path); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
  };
  check("abc", "truncated safetensors file (3 bytes");
  check(raw_file("{\"a\": 1", ""), "bad safetensors header (not JSON)");
  check(raw_file("[]", ""), "not a JSON object");
  check(raw_file(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", std::string(4, '\0')),
        "truncated safetensors file: data ends at byte 8");
  check(raw_file(R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", std::string(8, '\0')),
        "hold 8 bytes but dtype F32 and shape [3] need 12");
  check(raw_file(R"({"w": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 2]}})", std::string(2, '\0')),
        "unknown safetensors dtype \"Q4\"");
  check(raw_file(R"({"w": {"dtype": "F32", "shape": [2]}})", ""), "needs dtype, shape and data_offsets");
  check(raw_file(R"({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 0]}})", ""), "bad dimension -2");
  std::string long_header = raw_file("{}", "");
  long_header[0] = 100;  // claims a 100-byte header
  check(long_header, "header length 100 exceeds");
  // metadata is kept, unknown-but-valid dtypes are readable
  testing::write_file(path, raw_file(R"({"__metadata__": {"format": "pt"}, "i": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}})",
                                     std::string(8, '\0')));
  SafetensorsFile f(path);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.get("i").info.dtype, WeightDType::kI64);
  EXPECT_THROW(SafetensorsReader(dir + "/absent"), IoError);
  fs::remove_all(dir);
}

TEST(Safetensors, HalfPrecisionConversions) {
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.0f)), 1.0f);
  EXPECT_EQ(bf16_to_float(float_to_bf16(-2.5f)), -2.5f);
  EXPECT_EQ(float_to_bf16(1.00390625f), 0x3f80);  // ties to even
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::nanf("")))));
  EXPECT_EQ(fp16_to_float(0x3c00), 1.0f);
  EXPECT_EQ(fp16_to_float(0xc000), -2.0f);
  EXPECT_EQ(fp16_to_float(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_TRUE(std::isinf(fp16_to_float(0x7c00)));
  EXPECT_EQ(dtype_size(WeightDType::kBF16), 2u);
  EXPECT_STREQ(dtype_name(WeightDType::kF8E4M3), "F8_E4M3");
}

TEST(Qwen3Config, ParsesQwen3Embedding06B) {
  // config.json of Qwen/Qwen3-Embedding-0.6B
  const std::string text = R"({
    "architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
    "bos_token_id": 151643, "eos_token_id": 151643, "head_dim": 128, "hidden_act": "silu",
    "hidden_size": 1024, "initializer_range": 0.02, "intermediate_size": 3072,
    "max_position_embeddings": 32768, "max_window_layers": 28, "model_type": "qwen3",
    "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8,
    "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null,
    "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.51.3",
    "use_cache": true, "use_sliding_window": false, "vocab_size": 151669})";
  const Qwen3Config c = parse_qwen3_config(text, "config.json");
  EXPECT_EQ(c.hidden_size, 1024);
  EXPECT_EQ(c.num_hidden_layers, 28);
  EXPECT_EQ(c.num_key_value_heads, 8);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.vocab_size, 151669);
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_EQ(c.eos_token_id, 151643);
  // 0.6B parameters (595,776,512 without lm_head)
  EXPECT_EQ(qwen3_parameter_count(c), 595776512);
  // round trip
  const Qwen3Config back = parse_qwen3_config(qwen3_config_to_json(c), "x");
  EXPECT_EQ(back.intermediate_size, c.intermediate_size);
  EXPECT_EQ(back.max_position_embeddings, c.max_position_embeddings);
}

TEST(Qwen3Config, DefaultsAndErrors) {
  const Qwen3Config c = parse_qwen3_config(
      R"({"model_type": "qwen3", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 1,
          "intermediate_size": 8, "vocab_size": 10})",
      "c.json");
  EXPECT_EQ(c.head_dim, 16);             // hidden / heads
  EXPECT_EQ(c.num_key_value_heads, 4);   // = heads
  auto msg = [](const std::string& text) { return error_of([&] { parse_qwen3_config(text, "cfg.json"); }); };
  EXPECT_NE(msg(R"({"model_type": "llama"})").find("cfg.json: model_type \"llama\" is not supported"), std::string::npos);
  EXPECT_NE(msg(R"({"hidden_size": "big"})").find("\"hidden_size\" must be an integer, got \"big\""), std::string::npos);
  EXPECT_NE(msg(R"({"num_attention_heads": 16, "num_key_value_heads": 5})").find("not a multiple"), std::string::npos);
  EXPECT_NE(msg(R"({"rope_scaling": {"rope_type": "yarn", "factor": 4}})").find("rope_scaling"), std::string::npos);
  EXPECT_NE(msg(R"({"hidden_act": "gelu"})").find("hidden_act \"gelu\""), std::string::npos);
  EXPECT_NE(msg(R"({"use_sliding_window": true})").find("use_sliding_window"), std::string::npos);
  EXPECT_NE(msg("{oops").find("cfg.json: not valid JSON"), std::string::npos);
  EXPECT_THROW(load_qwen3_config("/nonexistent/config.json"), IoError);
}

}  // namespace
}  // namespace rslicer
