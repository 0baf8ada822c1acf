// Persistence of `rslicer serve --store DIR`: DIR/serve.db, SQLite in WAL
// mode (Debian's libsqlite3).
//
//   meta       (key, value)    schema_version, the model folder it was written for
//   timeline   one row per decided slice (start, end, score, threshold, state, alarm)
//   incidents  one row per reported incident (keyed by its first window's start), its incidents.json object
//   state      the online pipeline's learned state (causal profile, AD thresholds), JSON
//
// Every decision is written, in one transaction per ingest batch, before the
// API can show it; with synchronous=NORMAL in WAL mode a committed
// transaction survives a process crash (kill -9; a power cut may lose the
// last ones). The learned state is written every `state_every` decided
// slices and at shutdown. A database of another schema version is refused
// (IoError naming the file and both versions), never silently rewritten.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "api/online.h"

namespace rslicer {

class Store {
 public:
  static constexpr int kSchemaVersion = 1;
  // Opens or creates DIR/serve.db (creating DIR). IoError when it cannot, or on another schema version.
  Store(const std::string& dir, const std::string& model_dir);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const { return path_; }
  // What was stored: decisions and the last learned state (empty on a new store).
  OnlineCheckpoint load();
  // Writes what `online` decided since the last call (new timeline points, new or changed incidents) and, when
  // `with_state`, its learned state; one transaction.
  void save(const OnlineDetector& online, bool with_state);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_;
};

}  // namespace rslicer
