// The dataset stage: ONE pass over a TelemetrySource (files, the simulator,
// later a live stream) that mines log templates (logparse/), cuts runtime
// slices (slice/) and featurises them (features/, and the serialised texts of
// the qwen3 route), keeping only the compact FeatureSlices: raw slices are
// dropped as soon as they are featurised, so memory is bounded by the
// slicer's window plus the FeatureSlices. Callers that need raw tables (the
// baselines, the root-cause evidence) pass RecordObservers that see every
// record once, in the same pass. `inspect`, `train`, `embed`, `eval` and
// `detect` all prepare data here. No libtorch.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/parse_stats.h"
#include "features/features.h"
#include "ingest/source.h"
#include "logparse/drain.h"
#include "slice/slice.h"
#include "telemetry/record.h"

namespace rslicer {

struct PrepareOptions {
  ReadOptions read;                       // reader options (--strict, modalities)
  SliceOptions slice;                     // window length / stride
  FeatureOptions features;                // used when `initial_features` is null
  DrainOptions drain;                     // template miner, used when `initial_drain` is null
  const FeatureState* initial_features = nullptr;  // a model's feature state (KPI slots, options); copied, then frozen
  const nlohmann::json* initial_drain = nullptr;   // a model's saved Drain state: mining continues from its templates
  const EventProfile* prior_profile = nullptr;     // a model's saved normal profile, added to this data's own
  bool progress = true;                   // progress bar on stderr
  bool serialize_texts = false;           // also fill FeatureSlice::texts (input of the qwen3 backbone)
  bool features_enabled = true;           // false: slice and count only (inspect), no FeatureSlices kept
};

// What the pass saw, beside the slices.
struct Dataset {
  std::string path;                       // dataset path as given ("simulator" for a simulated source)
  std::string format;                     // detected or given format
  Catalog catalog;                        // names of entities, KPIs, operations
  std::vector<FaultEvent> faults;         // labels, sorted by start; FeatureSlice::faults index into it
  std::vector<FeatureSlice> slices;       // in time order
  FeatureState features;                  // extractor state after the pass (KPI slots, key names)
  EventProfile profile;                   // the event profile of this data's panes (label-free; a model saves it)
  EdgeSparsity edge_sparsity;             // measured when features.events.min_window_samples was -1 (rows 0: not)
  std::vector<std::vector<EventDeviation>> deviations;  // per slice: the event deviations behind its trace and
                                                        // log tokens (unsquashed numbers, for rules and evidence)
  std::unordered_map<std::uint64_t, std::string> event_names;  // event and log-step keys -> names
  nlohmann::json drain_state;             // Drain miner state after the pass (saved with a model)
  std::vector<LogTemplate> templates;     // the mined templates (id order) with their counts
  ParseStats parse_stats;                 // rejected records
  ReadCounts counts;                      // what was read
  SliceStats slice_stats;                 // what the slicer did
  std::int64_t slices_with[kNumModalities] = {0, 0, 0};  // slices holding each modality
  std::int64_t metric_entities = 0, metric_kpis = 0;    // distinct entities / KPIs with metric points
  std::int64_t trace_ids = 0;             // distinct trace ids
  // Services that client spans name as their callee (Span::peer) but that have no span of their own (a
  // database, an uninstrumented service): name and client span count, most called first.
  std::vector<std::pair<std::string, std::int64_t>> untraced_callees;
  TimeUs first_time = 0, last_time = 0;   // earliest and latest record time (0 when none)
  double seconds = 0;                     // wall time of the pass

  // The template text of an id ("template N" when unknown).
  std::string template_text(Id id) const;
};

// Template id -> text for feature token names, cached per id: the miner
// generalises a template as it absorbs lines, and a token's name must not
// change under a key once used.
class TemplateNames {
 public:
  explicit TemplateNames(const DrainMiner& miner) : miner_(miner) {}
  std::string operator()(Id id);

 private:
  const DrainMiner& miner_;
  std::vector<std::string> cache_;
};

// Reads `source` end to end once. Every observer sees every record before it
// is sliced (metric points, spans and log lines, with the source's catalog at
// that moment) and finish() at the end.
Dataset prepare(TelemetrySource& source, const PrepareOptions& options,
                const std::vector<RecordObserver*>& observers = {});

// Opens `path` (format "" or "auto" = detect) and prepares it.
Dataset prepare(const std::string& path, const std::string& format, const PrepareOptions& options,
                const std::vector<RecordObserver*>& observers = {});

// Prepares a simulation (src/sim) with the SimConfig fields in `sim_config`
// (a JSON object; {} or null = defaults) straight from the simulator's
// stream, no files involved.
Dataset prepare_simulated(const nlohmann::json& sim_config, const PrepareOptions& options,
                          const std::vector<RecordObserver*>& observers = {});

}  // namespace rslicer
