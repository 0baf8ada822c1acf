#include "api/inspect.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <unordered_set>

#include "core/errors.h"

namespace rslicer {

InspectReport inspect_dataset(const InspectOptions& options) {
  auto source = open_source(options.data, options.format, options.read);
  InspectReport rep;
  rep.data = options.data;
  rep.format = source->format();
  rep.faults = source->faults();
  for (const auto& f : rep.faults) ++rep.faults_by_type[f.fault_type];

  DrainMiner miner(options.drain);
  std::unordered_set<Id> metric_entities, metric_kpis;
  std::unordered_set<std::string> trace_ids;
  bool first = true;
  auto seen_time = [&](TimeUs t) {
    if (first || t < rep.first_time) rep.first_time = t;
    if (first || t > rep.last_time) rep.last_time = t;
    first = false;
  };
  RecordHooks hooks;
  hooks.metric = [&](MetricPoint& m) {
    seen_time(m.time);
    metric_entities.insert(m.entity);
    metric_kpis.insert(m.kpi);
  };
  hooks.span = [&](Span& s) {
    seen_time(s.start);
    trace_ids.insert(s.trace_id);
  };
  hooks.log = [&](LogRecord& l) {
    seen_time(l.time);
    l.template_id = static_cast<Id>(miner.add(l.message));
  };
  auto sink = [&](Slice&& s) {
    for (int m = 0; m < kNumModalities; ++m)
      if (s.mask.has(static_cast<Modality>(m))) ++rep.slices_with[m];
  };
  // The hooks touch neither the catalog nor the stats, so parsing may run ahead on a second thread.
  SliceOptions slice_options = options.slice;
  slice_options.read_ahead = true;
  rep.slice_stats = slice_source(*source, slice_options, sink, hooks);
  rep.counts = source->counts();
  rep.parse = source->stats();
  rep.metric_entities = static_cast<std::int64_t>(metric_entities.size());
  rep.metric_kpis = static_cast<std::int64_t>(metric_kpis.size());
  rep.trace_ids = static_cast<std::int64_t>(trace_ids.size());
  rep.operations = static_cast<std::int64_t>(source->catalog().operations.size());
  const Catalog& cat_ = source->catalog();
  for (size_t i = 0; i < cat_.entities.size(); ++i) ++rep.entities_by_kind[entity_kind_name(cat_.entity_info[i].kind)];
  rep.templates = miner.templates();
  rep.template_count = static_cast<std::int64_t>(rep.templates.size());
  std::stable_sort(rep.templates.begin(), rep.templates.end(),
                   [](const LogTemplate& a, const LogTemplate& b) { return a.count > b.count; });
  return rep;
}

nlohmann::json inspect_to_json(const InspectReport& r) {
  nlohmann::json j;
  j["data"] = r.data;
  j["format"] = r.format;
  j["time_range"] = {{"first", r.first_time ? format_time(r.first_time) : ""},
                     {"last", r.last_time ? format_time(r.last_time) : ""}};
  j["entities"] = r.entities_by_kind;
  j["metrics"] = {{"points", r.counts.metric_points},
                  {"rows", r.counts.metric_rows},
                  {"non_finite_skipped", r.counts.metric_non_finite},
                  {"entities", r.metric_entities},
                  {"kpis", r.metric_kpis}};
  j["traces"] = {{"spans", r.counts.spans}, {"traces", r.trace_ids}, {"operations", r.operations}};
  nlohmann::json top = nlohmann::json::array();
  for (size_t i = 0; i < r.templates.size() && i < 20; ++i)
    top.push_back({{"id", r.templates[i].id}, {"count", r.templates[i].count}, {"template", r.templates[i].text()}});
  j["logs"] = {{"records", r.counts.log_records}, {"templates", r.template_count}, {"top_templates", top}};
  j["faults"] = static_cast<std::int64_t>(r.faults.size());
  j["faults_by_type"] = r.faults_by_type;
  nlohmann::json fl = nlohmann::json::array();
  for (const auto& f : r.faults)
    fl.push_back({{"start", format_time(f.start)}, {"end", format_time(f.end)}, {"level", f.level},
                  {"root_cause", f.root_cause}, {"fault_type", f.fault_type}});
  j["fault_list"] = fl;
  j["slices"] = r.slice_stats.slices;
  j["slicing"] = {{"empty_windows_skipped", r.slice_stats.empty_windows},
                  {"late_records", r.slice_stats.late_records},
                  {"duplicates_dropped", r.slice_stats.duplicates},
                  {"orphan_spans", r.slice_stats.orphan_spans},
                  {"slices_with_metrics", r.slices_with[0]},
                  {"slices_with_traces", r.slices_with[1]},
                  {"slices_with_logs", r.slices_with[2]}};
  j["rejected"] = {{"count", r.parse.rejected}, {"by_reason", r.parse.by_reason}, {"examples", r.parse.examples}};
  j["repaired"] = r.parse.repaired;
  j["slicing"]["late_examples"] = r.slice_stats.late_examples;
  j["files"] = {{"read", r.parse.files_read}, {"bytes", r.parse.bytes_read}, {"notes", r.parse.notes}};
  return j;
}

std::string inspect_to_text(const InspectReport& r, int top_templates) {
  std::string out;
  char buf[512];
  auto line = [&](const std::string& s) { out += s + "\n"; };
  line(cat("dataset   ", r.data, " (format ", r.format, ")"));
  line(cat("time      ", r.first_time ? format_time(r.first_time) : "-", " .. ",
           r.last_time ? format_time(r.last_time) : "-"));
  std::string ents;
  for (const auto& [k, v] : r.entities_by_kind) ents += cat(ents.empty() ? "" : ", ", v, " ", k, "s");
  line("entities  " + ents);
  std::snprintf(buf, sizeof buf, "metrics   %lld points in %lld rows, %lld entities x %lld KPIs (%lld NaN/inf skipped)",
                static_cast<long long>(r.counts.metric_points), static_cast<long long>(r.counts.metric_rows),
                static_cast<long long>(r.metric_entities), static_cast<long long>(r.metric_kpis),
                static_cast<long long>(r.counts.metric_non_finite));
  line(buf);
  line(cat("traces    ", r.counts.spans, " spans in ", r.trace_ids, " traces, ", r.operations, " operations"));
  line(cat("logs      ", r.counts.log_records, " records, ", r.template_count, " templates"));
  for (int i = 0; i < top_templates && i < static_cast<int>(r.templates.size()); ++i) {
    std::string t = r.templates[i].text();
    if (t.size() > 100) t = t.substr(0, 97) + "...";
    std::snprintf(buf, sizeof buf, "            %8lld  %s", static_cast<long long>(r.templates[i].count), t.c_str());
    line(buf);
  }
  std::string types;
  for (const auto& [k, v] : r.faults_by_type) types += cat(types.empty() ? "" : ", ", k, " ", v);
  line(cat("faults    ", r.faults.size(), types.empty() ? "" : " (" + types + ")"));
  line(cat("slices    ", r.slice_stats.slices, " (with metrics ", r.slices_with[0], ", traces ", r.slices_with[1],
           ", logs ", r.slices_with[2], "; ", r.slice_stats.empty_windows, " empty windows skipped)"));
  line(cat("dropped   ", r.slice_stats.duplicates, " duplicate records, ", r.slice_stats.late_records,
           " late records; ", r.slice_stats.orphan_spans, " spans whose parent is outside their slice"));
  for (const auto& e : r.slice_stats.late_examples) line("            late: " + e);
  for (const auto& [k, v] : r.parse.repaired) line(cat("repaired  ", v, " records (", k, ")"));
  line(cat("rejected  ", r.parse.rejected, " records"));
  for (const auto& e : r.parse.examples) line("            " + e);
  for (size_t i = 0; i < r.parse.notes.size() && i < 5; ++i) line("note      " + r.parse.notes[i]);
  if (r.parse.notes.size() > 5) line(cat("          (", r.parse.notes.size() - 5, " more notes in --json)"));
  return out;
}

}  // namespace rslicer
