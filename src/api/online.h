// The online pipeline: records in, decisions out, slice by slice, by the
// data's own time. `rslicer serve` feeds it OTLP requests; `rslicer detect
// --online` feeds it a recorded dataset through the same code, so a replay
// of recorded telemetry into the server gives the same slices, embeddings,
// alarms and incidents as `detect --online` on the files.
//
//   records --Drain--> slicer (a window closes when the newest record time
//   passes its end plus the allowed lateness) --> metric tokens, head pane
//   --> trace / log tokens once the window's panes are all known, against the
//   CAUSAL profile (the model's saved profile plus this stream's past panes
//   within the horizon) --> embeddings --> AD decision (SPOT thresholds
//   continue from the model's calibration) --> incidents.
//
// What differs from offline `detect` (which may look at the whole file):
//  - event profiles are causal (past only), never leave-the-window-out;
//  - the zero-label ranker is calibrated on the slices seen so far, refitted
//    as the history grows (every slice at first, then every `refit_slices`);
//    until a few slices exist its surprises are small, so the first minutes
//    of a stream rarely alarm on events;
//  - an incident's fault type and root causes are computed when it reaches
//    `min_incident_slices` alarms and recomputed while its case part
//    (onset + case_tail_s) grows, with the ranker of that moment;
//  - the raw evidence tables of the offline path (whole-file metric and trace
//    tables) are not kept: heads fitted with raw evidence features rank
//    without them (the zero-label head, the usual choice, never uses them).
// Memory: the slicer's open windows, the panes within the profile horizon,
// and per slice its compact features and embeddings (a few KB).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "api/pipeline.h"

namespace rslicer {

struct OnlineOptions {
  DetectOptions detect;             // incidents: gap, minimum slices, root causes reported
  double allowed_lateness_s = -1;   // < 0: the model's slicing option (allowed_lateness_s)
  std::int32_t refit_slices = 30;   // the ranker's calibration is refitted at least this often (slices)
  // Bounded memory for a server that runs for weeks: slices older than this many decided slices (and not part of
  // the current alarm run) keep only their timeline point and state embedding; their tokens, event deviations and
  // per-entity embeddings are released after their calibration rows go to the ranker's archive (which thins
  // itself beyond ZeroLabelOptions::max_calibration_rows). <= 0: keep everything.
  std::int32_t calibration_slices = 1440;  // one day at the default 60 s stride
};

// What the online pipeline did, for /api/stats and the CLI.
struct OnlineCounters {
  std::int64_t records = 0;         // records pushed (duplicates included)
  std::int64_t slices = 0;          // slices decided
  std::int64_t pending_slices = 0;  // slices cut, waiting for later panes before their tokens are final
  std::int64_t alarms = 0;
  std::int64_t ranker_fits = 0;
  std::int64_t released_slices = 0; // decided slices whose tokens and embeddings were released (calibration_slices)
  std::int64_t prior_held_slices = 0;  // slices of the model's training period, which its saved event profile holds
                                       // already: compared with this stream's past alone
  std::int64_t resumed_slices = 0;  // decided before a restart (restore())
  std::int64_t resumed_skipped = 0; // slices cut again for windows decided before the restart
  std::int64_t knn_references_added = 0;  // normal references the AD kNN took from this stream (heads.ad.online)
  TimeUs watermark = 0;             // newest record time the slicer kept (0: none): what closes windows
  TimeUs last_decided = 0;          // end of the newest decided slice (0: none)
  SliceStats slicer;                // late records, duplicates, empty windows
};

// What a restart needs to resume (rslicer serve --store): the decisions made before it and the learned state.
struct OnlineCheckpoint {
  std::vector<TimelinePoint> timeline;  // decided slices, time order
  std::vector<Incident> incidents;      // reported incidents (closed on restore: their runs cannot continue)
  nlohmann::json state;                 // learned state (state()): the stream's causal profile, the AD thresholds
};

class OnlineDetector {
 public:
  // `catalog`: the catalog the pushed records' ids refer to; it may grow between pushes.
  OnlineDetector(const Pipeline& pipeline, const Catalog& catalog, OnlineOptions options = {});
  ~OnlineDetector();
  OnlineDetector(const OnlineDetector&) = delete;
  OnlineDetector& operator=(const OnlineDetector&) = delete;

  // Records in arrival order (within a modality); closes every window the data's time allows and decides it.
  void push(RecordBatch& batch);
  // End of the stream: closes and decides every open window, closes the open incident.
  void finish();

  // Decisions so far, as `detect` reports them (an incident still growing has open = true).
  DetectResult result() const;
  // The timeline position of the first slice decided by the last push() / finish() (timeline().size() when none).
  size_t first_new() const { return first_new_; }
  const std::vector<TimelinePoint>& timeline() const;
  // Slices decided and incidents reported in all, a restored checkpoint included (cheap; result() copies).
  size_t decided() const;
  size_t reported() const;
  const std::vector<Incident>& incidents() const;
  OnlineCounters counters() const;

  // The learned state: {"profile": the causal profile of the panes within the horizon, "spot", "event_spot",
  // "entity_spot", "kpi_spot", "evidence_spot": the AD thresholds as they adapted, "knn": the references the AD kNN
  // took from the stream}.
  nlohmann::json state() const;
  // Resumes after a restart, before the first push(): the checkpoint's decisions come first in result() and
  // timeline(); its profile joins the model's as a prior; the AD thresholds continue. Slices that start no later
  // than the last restored one (data an exporter sends again) are counted in `resumed_skipped`, not decided twice.
  void restore(const OnlineCheckpoint& checkpoint);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  size_t first_new_ = 0;
};

// `rslicer detect --online`: a recorded source through the online pipeline, as `serve` would see it replayed.
// The source's labels are returned for display only.
DetectResult detect_online(const Pipeline& pipeline, TelemetrySource& source, const OnlineOptions& options = {},
                           bool progress = true);

}  // namespace rslicer
