// incidents.html: what `rslicer detect` found, readable without any tool.
#include <algorithm>
#include <sstream>

#include "api/html.h"
#include "api/pipeline.h"

namespace rslicer {

namespace {

using html::esc;
using html::num;

// Labels overlapping [a, b) (shown beside an incident, never used by it).
std::vector<const FaultEvent*> labels_in(const std::vector<FaultEvent>& labels, TimeUs a, TimeUs b) {
  std::vector<const FaultEvent*> out;
  for (const auto& f : labels)
    if (f.start < b && f.end > a) out.push_back(&f);
  return out;
}

}  // namespace

std::string render_incidents_html(const DetectResult& r) {
  std::ostringstream h;
  h << "<!DOCTYPE html><html><head><meta charset='utf-8'><title>RuntimeSlicer incidents</title><style>"
       "body{font-family:sans-serif;margin:20px;color:#222;max-width:1200px}"
       "table{border-collapse:collapse;margin:8px 0;font-size:13px}"
       "td,th{border:1px solid #ccc;padding:4px 7px;text-align:left;vertical-align:top}th{background:#f0f0f0}"
       "h2{border-bottom:1px solid #ccc;margin-top:28px}.note{color:#555;font-size:13px}"
       ".incident{border:1px solid #ccc;border-radius:4px;padding:8px 12px;margin:14px 0}"
       ".incident h3{margin:4px 0 8px 0}.evidence{margin:2px 0 0 0;padding-left:18px;color:#333}"
       ".label{background:#fff3e0;border-left:3px solid #e6550d;padding:4px 8px;margin:6px 0;font-size:13px}"
       ".hit{font-weight:bold}</style></head><body>";
  h << "<h1>RuntimeSlicer incidents</h1>";
  TimeUs first = r.timeline.empty() ? 0 : r.timeline.front().start;
  TimeUs last = r.timeline.empty() ? 0 : r.timeline.back().end;
  size_t alarms = 0;
  for (const auto& p : r.timeline) alarms += p.alarm;
  h << "<p class='note'>Model <b>" << esc(r.model) << "</b>, data <b>" << esc(r.data) << "</b> (format "
    << esc(r.format) << "): " << r.timeline.size() << " slices";
  if (!r.timeline.empty()) h << " from " << format_time(first) << " to " << format_time(last);
  h << ", " << alarms << " alarmed, <b>" << r.incidents.size() << " incident" << (r.incidents.size() == 1 ? "" : "s")
    << "</b>";
  if (r.rejected_records) h << "; " << r.rejected_records << " malformed records were skipped (see rslicer inspect)";
  h << ".</p>";
  if (const std::string w = warmup_text(r.warmup); !w.empty())
    h << "<p class='note'>Metric warm-up: " << esc(w) << " (marked on the timeline).</p>";
  h << "<p class='note'>An incident is a run of alarmed slices whose decision times lie at most the configured gap "
       "apart, split (unless turned off) where another entity tops the ranking of as many consecutive slices as an "
       "incident needs (so back-to-back faults get one incident each). Root causes are ranked by the model's heads "
       "from this data alone; the sentences under each entity are the deviations that ranked it, each with its "
       "surprise: -log10 of the share of the (slice, entity) values seen, this data's and the model's training data's, "
       "at least as large (3: one in a thousand). "
       "An entity's score is its largest surprise, the KPIs' less log10 of the number of KPI slots (so many KPIs "
       "do not make one of them rare by chance). "
    << (r.labels.empty() ? std::string("The data has no fault labels.")
                         : "Fault labels found in the data are shown beside the incidents for comparison; the "
                           "pipeline never read them.")
    << "</p>";

  h << "<h2>Timeline</h2>";
  std::vector<html::TimelineRow> rows;
  const TimeUs stride = static_cast<TimeUs>(r.stride_s * kUsPerSecond);
  for (const auto& p : r.timeline) {
    bool truth = !labels_in(r.labels, p.start, p.end).empty();
    rows.push_back({p.end - stride, p.score, p.threshold, p.alarm, truth, p.state});
  }
  std::vector<html::TimelineMark> marks;
  for (const auto& f : r.labels) marks.push_back({f.start, "label: " + f.fault_type + " " + f.root_cause, "#e6550d"});
  // the warm-up's end at the first judged slice's decision time, where the timeline draws it
  if (r.warmup.slices > 0 && r.warmup.done()) {
    const auto judged = std::find_if(r.timeline.begin(), r.timeline.end(),
                                     [&](const TimelinePoint& p) { return p.start >= r.warmup.until; });
    if (judged != r.timeline.end()) marks.push_back({judged->end - stride, "metric baselines ready", "#888888"});
  }
  for (size_t i = 0; i < r.incidents.size(); ++i)
    marks.push_back({r.incidents[i].onset, "incident " + std::to_string(i + 1), "#6a3d9a"});
  h << html::timeline_svg(rows, marks, r.stride_s);

  h << "<h2>Incidents</h2>";
  if (r.incidents.empty()) h << "<p>No incident: no run of alarms long enough was found.</p>";
  for (size_t i = 0; i < r.incidents.size(); ++i) {
    const Incident& inc = r.incidents[i];
    h << "<div class='incident' id='incident-" << i + 1 << "'><h3>Incident " << i + 1 << ": " << format_time(inc.start)
      << " .. " << format_time(inc.end) << "</h3>";
    h << "<p class='note'>first alarm at " << format_time(inc.onset) << ", " << inc.slices.size()
      << " alarmed slices, peak score " << num(inc.peak_score, 2) << ", runtime state " << inc.state << "; fault type: <b>"
      << (inc.fault_type.label.empty() ? std::string("unknown (the model was trained without labels)")
                                       : esc(inc.fault_type.label) + "</b> (confidence " +
                                             num(inc.fault_type.confidence, 2) + ")<b>")
      << "</b>" << (inc.alarmed_by.empty() ? "" : "; " + esc(alarmed_by_text(inc))) << "</p>";
    const auto overlapping = labels_in(r.labels, inc.start, inc.end);
    for (const auto* f : overlapping)
      h << "<div class='label'>label in the data (not used): <b>" << esc(f->fault_type) << "</b> on <b>"
        << esc(f->root_cause) << "</b> from " << format_time(f->start) << "</div>";
    h << "<table><tr><th>#</th><th>entity</th><th>score</th><th>evidence</th></tr>";
    for (size_t k = 0; k < inc.root_causes.size(); ++k) {
      const auto& c = inc.root_causes[k];
      bool hit = std::any_of(overlapping.begin(), overlapping.end(),
                             [&](const FaultEvent* f) { return f->root_cause == c.entity; });
      h << "<tr><td>" << k + 1 << "</td><td" << (hit ? " class='hit'" : "") << ">" << esc(c.entity)
        << (hit ? " (labelled)" : "") << "</td><td>" << num(c.score, 2) << "</td><td><ul class='evidence'>";
      for (const auto& e : c.evidence) h << "<li>" << esc(e) << "</li>";
      h << "</ul></td></tr>";
    }
    h << "</table></div>";
  }
  if (!r.labels.empty()) {
    h << "<h2>Labels in the data (not used)</h2><table><tr><th>start</th><th>fault type</th><th>root cause</th>"
         "<th>covered by incident</th></tr>";
    for (const auto& f : r.labels) {
      std::string covered = "-";
      for (size_t i = 0; i < r.incidents.size(); ++i)
        if (r.incidents[i].start < f.end && r.incidents[i].end > f.start) covered = std::to_string(i + 1);
      h << "<tr><td>" << format_time(f.start) << "</td><td>" << esc(f.fault_type) << "</td><td>" << esc(f.root_cause)
        << "</td><td>" << covered << "</td></tr>";
    }
    h << "</table>";
  }
  h << "</body></html>\n";
  return h.str();
}

}  // namespace rslicer
