// The library facade: what the CLI, eval and the server call.
//
//   files / simulator / stream  --dataset::prepare-->  FeatureSlices (+ raw tables)
//     --EmbeddingModel::embed-->  slice and per-entity embeddings
//     --FailureHeads-->           AD score + threshold, states, triage, ranked root causes with evidence
//     --detect-->                 timeline + incidents
//
// Example (C++):
//
//   rslicer::TrainRequest t;
//   t.data_path = "telemetry/";  t.out_dir = "model/";
//   rslicer::train_model(t);                                  // encoder + heads -> model/
//   auto p = rslicer::Pipeline::load("model/");
//   rslicer::DetectResult r = p->detect("new-telemetry/");    // labels in the data are never used
//   for (const auto& inc : r.incidents)
//     std::printf("%s %s\n", format_time(inc.start).c_str(), inc.root_causes[0].entity.c_str());
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/model.h"
#include "core/config.h"
#include "dataset/dataset.h"
#include "ingest/source.h"

namespace rslicer {

// ---------------------------------------------------------------- train

struct TrainRequest {
  TrainConfig config;          // encoder, losses, features, slicing, split, sources, heads
  std::string data_path;       // the dataset when config.sources is empty
  std::string format = "auto";
  ReadOptions read;            // reader options for dataset sources
  std::string out_dir;         // model folder to write
  bool resume = false;         // continue the encoder from out_dir/checkpoint
  bool progress = true;
};

struct TrainSummary {
  TrainResult encoder;         // epochs, losses, throughput
  std::int64_t model_bytes = 0;
  std::string ad_view;         // the AD view the heads were fitted on
  size_t head_slices = 0;      // slices the heads were fitted on
  size_t labelled_cases = 0;   // labelled faults among them (0: label-free heads)
  nlohmann::json heads_info;   // what the heads chose (states, SPOT threshold, triage / root-cause heads)
};

// Prepares the sources (config.sources, or data_path), trains the encoder on
// their training parts (config.split), fits the heads on the first source's
// training part, with its labels when it has any, and writes the model folder.
TrainSummary train_model(const TrainRequest& request);

// ---------------------------------------------------------------- embed

struct EmbedResult {
  std::vector<SliceEmbedding> slices;  // one per slice, time order
  std::int64_t embed_dim = 0;
  double prepare_seconds = 0, embed_seconds = 0;
  std::int64_t rejected_records = 0;
};
// Embeds every slice of a dataset with a model's encoder (its heads are not needed).
EmbedResult embed_dataset(const EmbeddingModel& model, const std::string& path, const std::string& format,
                          const ReadOptions& read, bool progress = true);

// ---------------------------------------------------------------- detect

struct DetectOptions {
  double incident_gap_s = 300;     // alarmed slices whose decision times are at most this far apart join one incident
  std::int32_t min_incident_slices = 2;  // shorter runs of alarms are left on the timeline, not reported as incidents
  std::int32_t root_causes = 5;    // ranked entities reported per incident (all are ranked)
  bool split_on_root_cause = true;  // a run of alarms splits where another root cause takes over (root_cause_takeover)
  static const config::Schema<DetectOptions>& schema();
};

// Where another root cause takes over a run of alarmed slices: `tops` are the top-ranked entities of the run's
// slices one by one (the zero-label ranking of each slice alone; kNoId where no entity signal stands out). When
// the last `k` slices share a top entity other than the run's leader (the first top of the rest of the run), the
// run splits before them and that position is returned; otherwise tops.size(). Back-to-back faults whose alarms
// never pause thus become one incident each, each ranked at its own onset.
size_t root_cause_takeover(const std::vector<Id>& tops, size_t k);
// A slice's entry in `tops`: the entity the zero-label ranking of that slice alone puts first, kNoId when none
// has a signal.
Id top_entity_alone(const ZeroLabelRanker& ranker, size_t slice);
// The k detect uses: as many slices as an incident needs, at least 2.
size_t takeover_slices(const DetectOptions& o);

// One decision per slice. Times are the slice window [start, end).
struct TimelinePoint {
  TimeUs start = 0, end = 0;
  double score = 0, threshold = 0;
  int state = 0;                   // runtime state (AD view)
  bool alarm = false;
  std::uint8_t alarmed_by = 0;  // AdPart bits (tune/heads.h): the AD scores behind the alarm (each past its own
                                // threshold; with heads.ad_combine=evidence, those as rare as q alone, else the
                                // rarest)
};

struct Incident {
  TimeUs start = 0, end = 0;       // first alarmed window start .. last alarmed window end
  TimeUs onset = 0;                // decision time of the first alarm (its window end minus one stride)
  double peak_score = 0;
  int state = 0;                   // most frequent runtime state of its slices (main view)
  TriageVerdict fault_type;        // label "" when the model has no triage head
  std::vector<RankedCause> root_causes;  // best first, with evidence
  std::vector<size_t> slices;      // timeline positions of its alarmed slices
  bool open = false;               // online: alarms may still join it (always false offline)
  // per AD score ("event signals", "state embedding", "entity head", "most extreme KPI"): on how many of the
  // alarmed slices it passed its own threshold; tells an alarm with localisable evidence from one the embedding
  // alone raised
  std::vector<std::pair<std::string, int>> alarmed_by;
};

// "alarmed by the event signals (4 of 4 slices), the state embedding (1)"; "" when unknown.
std::string alarmed_by_text(const Incident& incident);

// The data's first slices, while its KPI series were still gathering a baseline (features.min_baseline past
// points; a newer series' z-score is 0): they were not judged on their metrics. Feed the slices in time order;
// the warm-up ends at the first slice where at least half of its series have a baseline. Slices without metrics
// do not count.
struct MetricWarmup {
  std::int64_t slices = 0;      // slices with metrics before the end of the warm-up
  TimeUs until = 0;             // start of the first slice judged on its metrics (when done())
  std::int32_t min_points = 0;  // features.min_baseline of the model
  bool ended = false;           // that slice has come (a slice may start at time 0: `until` cannot say it)
  void observe(const FeatureSlice& slice);
  bool done() const { return ended; }
};
// "the first 9 slices (those starting before 2024-01-02T00:10:00Z) were not judged on their metrics: ...";
// "" without a warm-up.
std::string warmup_text(const MetricWarmup& w);
// {"slices", "until" (Unix seconds, null while it has not come), "min_points"}
nlohmann::json to_json(const MetricWarmup& w);

struct DetectResult {
  std::string model, data, format;
  MetricWarmup warmup;
  std::vector<TimelinePoint> timeline;
  std::vector<Incident> incidents;
  std::vector<FaultEvent> labels;  // labels found in the data: shown beside the incidents, never used
  double stride_s = 60;
  std::int64_t rejected_records = 0;
  double seconds = 0;
};

// incidents.json: {"model", "data", "slices", "timeline": [...], "incidents": [...]} with times in Unix seconds.
nlohmann::json to_json(const DetectResult& r);
// One incident of incidents.json, and back (InvalidInput on a malformed object; "onset" and "slices" are read
// when present, as the serve store writes them).
nlohmann::json to_json(const Incident& incident);
nlohmann::json to_json(const TimelinePoint& point);  // one timeline entry of incidents.json
Incident incident_from_json(const nlohmann::json& j);
// A self-contained incidents.html (inline SVG and CSS, no scripts).
std::string render_incidents_html(const DetectResult& r);

class Pipeline {
 public:
  static std::unique_ptr<Pipeline> load(const std::string& model_dir);  // ModelError when it has no heads
  explicit Pipeline(std::unique_ptr<EmbeddingModel> model, std::string model_dir = "");

  // The dataset stage with the model's features (and the raw tables when observers are given).
  Dataset prepare(TelemetrySource& source, const ReadOptions& read, bool progress,
                  const std::vector<RecordObserver*>& observers = {}) const;
  // Runs the whole pipeline on a source without reading its labels.
  DetectResult detect(TelemetrySource& source, const DetectOptions& options = {}, bool progress = true) const;
  DetectResult detect(const std::string& path, const std::string& format = "auto", const ReadOptions& read = {},
                      const DetectOptions& options = {}, bool progress = true) const;

  const EmbeddingModel& model() const { return *model_; }

 private:
  std::unique_ptr<EmbeddingModel> model_;
  std::string model_dir_;
};

// The incident of a run of alarmed slices (timeline positions, time order): its times, peak score, runtime
// state (vote of `states`), and the heads' fault type and ranked root causes on its case part (the slices from
// the first alarm to the last that start before onset + case_tail_s). Offline detect and the online pipeline
// both build incidents here.
Incident build_incident(const std::vector<size_t>& run, const std::vector<TimelinePoint>& timeline,
                        const std::vector<int>& states, const FailureHeads& heads, const HeadInputs& in,
                        const DetectOptions& options, double stride_s);

// Entity names, kinds and services of a catalog, by Id.
EntityDirectory entity_directory(const Catalog& catalog);

// The zero-label root-cause ranking of a dataset (calibrated on all of it, label-free, and on `training`, a model's
// calibration rows of its training data, where given) with the heads' options. The AD event score uses it too: on
// the product path every modality a slice has is information (in eval, where the presence of a modality can mark
// the labelled faults, the AD event score is restricted to the AD view).
ZeroLabelRanker zero_label_ranker(const Dataset& d, const std::vector<SliceEmbedding>& embeddings,
                                  const HeadOptions& heads, const CalibrationArchive* training = nullptr);

}  // namespace rslicer
