// One configuration mechanism for every options struct: a Schema lists each
// field once (JSON name, member, one-line doc, allowed range); the struct's
// own member initialisers are the defaults. The schema drives
//   from_json  (unknown keys and wrong types are InvalidInput naming the key),
//   to_json    (every field, so a saved config reproduces a run),
//   validate   (ranges and cross-field rules; constructors that consume a
//               config call it, so a bad value never reaches libtorch),
//   --help     (fields() lists name, doc, default and range; the CLI binds
//               flags to dotted field paths with set()).
//
// A struct takes part by declaring `static const config::Schema<S>& schema();`
// and defining it in its module's .cc:
//
//   const config::Schema<SpotOptions>& SpotOptions::schema() {
//     static const auto s = config::Schema<SpotOptions>("spot")
//         .num("q", &SpotOptions::q, "risk: probability that a normal score exceeds the threshold",
//              config::Range::open(0, 1))
//         .flag("dynamic", &SpotOptions::dynamic, "update the fit with new peaks while running");
//     return s;
//   }
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/errors.h"

namespace rslicer::config {

using Json = nlohmann::json;

// Allowed interval of a numeric field; either end open or closed.
struct Range {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false, hi_open = false;

  static Range any() { return {}; }
  static Range at_least(double lo) { return {lo, std::numeric_limits<double>::infinity(), false, false}; }
  static Range above(double lo) { return {lo, std::numeric_limits<double>::infinity(), true, false}; }
  static Range closed(double lo, double hi) { return {lo, hi, false, false}; }
  static Range open(double lo, double hi) { return {lo, hi, true, true}; }
  static Range closed_open(double lo, double hi) { return {lo, hi, false, true}; }
  static Range open_closed(double lo, double hi) { return {lo, hi, true, false}; }

  bool contains(double v) const;
  std::string text() const;  // "[0, 1)", ">= 2", "" when unbounded
};

// One field as --help and docs show it (dotted name for nested fields).
struct FieldInfo {
  std::string name;          // "spot.q"
  std::string doc;
  std::string type;          // "integer", "number", "bool", "string", "list", "object"
  std::string default_json;  // the default as JSON text
  std::string allowed;       // range or choices ("" when any value is allowed)
};

// Text of a JSON value for messages ("0.5", "\"abc\"").
std::string json_text(const Json& v);

namespace detail {

template <class S>
class Field {
 public:
  Field(std::string name, std::string doc) : name_(std::move(name)), doc_(std::move(doc)) {}
  virtual ~Field() = default;
  const std::string& name() const { return name_; }
  const std::string& doc() const { return doc_; }
  virtual Json get(const S& s) const = 0;
  // Reads `v` into s (type checks only); `path` is the dotted name for messages.
  virtual void read(const Json& v, S& s, const std::string& path) const = 0;
  virtual void validate(const S& s, const std::string& path) const = 0;
  virtual void info(const S& defaults, const std::string& path, std::vector<FieldInfo>& out) const = 0;
  // Nested fields: set or get by the rest of a dotted path ("q" of "spot.q"); false when unknown.
  virtual bool set_path(S& s, const std::string& rest, const Json& v, const std::string& path) const {
    return false;
  }
  virtual bool get_path(const S& s, const std::string& rest, Json* out) const { return false; }

 private:
  std::string name_, doc_;
};

[[noreturn]] void bad_type(const std::string& path, const Json& v, const char* want);
[[noreturn]] void out_of_range(const std::string& path, const std::string& value, const std::string& allowed);

template <class S, class T>
class NumberField : public Field<S> {
 public:
  NumberField(std::string name, T S::*m, std::string doc, Range r)
      : Field<S>(std::move(name), std::move(doc)), m_(m), r_(r) {}
  Json get(const S& s) const override { return s.*m_; }
  void read(const Json& v, S& s, const std::string& path) const override {
    if (!v.is_number()) bad_type(path, v, std::is_integral_v<T> ? "an integer" : "a number");
    if constexpr (std::is_integral_v<T>) {
      if (v.is_number_float()) {
        double d = v.get<double>();
        if (d != std::floor(d)) bad_type(path, v, "an integer");
      }
      if constexpr (std::is_unsigned_v<T>) {
        if (v.is_number_integer() && !v.is_number_unsigned() && v.get<std::int64_t>() < 0)
          bad_type(path, v, "a non-negative integer");
      }
    }
    s.*m_ = v.get<T>();
  }
  void validate(const S& s, const std::string& path) const override {
    double v = static_cast<double>(s.*m_);
    if (std::is_floating_point_v<T> && !std::isfinite(v)) out_of_range(path, json_text(Json(s.*m_)), "finite");
    if (!r_.contains(v)) out_of_range(path, json_text(Json(s.*m_)), r_.text());
  }
  void info(const S& d, const std::string& path, std::vector<FieldInfo>& out) const override {
    out.push_back({path, this->doc(), std::is_integral_v<T> ? "integer" : "number", json_text(Json(d.*m_)), r_.text()});
  }

 private:
  T S::*m_;
  Range r_;
};

template <class S>
class BoolField : public Field<S> {
 public:
  BoolField(std::string name, bool S::*m, std::string doc) : Field<S>(std::move(name), std::move(doc)), m_(m) {}
  Json get(const S& s) const override { return s.*m_; }
  void read(const Json& v, S& s, const std::string& path) const override {
    if (!v.is_boolean()) bad_type(path, v, "true or false");
    s.*m_ = v.get<bool>();
  }
  void validate(const S&, const std::string&) const override {}
  void info(const S& d, const std::string& path, std::vector<FieldInfo>& out) const override {
    out.push_back({path, this->doc(), "bool", d.*m_ ? "true" : "false", ""});
  }

 private:
  bool S::*m_;
};

template <class S>
class StringField : public Field<S> {
 public:
  StringField(std::string name, std::string S::*m, std::string doc, std::vector<std::string> choices)
      : Field<S>(std::move(name), std::move(doc)), m_(m), choices_(std::move(choices)) {}
  Json get(const S& s) const override { return s.*m_; }
  void read(const Json& v, S& s, const std::string& path) const override {
    if (!v.is_string()) bad_type(path, v, "a string");
    s.*m_ = v.get<std::string>();
  }
  void validate(const S& s, const std::string& path) const override {
    if (choices_.empty()) return;
    for (const auto& c : choices_)
      if (c == s.*m_) return;
    out_of_range(path, json_text(Json(s.*m_)), allowed());
  }
  void info(const S& d, const std::string& path, std::vector<FieldInfo>& out) const override {
    out.push_back({path, this->doc(), "string", json_text(Json(d.*m_)), allowed()});
  }

 private:
  std::string allowed() const {
    std::string a;
    for (const auto& c : choices_) a += (a.empty() ? "one of " : " | ") + c;
    return a;
  }
  std::string S::*m_;
  std::vector<std::string> choices_;
};

template <class S>
class StringListField : public Field<S> {
 public:
  StringListField(std::string name, std::vector<std::string> S::*m, std::string doc)
      : Field<S>(std::move(name), std::move(doc)), m_(m) {}
  Json get(const S& s) const override { return s.*m_; }
  void read(const Json& v, S& s, const std::string& path) const override {
    if (!v.is_array()) bad_type(path, v, "an array of strings");
    std::vector<std::string> out;
    for (const auto& x : v) {
      if (!x.is_string()) bad_type(path, v, "an array of strings");
      out.push_back(x.get<std::string>());
    }
    s.*m_ = std::move(out);
  }
  void validate(const S&, const std::string&) const override {}
  void info(const S& d, const std::string& path, std::vector<FieldInfo>& out) const override {
    out.push_back({path, this->doc(), "list", json_text(Json(d.*m_)), ""});
  }

 private:
  std::vector<std::string> S::*m_;
};

template <class S, class Sub>
class SubField : public Field<S> {
 public:
  SubField(std::string name, Sub S::*m, std::string doc) : Field<S>(std::move(name), std::move(doc)), m_(m) {}
  Json get(const S& s) const override { return Sub::schema().to_json(s.*m_); }
  void read(const Json& v, S& s, const std::string& path) const override { Sub::schema().read(v, s.*m_, path); }
  void validate(const S& s, const std::string& path) const override { Sub::schema().validate(s.*m_, path); }
  void info(const S& d, const std::string& path, std::vector<FieldInfo>& out) const override {
    Sub::schema().info_into(d.*m_, path + ".", out);
  }
  bool set_path(S& s, const std::string& rest, const Json& v, const std::string& path) const override {
    return Sub::schema().set_path(s.*m_, rest, v, path);
  }
  bool get_path(const S& s, const std::string& rest, Json* out) const override {
    return Sub::schema().get_path(s.*m_, rest, out);
  }

 private:
  Sub S::*m_;
};

template <class S, class Sub>
class SubListField : public Field<S> {
 public:
  SubListField(std::string name, std::vector<Sub> S::*m, std::string doc)
      : Field<S>(std::move(name), std::move(doc)), m_(m) {}
  Json get(const S& s) const override {
    Json a = Json::array();
    for (const auto& x : s.*m_) a.push_back(Sub::schema().to_json(x));
    return a;
  }
  void read(const Json& v, S& s, const std::string& path) const override {
    if (!v.is_array()) bad_type(path, v, "an array of objects");
    std::vector<Sub> out;
    for (size_t i = 0; i < v.size(); ++i) {
      out.emplace_back();
      Sub::schema().read(v[i], out.back(), path + "[" + std::to_string(i) + "]");
    }
    s.*m_ = std::move(out);
  }
  void validate(const S& s, const std::string& path) const override {
    for (size_t i = 0; i < (s.*m_).size(); ++i)
      Sub::schema().validate((s.*m_)[i], path + "[" + std::to_string(i) + "]");
  }
  void info(const S& d, const std::string& path, std::vector<FieldInfo>& out) const override {
    out.push_back({path, this->doc(), "list", json_text(get(d)), ""});
    Sub::schema().info_into(Sub{}, path + "[].", out);
  }

 private:
  std::vector<Sub> S::*m_;
};

template <class S>
class CustomField : public Field<S> {
 public:
  using Getter = std::function<Json(const S&)>;
  using Reader = std::function<void(const Json&, S&, const std::string&)>;
  using Validator = std::function<void(const S&, const std::string&)>;
  CustomField(std::string name, std::string doc, std::string type, Getter g, Reader r, Validator v)
      : Field<S>(std::move(name), std::move(doc)), type_(std::move(type)), g_(g), r_(r), v_(v) {}
  Json get(const S& s) const override { return g_(s); }
  void read(const Json& j, S& s, const std::string& path) const override { r_(j, s, path); }
  void validate(const S& s, const std::string& path) const override {
    if (v_) v_(s, path);
  }
  void info(const S& d, const std::string& path, std::vector<FieldInfo>& out) const override {
    out.push_back({path, this->doc(), type_, json_text(g_(d)), ""});
  }

 private:
  std::string type_;
  Getter g_;
  Reader r_;
  Validator v_;
};

}  // namespace detail

template <class S>
class Schema {
 public:
  // `section` names the struct in messages when it is read at the top level ("" = none).
  explicit Schema(std::string section = "") : section_(std::move(section)) {}

  template <class T>
  Schema& num(const char* name, T S::*m, const char* doc, Range r = {}) {
    static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>, "num() takes a numeric member");
    fields_.push_back(std::make_shared<detail::NumberField<S, T>>(name, m, doc, r));
    return *this;
  }
  Schema& flag(const char* name, bool S::*m, const char* doc) {
    fields_.push_back(std::make_shared<detail::BoolField<S>>(name, m, doc));
    return *this;
  }
  Schema& text(const char* name, std::string S::*m, const char* doc, std::vector<std::string> choices = {}) {
    fields_.push_back(std::make_shared<detail::StringField<S>>(name, m, doc, std::move(choices)));
    return *this;
  }
  Schema& texts(const char* name, std::vector<std::string> S::*m, const char* doc) {
    fields_.push_back(std::make_shared<detail::StringListField<S>>(name, m, doc));
    return *this;
  }
  template <class Sub>
  Schema& sub(const char* name, Sub S::*m, const char* doc) {
    fields_.push_back(std::make_shared<detail::SubField<S, Sub>>(name, m, doc));
    return *this;
  }
  // A list of structs that have a schema of their own.
  template <class Sub>
  Schema& subs(const char* name, std::vector<Sub> S::*m, const char* doc) {
    fields_.push_back(std::make_shared<detail::SubListField<S, Sub>>(name, m, doc));
    return *this;
  }
  // A field with its own representation (a time, a list of structs, a JSON blob).
  Schema& custom(const char* name, const char* doc, const char* type, typename detail::CustomField<S>::Getter get,
                 typename detail::CustomField<S>::Reader read, typename detail::CustomField<S>::Validator check = {}) {
    fields_.push_back(std::make_shared<detail::CustomField<S>>(name, doc, type, get, read, check));
    return *this;
  }
  // A rule across fields, run by validate() after the per-field ranges; throws InvalidInput.
  Schema& rule(std::function<void(const S&, const std::string& path)> r) {
    rules_.push_back(std::move(r));
    return *this;
  }

  Json to_json(const S& s) const {
    Json j = Json::object();
    for (const auto& f : fields_) j[f->name()] = f->get(s);
    return j;
  }
  // Overrides the fields of `s` named in `j` (an object); unknown keys are errors.
  void read(const Json& j, S& s, const std::string& path = "") const {
    const std::string where = path.empty() ? section_ : path;
    if (!j.is_object())
      throw InvalidInput(cat(where.empty() ? std::string("config") : "'" + where + "'", " must be a JSON object, got ",
                             json_text(j)));
    for (const auto& [k, v] : j.items()) {
      const detail::Field<S>* f = find(k);
      const std::string p = where.empty() ? k : where + "." + k;
      if (!f) throw InvalidInput(cat("unknown key '", p, "' in config (known: ", known_keys(), ")"));
      f->read(v, s, p);
    }
  }
  void validate(const S& s, const std::string& path = "") const {
    const std::string where = path.empty() ? section_ : path;
    for (const auto& f : fields_) f->validate(s, where.empty() ? f->name() : where + "." + f->name());
    for (const auto& r : rules_) r(s, where);
  }
  S from_json(const Json& j, S base = S{}, const std::string& path = "") const {
    read(j, base, path);
    validate(base, path);
    return base;
  }
  // Every field (nested ones flattened with dotted names) with the defaults of `defaults`.
  std::vector<FieldInfo> fields(const S& defaults = S{}) const {
    std::vector<FieldInfo> out;
    info_into(defaults, "", out);
    return out;
  }
  void info_into(const S& d, const std::string& prefix, std::vector<FieldInfo>& out) const {
    for (const auto& f : fields_) f->info(d, prefix + f->name(), out);
  }
  // Sets one field by dotted path ("spot.q") from a JSON value, then validates the whole struct.
  // Throws InvalidInput for an unknown path, a wrong type or a value out of range.
  void set(S& s, const std::string& path, const Json& v) const {
    S copy = s;
    if (!set_path(copy, path, v, path)) throw InvalidInput(cat("unknown config key '", path, "'"));
    validate(copy);
    s = std::move(copy);
  }
  bool set_path(S& s, const std::string& rest, const Json& v, const std::string& full) const {
    auto dot = rest.find('.');
    const detail::Field<S>* f = find(dot == std::string::npos ? rest : rest.substr(0, dot));
    if (!f) return false;
    if (dot == std::string::npos) {
      f->read(v, s, full);
      return true;
    }
    return f->set_path(s, rest.substr(dot + 1), v, full);
  }
  bool get_path(const S& s, const std::string& rest, Json* out) const {
    auto dot = rest.find('.');
    const detail::Field<S>* f = find(dot == std::string::npos ? rest : rest.substr(0, dot));
    if (!f) return false;
    if (dot == std::string::npos) {
      *out = f->get(s);
      return true;
    }
    return f->get_path(s, rest.substr(dot + 1), out);
  }
  const std::string& section() const { return section_; }

 private:
  const detail::Field<S>* find(const std::string& name) const {
    for (const auto& f : fields_)
      if (f->name() == name) return f.get();
    return nullptr;
  }
  std::string known_keys() const {
    std::string k;
    for (const auto& f : fields_) k += (k.empty() ? "" : ", ") + f->name();
    return k;
  }
  std::string section_;
  std::vector<std::shared_ptr<const detail::Field<S>>> fields_;
  std::vector<std::function<void(const S&, const std::string&)>> rules_;
};

// Shorthands over S::schema().
template <class S>
Json to_json(const S& s) {
  return S::schema().to_json(s);
}
template <class S>
S from_json(const Json& j, const S& base = S{}) {
  return S::schema().from_json(j, base);
}
template <class S>
void validate(const S& s) {
  S::schema().validate(s);
}

// Parses a command-line value for a field: JSON when it parses (numbers,
// true/false, arrays), else the text as a string.
Json parse_value(const std::string& text);

// Reads a JSON file (IoError when unreadable, InvalidInput naming the file when not JSON).
Json load_json_file(const std::string& path);

}  // namespace rslicer::config
