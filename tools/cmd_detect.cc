// rslicer detect --model MODEL_DIR --data DIR --out OUT_DIR [--format F]
// Runs a trained model on new data without reading its labels; writes
// OUT_DIR/incidents.json and OUT_DIR/incidents.html.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "api/online.h"
#include "api/pipeline.h"
#include "command.h"
#include "config_flags.h"
#include "core/errors.h"
#include "data_path.h"
#include "incident_flags.h"
#include "read_flags.h"

namespace {

struct DetectFlags {
  std::string model;
  std::string data;
  std::string format = "auto";
  std::string out;
  rslicer::ReadOptions read;
  bool online = false;
  rslicer::cli::ConfigFlags<rslicer::DetectOptions> flags;
};

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  RSLICER_CHECK(f.good(), rslicer::IoError, "cannot write ", path);
  f << text;
  RSLICER_CHECK(f.good(), rslicer::IoError, "write failed: ", path);
}

RSLICER_COMMAND(
    "detect", "Find incidents in new data with a trained model: alarms, fault type and ranked root causes with evidence",
    32, [](CLI::App& sub) {
      auto f = std::make_shared<DetectFlags>();
      sub.add_option("--model", f->model, "Model folder written by `rslicer train`")->required();
      sub.add_option("--data", f->data, "Dataset folder or file (default: the bundled sample)");
      sub.add_option("--format", f->format, "nezha | aiops22 | otlp | auto")
          ->default_val("auto")
          ->check(CLI::IsMember({"auto", "nezha", "aiops22", "otlp", "rcaeval", "widecsv"}));
      sub.add_option("--out", f->out, "Folder for incidents.json and incidents.html (created)")->required();
      rslicer::cli::add_read_flags(sub, f->read);
      sub.add_flag("--online", f->online,
                   "Decide as `rslicer serve` would: windows close by data time, profiles and calibration from the "
                   "past only (a replay into serve gives the same incidents)");
      rslicer::cli::add_incident_flags(sub, f->flags);
      return [f]() {
        using namespace rslicer;
        DetectOptions o;
        f->flags.apply(o);
        if (f->data.empty()) f->data = cli::default_data_path();
        auto pipeline = Pipeline::load(f->model);
        const ReadOptions& read = f->read;
        DetectResult r;
        if (f->online) {
          OnlineOptions oo;
          oo.detect = o;
          oo.allowed_lateness_s = read.allowed_lateness_s;
          auto source = open_source(f->data, f->format, read);
          r = detect_online(*pipeline, *source, oo, true);
          r.model = f->model;
          r.data = f->data;
        } else {
          r = pipeline->detect(f->data, f->format, read, o, true);
        }
        std::filesystem::create_directories(f->out);
        const std::string json_path = (std::filesystem::path(f->out) / "incidents.json").string();
        const std::string html_path = (std::filesystem::path(f->out) / "incidents.html").string();
        write_file(json_path, to_json(r).dump(2) + "\n");
        write_file(html_path, render_incidents_html(r));
        size_t alarms = 0;
        for (const auto& p : r.timeline) alarms += p.alarm;
        std::printf("%zu slices, %zu alarmed, %zu incidents (%.1f s)\n", r.timeline.size(), alarms,
                    r.incidents.size(), r.seconds);
        if (const std::string w = warmup_text(r.warmup); !w.empty()) std::printf("metrics: %s\n", w.c_str());
        for (size_t i = 0; i < r.incidents.size(); ++i) {
          const Incident& inc = r.incidents[i];
          std::printf("incident %zu  %s .. %s  peak %.2f  %s\n", i + 1, format_time(inc.start).c_str(),
                      format_time(inc.end).c_str(), inc.peak_score,
                      inc.fault_type.label.empty() ? "" : ("fault type " + inc.fault_type.label).c_str());
          if (!inc.alarmed_by.empty()) std::printf("  %s\n", alarmed_by_text(inc).c_str());
          for (size_t k = 0; k < inc.root_causes.size() && k < 3; ++k) {
            const auto& c = inc.root_causes[k];
            std::printf("  %zu. %-40s %s\n", k + 1, c.entity.c_str(), c.evidence.empty() ? "" : c.evidence[0].c_str());
          }
        }
        std::printf("wrote %s and %s\n", json_path.c_str(), html_path.c_str());
        return 0;
      };
    });

}  // namespace
