#include "api/inspect.h"

#include <algorithm>
#include <cstdio>

#include "core/errors.h"
#include "dataset/dataset.h"

namespace rslicer {

InspectReport inspect_dataset(const InspectOptions& options) {
  PrepareOptions prep;
  prep.read = options.read;
  prep.slice = options.slice;
  prep.drain = options.drain;
  prep.features_enabled = false;  // inspect counts; it keeps no slices
  prep.progress = false;
  Dataset d = prepare(options.data, options.format, prep);
  InspectReport rep;
  rep.data = options.data;
  rep.format = d.format;
  rep.faults = d.faults;
  for (const auto& f : rep.faults) ++rep.faults_by_type[f.fault_type.empty() ? "(no fault type)" : f.fault_type];
  rep.first_time = d.first_time;
  rep.last_time = d.last_time;
  rep.slice_stats = d.slice_stats;
  for (int m = 0; m < kNumModalities; ++m) rep.slices_with[m] = d.slices_with[m];
  rep.counts = d.counts;
  rep.parse = d.parse_stats;
  rep.metric_entities = d.metric_entities;
  rep.metric_kpis = d.metric_kpis;
  rep.trace_ids = d.trace_ids;
  rep.untraced_callees = d.untraced_callees;
  rep.operations = static_cast<std::int64_t>(d.catalog.operations.size());
  for (size_t i = 0; i < d.catalog.entities.size(); ++i) ++rep.entities_by_kind[entity_kind_name(d.catalog.entity_info[i].kind)];
  rep.templates = d.templates;
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
  nlohmann::json callees = nlohmann::json::array();
  for (const auto& [name, n] : r.untraced_callees) callees.push_back({{"name", name}, {"client_spans", n}});
  j["traces"] = {{"spans", r.counts.spans},
                 {"traces", r.trace_ids},
                 {"operations", r.operations},
                 {"untraced_callees", callees}};
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
                  {"edge_windows_skipped", r.slice_stats.edge_windows},
                  {"late_records", r.slice_stats.late_records},
                  {"duplicates_dropped", r.slice_stats.duplicates},
                  {"conflicting_values", r.slice_stats.conflicts},
                  {"clock_outliers", r.slice_stats.clock_outliers},
                  {"time_jumps", r.slice_stats.time_jumps},
                  {"orphan_spans", r.slice_stats.orphan_spans},
                  {"slices_with_metrics", r.slices_with[0]},
                  {"slices_with_traces", r.slices_with[1]},
                  {"slices_with_logs", r.slices_with[2]}};
  j["rejected"] = {{"count", r.parse.rejected}, {"by_reason", r.parse.by_reason}, {"examples", r.parse.examples}};
  j["repaired"] = r.parse.repaired;
  j["slicing"]["late_examples"] = r.slice_stats.late_examples;
  j["slicing"]["clock_outlier_examples"] = r.slice_stats.outlier_examples;
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
  if (!r.untraced_callees.empty()) {
    std::string list;
    for (size_t i = 0; i < r.untraced_callees.size() && i < 8; ++i)
      list += cat(i ? ", " : "", r.untraced_callees[i].first, " (", r.untraced_callees[i].second, ")");
    if (r.untraced_callees.size() > 8) list += cat(", and ", r.untraced_callees.size() - 8, " more");
    line(cat("            called without spans of their own (named by client spans): ", list));
  }
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
           ", logs ", r.slices_with[2], "; ", r.slice_stats.empty_windows, " empty windows skipped, ",
           r.slice_stats.edge_windows, " partial windows at the data's edges skipped)"));
  line(cat("dropped   ", r.slice_stats.duplicates, " duplicate records (", r.slice_stats.conflicts,
           " of them metric points with another value than the first at the same time), ", r.slice_stats.late_records,
           " late records, ", r.slice_stats.clock_outliers, " clock outliers; ", r.slice_stats.orphan_spans,
           " spans whose parent is outside their slice"));
  for (const auto& e : r.slice_stats.late_examples) line("            late: " + e);
  for (const auto& e : r.slice_stats.outlier_examples) line("            clock outlier: " + e);
  for (const auto& [k, v] : r.parse.repaired) line(cat("repaired  ", v, " records (", k, ")"));
  line(cat("rejected  ", r.parse.rejected, " records"));
  for (const auto& e : r.parse.examples) line("            " + e);
  for (size_t i = 0; i < r.parse.notes.size() && i < 5; ++i) line("note      " + r.parse.notes[i]);
  if (r.parse.notes.size() > 5) line(cat("          (", r.parse.notes.size() - 5, " more notes in --json)"));
  return out;
}

}  // namespace rslicer
