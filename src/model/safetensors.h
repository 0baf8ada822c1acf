// Checkpoint access without libtorch: the safetensors format (one file or
// shards listed in model.safetensors.index.json) behind a small WeightReader
// interface, so model code finds tensors by name and never touches files
// (the CTranslate2 ModelReader idea). MemoryWeightReader serves tensors built
// in memory (tests, benchmarks).
//
// safetensors layout: u64 little-endian header length N, N bytes of JSON
// {"name": {"dtype": "BF16", "shape": [..], "data_offsets": [begin, end]},
//  "__metadata__": {..}}, then the raw little-endian data; offsets are
// relative to the end of the header.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace rslicer {

// Element types of the safetensors format. Only F32, F16 and BF16 can be
// converted to model weights; the others are recognised so errors can name them.
enum class WeightDType { kF32, kF16, kBF16, kF64, kI64, kI32, kI16, kI8, kU8, kBool, kF8E4M3, kF8E5M2 };

const char* dtype_name(WeightDType dtype);          // "F32", "BF16", ...
std::size_t dtype_size(WeightDType dtype);          // bytes per element
bool is_float_weight_dtype(WeightDType dtype);      // F32, F16 or BF16
// Parses a safetensors dtype string; throws ModelError naming `where` when unknown.
WeightDType parse_dtype(const std::string& name, const std::string& where);

struct TensorInfo {
  std::string name;              // tensor name in the checkpoint
  WeightDType dtype = WeightDType::kF32;
  std::vector<std::int64_t> shape;
  std::string source;            // file (or "memory") holding it, for error messages
};

// A tensor's raw bytes, valid while its reader lives.
struct TensorBytes {
  TensorInfo info;
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;          // bytes = numel * dtype_size
};

std::int64_t numel(const std::vector<std::int64_t>& shape);
std::string shape_string(const std::vector<std::int64_t>& shape);  // "[2, 3]"

// Read-only access to named tensors. Implementations throw ModelError for a
// missing tensor (naming the checkpoint) and IoError for unreadable files.
class WeightReader {
 public:
  virtual ~WeightReader() = default;
  virtual bool contains(const std::string& name) const = 0;
  virtual std::vector<std::string> names() const = 0;        // sorted
  virtual TensorBytes get(const std::string& name) const = 0;
  virtual std::string description() const = 0;               // for error messages
};

// One .safetensors file, memory-mapped. The header is validated on open:
// JSON syntax, dtypes, shapes against data_offsets, offsets inside the file.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  bool contains(const std::string& name) const { return entries_.count(name) > 0; }
  std::vector<std::string> names() const;
  TensorBytes get(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  struct Entry {
    TensorInfo info;
    std::size_t begin = 0;  // absolute byte offset in the file
    std::size_t size = 0;
  };
  std::string path_;
  const std::uint8_t* map_ = nullptr;
  std::size_t map_size_ = 0;
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

// A checkpoint folder or file: `path` may be a .safetensors file, a
// model.safetensors.index.json, or a folder holding either (the index wins).
class SafetensorsReader : public WeightReader {
 public:
  explicit SafetensorsReader(const std::string& path);
  bool contains(const std::string& name) const override;
  std::vector<std::string> names() const override;
  TensorBytes get(const std::string& name) const override;
  std::string description() const override { return description_; }
  std::size_t num_files() const { return files_.size(); }

 private:
  std::string description_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, std::size_t> file_of_;  // tensor name -> index in files_
};

// Tensors held in memory (tests and benchmarks).
class MemoryWeightReader : public WeightReader {
 public:
  // `data` is copied; its size must equal numel(shape) * dtype_size(dtype).
  void add(const std::string& name, WeightDType dtype, const std::vector<std::int64_t>& shape,
           std::vector<std::uint8_t> data);
  // Convenience for fp32 data.
  void add_f32(const std::string& name, const std::vector<std::int64_t>& shape,
               const std::vector<float>& values);
  bool contains(const std::string& name) const override { return tensors_.count(name) > 0; }
  std::vector<std::string> names() const override;
  TensorBytes get(const std::string& name) const override;
  std::string description() const override { return "in-memory weights"; }

 private:
  std::map<std::string, std::pair<TensorInfo, std::vector<std::uint8_t>>> tensors_;
};

// Writes the tensors of `reader` (all, or those in `names`) to one
// .safetensors file with the header padded to 8 bytes, as the reference
// Python writer does. Used by tests and to export in-memory weights.
void write_safetensors(const std::string& path, const WeightReader& reader,
                       const std::vector<std::string>& names = {});

// fp32 <-> bf16/fp16 conversions for one value (bf16 rounds to nearest even).
float bf16_to_float(std::uint16_t v);
std::uint16_t float_to_bf16(float v);
float fp16_to_float(std::uint16_t v);

}  // namespace rslicer
