// rslicer train --data DIR --out MODEL_DIR [--config FILE] [--set KEY=VALUE] [--format F] [--resume]
// Trains the encoder (URCL), fits the state-aware heads and writes the model folder.
#include <cstdio>
#include <memory>
#include <string>

#include "api/pipeline.h"
#include "command.h"
#include "config_flags.h"
#include "data_path.h"
#include "read_flags.h"

namespace {

struct TrainFlags {
  std::string data;
  std::string format = "auto";
  std::string out;
  std::string config;
  bool resume = false;
  rslicer::ReadOptions read;
  rslicer::cli::ConfigFlags<rslicer::TrainConfig> flags;
};

RSLICER_COMMAND(
    "train", "Train the encoder (URCL) and fit the state-aware heads on a dataset; writes a model folder", 30,
    [](CLI::App& sub) {
      auto f = std::make_shared<TrainFlags>();
      sub.add_option("--data", f->data,
                     "Dataset folder (default: the bundled sample without a config's sources; ignored when the config lists "
                     "dataset sources; a config with only simulator sources mixes them into this data, or trains on "
                     "them alone without --data)");
      sub.add_option("--format", f->format, "nezha | aiops22 | otlp | auto")
          ->default_val("auto")
          ->check(CLI::IsMember({"auto", "nezha", "aiops22", "otlp", "rcaeval", "widecsv"}));
      sub.add_option("--out", f->out, "Model folder to write")->required();
      sub.add_option("--config", f->config, "JSON file of config fields (`rslicer config` lists them)");
      sub.add_flag("--resume", f->resume, "Continue the encoder from MODEL_DIR/checkpoint after an interruption");
      rslicer::cli::add_read_flags(sub, f->read);
      f->flags.bind(sub, "--epochs", "max_epochs");
      f->flags.bind(sub, "--minutes", "max_minutes");
      f->flags.bind(sub, "--seed", "seed");
      f->flags.bind(sub, "--ad-view", "ad_view");
      f->flags.add_set(sub);
      return [f]() {
        rslicer::TrainRequest rq;
        if (!f->config.empty()) rq.config = rslicer::load_train_config(f->config);
        f->flags.apply(rq.config);
        if (rq.config.sources.empty() && f->data.empty()) f->data = rslicer::cli::default_data_path();
        rq.data_path = f->data;
        rq.format = f->format;
        rq.read = f->read;
        rq.out_dir = f->out;
        rq.resume = f->resume;
        const rslicer::TrainSummary s = rslicer::train_model(rq);
        const auto& e = s.encoder;
        std::printf("trained %d epochs (best %d, validation loss %.4f) in %.1f s, %.0f slices/s\n", e.epochs,
                    e.best_epoch, e.best_validation_loss, e.seconds, e.slices_per_s);
        const auto& h = s.heads_info;
        // the AD score in use and the initial SPOT threshold of each score it combines
        std::string thresholds;
        for (const auto& t : h.value("ad_thresholds", nlohmann::json::array())) {
          char buf[64];
          std::snprintf(buf, sizeof buf, "%s%s %.3g", thresholds.empty() ? "" : ", ",
                        t.value("score", std::string()).c_str(), t.value("threshold", 0.0));
          thresholds += buf;
        }
        // the slices they were calibrated on, and why all of them when the normal ones were asked for
        const bool on_normal = h.value("spot_calibration", std::string()) == "normal";
        const std::string note = h.value("spot_calibration_note", std::string());
        if (h.value("ad_combine", std::string()) == "evidence") {
          thresholds += "; the evidence combines the parts' tail p-values";
        } else if (h.contains("ad_part_q")) {
          char buf[64];
          std::snprintf(buf, sizeof buf, "; each at risk q = %g", h.value("ad_part_q", 0.0));
          thresholds += buf;
        }
        thresholds += std::string("; calibrated on ") + (on_normal ? "the " : "all ") +
                      std::to_string(h.value("spot_calibration_slices", 0)) +
                      (on_normal ? " normal training slices" : " training slices") + (note.empty() ? "" : ": " + note);
        // the AD score in use, and why where the default left out the kNN
        std::string ad_note = h.value("ad_score_note", std::string());
        for (const char* key : {"event_note", "kpi_note"}) {  // a part left out, or its threshold bounded
          const std::string part_note = h.value(key, std::string());
          if (!part_note.empty()) ad_note += (ad_note.empty() ? "" : "; ") + part_note;
        }
        const std::string ad_score = h.value("ad_score", std::string()) + (ad_note.empty() ? "" : " (" + ad_note + ")");
        // the triage model the training cases' leave-one-out chose, and its case vectors
        std::string triage = "not fitted (no labels)";
        if (h.value("ft_fitted", false)) {
          char buf[160];
          if (h.value("ft_model", std::string("knn")) == "logistic")
            std::snprintf(buf, sizeof buf, "logistic regression (L2 %g)", h.value("ft_l2", 0.0));
          else
            std::snprintf(buf, sizeof buf, "kNN (k = %d)", h.value("ft_neighbors", 0));
          triage = std::string(buf) + " on " + h.value("ft_features", std::string()) + " vectors";
        }
        std::printf("heads on %zu slices, %zu labelled fault%s: %d runtime states, AD view %s, score %s (SPOT thresholds: "
                    "%s), triage %s, root cause: %s\n",
                    s.head_slices, s.labelled_cases, s.labelled_cases == 1 ? "" : "s", h.value("states", 0),
                    s.ad_view.c_str(),
                    ad_score.c_str(),
                    thresholds.c_str(),
                    triage.c_str(),
                    h.value("rcl_head", std::string()).c_str());
        std::printf("model %s (%.2f MB)\n", f->out.c_str(), static_cast<double>(s.model_bytes) / 1e6);
        return 0;
      };
    });

}  // namespace
