#include "train/model_files.h"

#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.h"

namespace rslicer {

namespace fs = std::filesystem;

std::string crc32_hex(const std::string& bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* p = reinterpret_cast<const Bytef*>(bytes.data());
  size_t left = bytes.size();
  while (left > 0) {
    uInt n = static_cast<uInt>(std::min<size_t>(left, 1u << 30));
    crc = crc32(crc, p, n);
    p += n;
    left -= n;
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08lx", static_cast<unsigned long>(crc));
  return buf;
}

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError(cat("cannot read model file ", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_all(const std::string& path, const std::string& bytes) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw IoError(cat("cannot write ", tmp));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw IoError(cat("write failed: ", tmp));
  }
  fs::rename(tmp, path);
}

}  // namespace

ModelFolderWriter::ModelFolderWriter(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw IoError(cat("cannot create model folder ", dir_, ": ", ec.message()));
}

void ModelFolderWriter::add_bytes(const std::string& name, const std::string& bytes) {
  write_all(dir_ + "/" + name, bytes);
  files_[name] = {{"bytes", bytes.size()}, {"crc32", crc32_hex(bytes)}};
}

void ModelFolderWriter::add_json(const std::string& name, const nlohmann::json& j) {
  add_bytes(name, j.dump(2) + "\n");
}

void ModelFolderWriter::add_module(const std::string& name, torch::nn::Module& module) {
  torch::serialize::OutputArchive ar;
  module.save(ar);
  std::ostringstream ss;
  ar.save_to(ss);
  add_bytes(name, ss.str());
}

void ModelFolderWriter::add_optimizer(const std::string& name, torch::optim::Optimizer& opt) {
  torch::serialize::OutputArchive ar;
  opt.save(ar);
  std::ostringstream ss;
  ar.save_to(ss);
  add_bytes(name, ss.str());
}

void ModelFolderWriter::finish(const nlohmann::json& extra) {
  nlohmann::json m = {{"format_version", kModelFormatVersion}, {"producer", "rslicer 0.1.0"}, {"files", files_}};
  if (extra.is_object())
    for (const auto& [k, v] : extra.items()) m[k] = v;
  write_all(dir_ + "/manifest.json", m.dump(2) + "\n");
}

ModelFolderReader::ModelFolderReader(std::string dir) : dir_(std::move(dir)) {
  if (!fs::is_directory(dir_)) throw ModelError(cat("model folder ", dir_, " does not exist"));
  std::string mpath = dir_ + "/manifest.json";
  if (!fs::exists(mpath))
    throw ModelError(cat(dir_, " is not a model folder: manifest.json is missing (train one with `rslicer train`)"));
  try {
    manifest_ = nlohmann::json::parse(read_all(mpath));
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(cat(mpath, ": corrupted manifest (not valid JSON: ", e.what(), ")"));
  }
  if (!manifest_.is_object() || !manifest_.contains("format_version") || !manifest_["format_version"].is_number_integer() ||
      !manifest_.contains("files") || !manifest_["files"].is_object())
    throw ModelError(cat(mpath, ": corrupted manifest (needs format_version and files)"));
  int version = manifest_["format_version"].get<int>();
  if (version != kModelFormatVersion)
    throw ModelError(cat(mpath, ": model format_version ", version, " is not supported by this build (expects ",
                         kModelFormatVersion, "); retrain with this version"));
  for (const auto& [name, info] : manifest_["files"].items()) {
    std::string p = path(name);
    if (!fs::exists(p)) throw ModelError(cat(dir_, ": file ", name, " listed in manifest.json is missing"));
    std::string b = read_all(p);
    std::int64_t want_bytes = info.value("bytes", static_cast<std::int64_t>(-1));
    if (static_cast<std::int64_t>(b.size()) != want_bytes)
      throw ModelError(cat(p, ": corrupted or truncated (", b.size(), " bytes, manifest says ", want_bytes, ")"));
    std::string crc = crc32_hex(b);
    if (crc != info.value("crc32", std::string()))
      throw ModelError(cat(p, ": checksum mismatch (crc32 ", crc, ", manifest says ", info.value("crc32", std::string("?")),
                           "): the file is corrupted or was modified"));
  }
}

std::string ModelFolderReader::path(const std::string& name) const { return dir_ + "/" + name; }

bool ModelFolderReader::has(const std::string& name) const { return manifest_["files"].contains(name); }

std::string ModelFolderReader::bytes(const std::string& name) const {
  if (!has(name)) throw ModelError(cat(dir_, ": manifest.json does not list ", name));
  return read_all(path(name));
}

nlohmann::json ModelFolderReader::json(const std::string& name) const {
  try {
    return nlohmann::json::parse(bytes(name));
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(cat(path(name), ": not valid JSON: ", e.what()));
  }
}

void ModelFolderReader::load_module(const std::string& name, torch::nn::Module& module) const {
  std::string b = bytes(name);
  try {
    torch::serialize::InputArchive ar;
    std::istringstream ss(b);
    ar.load_from(ss);
    module.load(ar);
  } catch (const c10::Error& e) {
    throw ModelError(cat(path(name), ": weights do not fit this model configuration: ", e.what_without_backtrace()));
  }
}

void ModelFolderReader::load_optimizer(const std::string& name, torch::optim::Optimizer& opt) const {
  std::string b = bytes(name);
  try {
    torch::serialize::InputArchive ar;
    std::istringstream ss(b);
    ar.load_from(ss);
    opt.load(ar);
  } catch (const c10::Error& e) {
    throw ModelError(cat(path(name), ": optimizer state does not fit: ", e.what_without_backtrace()));
  }
}

// ---------------------------------------------------------------- checkpoints

void save_checkpoint(const std::string& dir, const TrainConfig& config, torch::nn::Module& model,
                     torch::optim::Optimizer& opt, const TrainCheckpoint& st, bool is_best) {
  std::string tmp = dir + ".tmp", old = dir + ".old";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  {
    ModelFolderWriter w(tmp);
    w.add_module("weights.pt", model);
    w.add_optimizer("optimizer.pt", opt);
    if (is_best || !fs::exists(dir + "/best.pt")) {
      w.add_module("best.pt", model);
    } else {
      w.add_bytes("best.pt", read_all(dir + "/best.pt"));
    }
    nlohmann::json s = {{"epoch", st.epoch},
                        {"best_validation_loss", st.best_validation_loss},
                        {"best_epoch", st.best_epoch},
                        {"bad_epochs", st.bad_epochs},
                        {"history", st.history},
                        {"seconds", st.seconds},
                        {"encoder", EncoderConfig::schema().to_json(config.encoder)}};
    if (st.prototype.defined()) {
      auto p = st.prototype.to(torch::kFloat64).contiguous();
      s["prototype"] = std::vector<double>(p.data_ptr<double>(), p.data_ptr<double>() + p.numel());
    }
    w.add_json("state.json", s);
    w.finish();
  }
  fs::remove_all(old, ec);
  if (fs::exists(dir)) fs::rename(dir, old);
  fs::rename(tmp, dir);
  fs::remove_all(old, ec);
}

TrainCheckpoint load_checkpoint(const std::string& dir, const TrainConfig& config, torch::nn::Module& model,
                                torch::optim::Optimizer& opt) {
  std::string d = dir;
  if (!fs::exists(d) && fs::exists(dir + ".old")) d = dir + ".old";  // interrupted between the renames
  if (!fs::exists(d)) throw ModelError(cat("--resume: no checkpoint in ", dir));
  ModelFolderReader r(d);
  nlohmann::json s = r.json("state.json");
  if (s.value("encoder", nlohmann::json()) != EncoderConfig::schema().to_json(config.encoder))
    throw ModelError(cat(d, ": checkpoint was written for a different encoder configuration: ",
                         s.value("encoder", nlohmann::json()).dump(), " vs ", EncoderConfig::schema().to_json(config.encoder).dump()));
  r.load_module("weights.pt", model);
  r.load_optimizer("optimizer.pt", opt);
  TrainCheckpoint st;
  try {
    st.epoch = s.at("epoch").get<int>();
    st.best_validation_loss = s.at("best_validation_loss").get<double>();
    st.best_epoch = s.at("best_epoch").get<int>();
    st.bad_epochs = s.at("bad_epochs").get<int>();
    st.history = s.at("history");
    st.seconds = s.at("seconds").get<double>();
    if (s.contains("prototype")) {
      auto v = s["prototype"].get<std::vector<double>>();
      st.prototype = torch::tensor(v, torch::kFloat64).to(torch::kFloat32);
    }
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(cat(d, "/state.json: malformed checkpoint state: ", e.what()));
  }
  if (d != dir) {  // restore the expected name
    std::error_code ec;
    fs::rename(d, dir, ec);
  }
  return st;
}

void load_best_weights(const std::string& dir, torch::nn::Module& model) {
  ModelFolderReader r(dir);
  r.load_module("best.pt", model);
}

}  // namespace rslicer
