// Model folder files without libtorch (model/safetensors.h,
// model/hf_config.h; both .cc files are compiled into the target directly
// since rslicer_model links libtorch). The first byte picks the mode:
//   0  one .safetensors file: open (header validation), then every tensor
//   1  a sharded checkpoint: part 1 is model.safetensors.index.json, parts
//      2 and 3 the two shard files it may name
//   2  a Qwen3 config.json: parse, then count parameters and write it back
#include <string>

#include "fuzz_target.h"
#include "model/hf_config.h"
#include "model/safetensors.h"

namespace {

void read_all(const rslicer::WeightReader& reader) {
  for (const std::string& name : reader.names()) {
    const rslicer::TensorBytes t = reader.get(name);
    // Touch the first and the last byte: the offsets were validated on open.
    volatile std::uint8_t sink = 0;
    if (t.size > 0) sink = t.data[0] ^ t.data[t.size - 1];
    (void)sink;
  }
}

}  // namespace

RSLICER_FUZZ_TARGET(model_files) {
  if (size == 0) return 0;
  const unsigned mode = fuzz::selector(data[0], 3);
  const std::string_view body = fuzz::as_text(data + 1, size - 1);
  try {
    if (mode == 0) {
      const std::string path = fuzz::scratch_dir() + "/model.safetensors";
      fuzz::write_file(path, body);
      SafetensorsReader reader(path);
      read_all(reader);
    } else if (mode == 1) {
      const std::string dir = fuzz::scratch_dir();
      const auto parts = fuzz::split_parts(body, 3);
      fuzz::write_file(dir + "/model.safetensors.index.json", parts[0]);
      if (parts.size() > 1) fuzz::write_file(dir + "/model-00001-of-00002.safetensors", parts[1]);
      if (parts.size() > 2) fuzz::write_file(dir + "/model-00002-of-00002.safetensors", parts[2]);
      SafetensorsReader reader(dir);
      read_all(reader);
    } else {
      const Qwen3Config c = parse_qwen3_config(std::string(body), "config.json");
      qwen3_parameter_count(c);
      parse_qwen3_config(qwen3_config_to_json(c), "config.json (written back)");
    }
  } catch (const Error&) {
  }
  return 0;
}
