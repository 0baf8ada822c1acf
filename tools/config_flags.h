// Command-line flags bound to configuration fields (core/config.h): a flag's
// help shows the field's doc, default and allowed range from the schema; its
// value is checked while the command line is parsed (a bad value is a usage
// error before anything runs) and applied to the config, after the --config
// file, by ConfigFlags::apply(). `--set KEY=VALUE` reaches any field.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/errors.h"

namespace rslicer::cli {

template <class S>
class ConfigFlags {
 public:
  // `defaults` provides the defaults shown in --help (a command may start from other values than S{}).
  explicit ConfigFlags(const S& defaults = S{}) : defaults_(defaults), infos_(S::schema().fields(defaults)) {}

  // Binds `flag` (e.g. "--spot-q") to the field at `path` (e.g. "heads.spot.q").
  CLI::Option* bind(CLI::App& app, const std::string& flag, const std::string& path, const std::string& help = "") {
    const config::FieldInfo* info = find(path);
    if (!info) throw std::logic_error("ConfigFlags: no config field " + path);
    std::string desc = help.empty() ? info->doc : help;
    desc += " (" + path + ", default " + info->default_json + (info->allowed.empty() ? "" : ", " + info->allowed) + ")";
    auto value = std::make_shared<std::string>();
    const S defaults = defaults_;
    CLI::Option* o = app.add_option(flag, *value, desc);
    values_.push_back({path, value, o});
    o->check(CLI::Validator(
        [path, defaults](std::string& text) -> std::string {
          S probe = defaults;
          try {
            S::schema().set(probe, path, config::parse_value(text));
          } catch (const std::exception& e) {
            return e.what();
          }
          return "";
        },
        info->allowed.empty() ? info->type : info->allowed, ""));
    return o;
  }

  // --set KEY=VALUE, repeatable, for every other field.
  void add_set(CLI::App& app) {
    app.add_option("--set", sets_,
                   "Override any config field: KEY=VALUE (e.g. heads.spot.q=0.01); `rslicer config` lists the keys")
        ->type_name("KEY=VALUE")
        ->check(CLI::Validator(
            [d = defaults_](std::string& kv) -> std::string {
              auto eq = kv.find('=');
              if (eq == std::string::npos || eq == 0) return "expected KEY=VALUE, got '" + kv + "'";
              S probe = d;
              try {
                S::schema().set(probe, kv.substr(0, eq), config::parse_value(kv.substr(eq + 1)));
              } catch (const std::exception& e) {
                return e.what();
              }
              return "";
            },
            "KEY=VALUE", ""));
  }

  // Applies the flags given on the command line to `target` (--set first, then the named flags).
  void apply(S& target) const {
    for (const auto& kv : sets_) {
      auto eq = kv.find('=');
      S::schema().set(target, kv.substr(0, eq), config::parse_value(kv.substr(eq + 1)));
    }
    for (const auto& b : values_)
      if (b.option->count() > 0) S::schema().set(target, b.path, config::parse_value(*b.value));
  }

 private:
  const config::FieldInfo* find(const std::string& path) const {
    for (const auto& i : infos_)
      if (i.name == path) return &i;
    return nullptr;
  }
  S defaults_;
  std::vector<config::FieldInfo> infos_;
  struct Bound {
    std::string path;
    std::shared_ptr<std::string> value;
    CLI::Option* option;
  };
  std::vector<Bound> values_;
  std::vector<std::string> sets_;
};

}  // namespace rslicer::cli
