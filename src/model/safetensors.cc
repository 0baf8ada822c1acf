#include "model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/errors.h"

namespace rslicer {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct DTypeRow {
  WeightDType dtype;
  const char* name;
  std::size_t size;
};

constexpr DTypeRow kDTypes[] = {
    {WeightDType::kF32, "F32", 4},       {WeightDType::kF16, "F16", 2},
    {WeightDType::kBF16, "BF16", 2},     {WeightDType::kF64, "F64", 8},
    {WeightDType::kI64, "I64", 8},       {WeightDType::kI32, "I32", 4},
    {WeightDType::kI16, "I16", 2},       {WeightDType::kI8, "I8", 1},
    {WeightDType::kU8, "U8", 1},         {WeightDType::kBool, "BOOL", 1},
    {WeightDType::kF8E4M3, "F8_E4M3", 1}, {WeightDType::kF8E5M2, "F8_E5M2", 1},
};

const DTypeRow& row_of(WeightDType dtype) {
  for (const auto& r : kDTypes)
    if (r.dtype == dtype) return r;
  return kDTypes[0];  // unreachable: every enumerator has a row
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

const char* dtype_name(WeightDType dtype) { return row_of(dtype).name; }
std::size_t dtype_size(WeightDType dtype) { return row_of(dtype).size; }
bool is_float_weight_dtype(WeightDType dtype) {
  return dtype == WeightDType::kF32 || dtype == WeightDType::kF16 || dtype == WeightDType::kBF16;
}

WeightDType parse_dtype(const std::string& name, const std::string& where) {
  for (const auto& r : kDTypes)
    if (name == r.name) return r.dtype;
  throw ModelError(cat(where, ": unknown safetensors dtype \"", name, "\""));
}

std::int64_t numel(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

// ---------------------------------------------------------------------------
// SafetensorsFile

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw IoError(cat(path, ": cannot open safetensors file: ", errno_text()));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const std::string err = errno_text();
    ::close(fd);
    throw IoError(cat(path, ": cannot stat: ", err));
  }
  map_size_ = static_cast<std::size_t>(st.st_size);
  if (map_size_ < 8) {
    ::close(fd);
    throw ModelError(cat(path, ": truncated safetensors file (", map_size_,
                         " bytes, the 8-byte header length is missing)"));
  }
  void* p = ::mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd, 0);
  const std::string map_err = errno_text();
  ::close(fd);
  if (p == MAP_FAILED) throw IoError(cat(path, ": cannot mmap: ", map_err));
  map_ = static_cast<const std::uint8_t*>(p);

  try {
    std::uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | map_[i];
    if (header_len > map_size_ - 8)
      throw ModelError(cat(path, ": truncated safetensors file: header length ", header_len,
                           " exceeds the ", map_size_ - 8, " bytes after the length field"));
    const std::size_t data_start = 8 + static_cast<std::size_t>(header_len);
    const std::size_t data_size = map_size_ - data_start;
    json header;
    try {
      header = json::parse(reinterpret_cast<const char*>(map_ + 8),
                           reinterpret_cast<const char*>(map_ + data_start));
    } catch (const json::exception& e) {
      throw ModelError(cat(path, ": bad safetensors header (not JSON): ", e.what()));
    }
    if (!header.is_object()) throw ModelError(cat(path, ": bad safetensors header: not a JSON object"));
    for (auto it = header.begin(); it != header.end(); ++it) {
      const std::string& name = it.key();
      const std::string where = cat(path, ": tensor \"", name, "\"");
      if (name == "__metadata__") {
        if (!it->is_object()) throw ModelError(cat(path, ": bad safetensors header: __metadata__ is not an object"));
        for (auto m = it->begin(); m != it->end(); ++m)
          metadata_[m.key()] = m->is_string() ? m->get<std::string>() : m->dump();
        continue;
      }
      const json& e = *it;
      if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets") ||
          !e["dtype"].is_string() || !e["shape"].is_array() || !e["data_offsets"].is_array() ||
          e["data_offsets"].size() != 2)
        throw ModelError(cat(where, ": bad safetensors header entry ", e.dump(),
                             " (needs dtype, shape and data_offsets [begin, end])"));
      Entry entry;
      entry.info.name = name;
      entry.info.source = path;
      entry.info.dtype = parse_dtype(e["dtype"].get<std::string>(), where);
      for (const auto& d : e["shape"]) {
        if (!d.is_number_integer() || d.get<std::int64_t>() < 0)
          throw ModelError(cat(where, ": bad dimension ", d.dump(), " in shape ", e["shape"].dump()));
        entry.info.shape.push_back(d.get<std::int64_t>());
      }
      const auto& off = e["data_offsets"];
      if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
        throw ModelError(cat(where, ": bad data_offsets ", off.dump()));
      const auto begin = off[0].get<std::uint64_t>();
      const auto end = off[1].get<std::uint64_t>();
      // Multiplied with overflow checks: numel() of a shape such as
      // [2^32, 2^32] overflows int64 (tests/fuzz_regressions/model_files/), and a
      // wrapped product could even match the offsets. Once the bytes fit the
      // file, numel() of the shape is safe for every later user.
      const bool empty = std::find(entry.info.shape.begin(), entry.info.shape.end(), 0) != entry.info.shape.end();
      std::uint64_t expected = empty ? 0 : dtype_size(entry.info.dtype);
      for (auto d : entry.info.shape)
        if (!empty && __builtin_mul_overflow(expected, static_cast<std::uint64_t>(d), &expected))
          throw ModelError(cat(where, ": shape ", shape_string(entry.info.shape), " is too large"));
      if (end < begin || end - begin != expected)
        throw ModelError(cat(where, ": data_offsets ", off.dump(), " hold ", end - begin,
                             " bytes but dtype ", dtype_name(entry.info.dtype), " and shape ",
                             shape_string(entry.info.shape), " need ", expected));
      if (end > data_size)
        throw ModelError(cat(where, ": truncated safetensors file: data ends at byte ", end,
                             " of the data section but the file holds only ", data_size,
                             " bytes after the header"));
      entry.begin = data_start + begin;
      entry.size = end - begin;
      entries_.emplace(name, std::move(entry));
    }
  } catch (...) {
    ::munmap(const_cast<std::uint8_t*>(map_), map_size_);
    map_ = nullptr;
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(const_cast<std::uint8_t*>(map_), map_size_);
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& [name, e] : entries_) out.push_back(name);
  return out;
}

TensorBytes SafetensorsFile::get(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) throw ModelError(cat(path_, ": missing tensor \"", name, "\""));
  TensorBytes t;
  t.info = it->second.info;
  t.data = map_ + it->second.begin;
  t.size = it->second.size;
  return t;
}

// ---------------------------------------------------------------------------
// SafetensorsReader

SafetensorsReader::SafetensorsReader(const std::string& path) {
  fs::path p(path);
  if (!fs::exists(p)) throw IoError(cat(path, ": no such file or folder"));
  if (fs::is_directory(p)) {
    if (fs::exists(p / "model.safetensors.index.json")) {
      p = p / "model.safetensors.index.json";
    } else if (fs::exists(p / "model.safetensors")) {
      p = p / "model.safetensors";
    } else {
      throw ModelError(cat(path, ": no model.safetensors or model.safetensors.index.json in the folder"));
    }
  }
  description_ = p.string();
  if (p.extension() == ".json") {
    std::ifstream f(p);
    if (!f) throw IoError(cat(p.string(), ": cannot open"));
    json index;
    try {
      index = json::parse(f);
    } catch (const json::exception& e) {
      throw ModelError(cat(p.string(), ": bad safetensors index (not JSON): ", e.what()));
    }
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
      throw ModelError(cat(p.string(), ": bad safetensors index: no \"weight_map\" object"));
    std::map<std::string, std::size_t> file_index;
    for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
      if (!it->is_string())
        throw ModelError(cat(p.string(), ": weight_map entry \"", it.key(), "\" is not a file name"));
      const std::string shard = it->get<std::string>();
      auto f_it = file_index.find(shard);
      if (f_it == file_index.end()) {
        files_.push_back(std::make_unique<SafetensorsFile>((p.parent_path() / shard).string()));
        f_it = file_index.emplace(shard, files_.size() - 1).first;
      }
      if (!files_[f_it->second]->contains(it.key()))
        throw ModelError(cat(files_[f_it->second]->path(), ": missing tensor \"", it.key(),
                             "\" (listed in ", p.string(), ")"));
      file_of_[it.key()] = f_it->second;
    }
  } else {
    files_.push_back(std::make_unique<SafetensorsFile>(p.string()));
    for (const auto& name : files_[0]->names()) file_of_[name] = 0;
  }
}

bool SafetensorsReader::contains(const std::string& name) const { return file_of_.count(name) > 0; }

std::vector<std::string> SafetensorsReader::names() const {
  std::vector<std::string> out;
  for (const auto& [name, i] : file_of_) out.push_back(name);
  return out;
}

TensorBytes SafetensorsReader::get(const std::string& name) const {
  auto it = file_of_.find(name);
  if (it == file_of_.end()) throw ModelError(cat(description_, ": missing tensor \"", name, "\""));
  return files_[it->second]->get(name);
}

// ---------------------------------------------------------------------------
// MemoryWeightReader

void MemoryWeightReader::add(const std::string& name, WeightDType dtype,
                             const std::vector<std::int64_t>& shape, std::vector<std::uint8_t> data) {
  const auto expected = static_cast<std::size_t>(numel(shape)) * dtype_size(dtype);
  RSLICER_CHECK(data.size() == expected, InvalidInput, "tensor \"", name, "\": ", data.size(),
                " bytes given, dtype ", dtype_name(dtype), " and shape ", shape_string(shape),
                " need ", expected);
  TensorInfo info{name, dtype, shape, "memory"};
  tensors_[name] = {std::move(info), std::move(data)};
}

void MemoryWeightReader::add_f32(const std::string& name, const std::vector<std::int64_t>& shape,
                                 const std::vector<float>& values) {
  std::vector<std::uint8_t> bytes(values.size() * sizeof(float));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  add(name, WeightDType::kF32, shape, std::move(bytes));
}

std::vector<std::string> MemoryWeightReader::names() const {
  std::vector<std::string> out;
  for (const auto& [name, t] : tensors_) out.push_back(name);
  return out;
}

TensorBytes MemoryWeightReader::get(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw ModelError(cat("in-memory weights: missing tensor \"", name, "\""));
  TensorBytes t;
  t.info = it->second.first;
  t.data = it->second.second.data();
  t.size = it->second.second.size();
  return t;
}

// ---------------------------------------------------------------------------
// Writer

void write_safetensors(const std::string& path, const WeightReader& reader,
                       const std::vector<std::string>& names) {
  const std::vector<std::string> selected = names.empty() ? reader.names() : names;
  json header = json::object();
  std::uint64_t offset = 0;
  std::vector<TensorBytes> tensors;
  for (const auto& name : selected) {
    TensorBytes t = reader.get(name);
    header[name] = {{"dtype", dtype_name(t.info.dtype)},
                    {"shape", t.info.shape},
                    {"data_offsets", {offset, offset + t.size}}};
    offset += t.size;
    tensors.push_back(t);
  }
  std::string text = header.dump();
  while ((8 + text.size()) % 8 != 0) text.push_back(' ');
  std::ofstream f(path, std::ios::binary);
  if (!f) throw IoError(cat(path, ": cannot write"));
  std::uint8_t len[8];
  std::uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<std::uint8_t>(n >> (8 * i));
  f.write(reinterpret_cast<const char*>(len), 8);
  f.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& t : tensors) f.write(reinterpret_cast<const char*>(t.data), static_cast<std::streamsize>(t.size));
  if (!f) throw IoError(cat(path, ": write failed"));
}

// ---------------------------------------------------------------------------
// Scalar conversions

float bf16_to_float(std::uint16_t v) {
  const std::uint32_t bits = static_cast<std::uint32_t>(v) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

std::uint16_t float_to_bf16(float v) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, 4);
  if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu))  // NaN stays NaN
    return static_cast<std::uint16_t>((bits >> 16) | 0x40);
  const std::uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

float fp16_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t mant = h & 0x3ffu;
  std::uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400u)) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace rslicer
