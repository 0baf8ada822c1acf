#include "serve/store.h"

#include <filesystem>

#include <sqlite3.h>

#include "core/errors.h"

namespace rslicer {

namespace {

// One prepared statement, finalised on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql, const std::string& path) : path_(path) {
    RSLICER_CHECK(sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) == SQLITE_OK, IoError, path, ": ",
                  sqlite3_errmsg(db), " (", sql, ")");
  }
  ~Statement() { sqlite3_finalize(s_); }
  Statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Statement& bind(int i, double v) {
    sqlite3_bind_double(s_, i, v);
    return *this;
  }
  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  bool step() {
    const int rc = sqlite3_step(s_);
    RSLICER_CHECK(rc == SQLITE_ROW || rc == SQLITE_DONE, IoError, path_, ": ", sqlite3_errmsg(sqlite3_db_handle(s_)));
    return rc == SQLITE_ROW;
  }
  void run() {
    step();
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  std::int64_t i64(int c) const { return sqlite3_column_int64(s_, c); }
  double f64(int c) const { return sqlite3_column_double(s_, c); }
  std::string text(int c) const {
    const auto* t = sqlite3_column_text(s_, c);
    return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(s_, c))) : "";
  }

 private:
  sqlite3_stmt* s_ = nullptr;
  std::string path_;
};

}  // namespace

struct Store::Impl {
  sqlite3* db = nullptr;
  size_t timeline_written = 0, incidents_written = 0;

  void exec(const std::string& path, const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      throw IoError(cat(path, ": ", msg));
    }
  }
};

Store::Store(const std::string& dir, const std::string& model_dir) : impl_(std::make_unique<Impl>()) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  RSLICER_CHECK(!ec, IoError, "--store: cannot create ", dir, ": ", ec.message());
  path_ = (std::filesystem::path(dir) / "serve.db").string();
  if (sqlite3_open(path_.c_str(), &impl_->db) != SQLITE_OK) {
    const std::string msg = impl_->db ? sqlite3_errmsg(impl_->db) : "out of memory";
    sqlite3_close(impl_->db);
    impl_->db = nullptr;
    throw IoError(cat(path_, ": cannot open: ", msg));
  }
  sqlite3_busy_timeout(impl_->db, 5000);
  impl_->exec(path_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  impl_->exec(path_,
              "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
              "CREATE TABLE IF NOT EXISTS timeline (start INTEGER PRIMARY KEY, end INTEGER NOT NULL, score REAL,"
              " threshold REAL, state INTEGER, alarm INTEGER);"
              "CREATE TABLE IF NOT EXISTS incidents (start INTEGER PRIMARY KEY, open INTEGER, json TEXT NOT NULL);"
              "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);");
  {  // which AD scores alarmed (TimelinePoint::alarmed_by): a column that stores written before it lack
    Statement has(impl_->db, "SELECT COUNT(*) FROM pragma_table_info('timeline') WHERE name = 'alarmed_by'", path_);
    if (has.step() && has.i64(0) == 0)
      impl_->exec(path_, "ALTER TABLE timeline ADD COLUMN alarmed_by INTEGER NOT NULL DEFAULT 0;");
  }
  Statement version(impl_->db, "SELECT value FROM meta WHERE key = 'schema_version'", path_);
  if (version.step()) {
    const std::string v = version.text(0);
    RSLICER_CHECK(v == std::to_string(kSchemaVersion), IoError, path_, ": schema version ", v, ", this rslicer reads ",
                  kSchemaVersion, " (move the folder away or use another --store)");
  } else {
    Statement put(impl_->db, "INSERT INTO meta (key, value) VALUES (?, ?)", path_);
    put.bind(1, std::string("schema_version")).bind(2, std::to_string(kSchemaVersion)).run();
    put.bind(1, std::string("model")).bind(2, model_dir).run();
  }
}

Store::~Store() { sqlite3_close(impl_->db); }

OnlineCheckpoint Store::load() {
  OnlineCheckpoint c;
  Statement tl(impl_->db, "SELECT start, end, score, threshold, state, alarm, alarmed_by FROM timeline ORDER BY start",
               path_);
  while (tl.step())
    c.timeline.push_back({tl.i64(0), tl.i64(1), tl.f64(2), tl.f64(3), static_cast<int>(tl.i64(4)), tl.i64(5) != 0,
                          static_cast<std::uint8_t>(tl.i64(6))});
  Statement inc(impl_->db, "SELECT json FROM incidents ORDER BY start", path_);
  while (inc.step()) {
    try {
      c.incidents.push_back(incident_from_json(nlohmann::json::parse(inc.text(0))));
    } catch (const std::exception& e) {
      throw IoError(cat(path_, ": a stored incident cannot be read: ", e.what()));
    }
  }
  Statement st(impl_->db, "SELECT value FROM state WHERE key = 'online'", path_);
  if (st.step()) {
    c.state = nlohmann::json::parse(st.text(0), nullptr, false);
    RSLICER_CHECK(!c.state.is_discarded(), IoError, path_, ": the stored state is not JSON");
  }
  impl_->timeline_written = c.timeline.size();
  impl_->incidents_written = c.incidents.size();
  return c;
}

void Store::save(const OnlineDetector& online, bool with_state) {
  Impl& im = *impl_;
  // nothing new (most ingest batches decide nothing; incidents change only when a slice is decided, or at the
  // end of the stream, which saves the state too): no copy, no transaction
  if (online.decided() == im.timeline_written && online.reported() == im.incidents_written && !with_state) return;
  const DetectResult r = online.result();
  im.exec(path_, "BEGIN");
  try {
    Statement tl(im.db,
                 "INSERT OR REPLACE INTO timeline (start, end, score, threshold, state, alarm, alarmed_by)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?)",
                 path_);
    for (size_t i = im.timeline_written; i < r.timeline.size(); ++i) {
      const auto& p = r.timeline[i];
      tl.bind(1, static_cast<std::int64_t>(p.start))
          .bind(2, static_cast<std::int64_t>(p.end))
          .bind(3, p.score)
          .bind(4, p.threshold)
          .bind(5, static_cast<std::int64_t>(p.state))
          .bind(6, static_cast<std::int64_t>(p.alarm))
          .bind(7, static_cast<std::int64_t>(p.alarmed_by))
          .run();
    }
    // the last stored incident may have grown or closed since; later ones are new
    Statement inc(im.db, "INSERT OR REPLACE INTO incidents (start, open, json) VALUES (?, ?, ?)", path_);
    for (size_t i = im.incidents_written > 0 ? im.incidents_written - 1 : 0; i < r.incidents.size(); ++i) {
      const Incident& x = r.incidents[i];
      nlohmann::json j = to_json(x);
      j["onset"] = static_cast<double>(x.onset) / kUsPerSecond;
      j["slices"] = x.slices;
      inc.bind(1, static_cast<std::int64_t>(x.start)).bind(2, static_cast<std::int64_t>(x.open)).bind(3, j.dump()).run();
    }
    if (with_state) {
      Statement st(im.db, "INSERT OR REPLACE INTO state (key, value) VALUES ('online', ?)", path_);
      st.bind(1, online.state().dump()).run();
    }
    im.exec(path_, "COMMIT");
  } catch (...) {
    sqlite3_exec(im.db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  im.timeline_written = r.timeline.size();
  im.incidents_written = r.incidents.size();
}

}  // namespace rslicer
