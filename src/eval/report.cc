#include "eval/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include "api/html.h"
#include "core/csv.h"
#include "core/errors.h"

namespace rslicer::eval {
namespace {

using html::esc;
using html::num;
using Json = nlohmann::json;

std::string color_for(const std::string& label, std::map<std::string, std::string>& colors) {
  if (label == "normal") return "#c8c8c8";
  auto it = colors.find(label);
  if (it != colors.end()) return it->second;
  std::string c = html::palette(colors.size());
  colors[label] = c;
  return c;
}

std::string row_name(const MethodScores& s) {
  if (s.family == "ours") return s.name + " (ours)";
  if (s.family == "ablation") return s.name + " (ablation)";
  return s.name;
}

// What each part of the AD score ranks on its own, for ours and raw_backbone ("rslicer: embedding 0.73, events
// 0.93; raw_backbone: ..."; empty without parts): the embedding's part is the one the encoder (and its training)
// changes, so the two side by side show what training did for AD.
std::string part_auroc_text(const EvalResult& r) {
  std::string parts;
  for (const char* name : {"rslicer", "raw_backbone"})
    if (const MethodScores* m = r.find(name); m && m->ad && !m->ad->part_auroc.empty()) {
      std::string list;
      for (const char* key : kAdPartKeys)
        if (auto it = m->ad->part_auroc.find(key); it != m->ad->part_auroc.end())
          list += (list.empty() ? "" : ", ") + std::string(key) + " " + num(it->second);
      parts += (parts.empty() ? "" : "; ") + std::string(name) + ": " + list;
    }
  return parts;
}

std::string results_html(const EvalResult& r) {
  std::ostringstream h;
  h << "<table><tr><th rowspan=2>method</th><th colspan=3>AD event (published)</th><th colspan=3>AD point-wise</th>"
       "<th rowspan=2>time in alarm</th><th rowspan=2>false alarms / day</th><th rowspan=2>AD AUROC</th>"
       "<th colspan=3>FT weighted</th>"
       "<th colspan=4>RCL (exact entity)</th></tr><tr><th>P</th><th>R</th><th>F1</th><th>P</th><th>R</th><th>F1</th>"
       "<th>P</th><th>R</th><th>F1</th><th>AC@1</th><th>AC@3</th><th>AC@5</th><th>Avg@5</th></tr>";
  for (const auto& s : r.scores) {
    h << "<tr><td>" << esc(row_name(s)) << "</td>";
    if (s.ad) {
      for (double v : {s.ad->event.prf.precision, s.ad->event.prf.recall, s.ad->event.prf.f1}) h << "<td>" << num(v) << "</td>";
      for (double v : {s.ad->point.prf.precision, s.ad->point.prf.recall, s.ad->point.prf.f1}) h << "<td>" << num(v) << "</td>";
      h << "<td>" << num(s.ad->point.alarm_time_fraction) << "</td><td>" << num(s.ad->point.false_alarms_per_day, 1)
        << "</td><td>" << (std::isfinite(s.ad->auroc) ? num(s.ad->auroc) : std::string()) << "</td>";
    } else {
      h << "<td></td><td></td><td></td><td></td><td></td><td></td><td></td><td></td><td></td>";
    }
    if (s.ft) {
      for (double v : {s.ft->precision, s.ft->recall, s.ft->f1}) h << "<td>" << num(v) << "</td>";
    } else {
      h << "<td></td><td></td><td></td>";
    }
    if (s.rcl) {
      for (double v : {s.rcl->exact.ac[1], s.rcl->exact.ac[3], s.rcl->exact.ac[5], s.rcl->exact.avg5})
        h << "<td>" << num(v) << "</td>";
    } else {
      h << "<td></td><td></td><td></td><td></td>";
    }
    h << "</tr>";
  }
  h << "</table>";
  if (const MethodScores* ours = r.find("rslicer")) {
    h << "<p>95 % bootstrap intervals of our method: ";
    for (auto& [k, v] : ours->ci95) h << "<b>" << esc(k) << "</b> [" << num(v.low) << ", " << num(v.high) << "] &nbsp; ";
    h << "</p>";
  }
  if (const std::string parts = part_auroc_text(r); !parts.empty())
    h << "<p>Each part of the AD score alone, AUROC over the test slices (the embedding's part is the one training "
         "changes; the parts' scores are in ad_points.csv): "
      << esc(parts) << ".</p>";
  return h.str();
}

std::string per_type_html(const EvalResult& r) {
  std::set<std::string> types;
  for (const auto& s : r.scores) {
    if (s.rcl)
      for (auto& [t, v] : s.rcl->by_type) types.insert(t);
    if (s.ad)
      for (auto& [t, v] : s.ad->event_recall_by_type) types.insert(t);
  }
  std::ostringstream h;
  h << "<table><tr><th>method</th><th>metric</th>";
  for (auto& t : types) h << "<th>" << esc(t) << "</th>";
  h << "</tr>";
  for (const auto& s : r.scores) {
    auto line = [&](const std::string& label, const std::function<std::string(const std::string&)>& cell) {
      h << "<tr><td>" << esc(row_name(s)) << "</td><td>" << esc(label) << "</td>";
      for (auto& t : types) h << "<td>" << cell(t) << "</td>";
      h << "</tr>";
    };
    auto from = [](const std::map<std::string, double>& m, const std::string& t) {
      auto it = m.find(t);
      return it == m.end() ? std::string() : num(it->second);
    };
    if (s.ad) {
      line("AD event recall", [&](const std::string& t) { return from(s.ad->event_recall_by_type, t); });
      line("AD point recall", [&](const std::string& t) { return from(s.ad->point_recall_by_type, t); });
    }
    if (s.ft)
      line("FT F1", [&](const std::string& t) {
        auto it = s.ft->per_class.find(t);
        return it == s.ft->per_class.end() ? std::string() : num(it->second.f1);
      });
    if (s.rcl)
      for (int k : {1, 3})
        line("RCL AC@" + std::to_string(k), [&](const std::string& t) {
          auto it = s.rcl->by_type.find(t);
          return it == s.rcl->by_type.end() ? std::string() : num(it->second.first.ac[k]);
        });
  }
  h << "</table>";
  return h.str();
}

std::string timeline_html(const MethodResult& run, const EvalResult& r) {
  std::vector<html::TimelineRow> rows;
  const AdRun& ad = *run.ad;
  for (size_t k = 0; k < ad.points.size(); ++k)
    rows.push_back({ad.points[k].time, ad.scores[k], ad.thresholds[k], ad.points[k].alarm, ad.points[k].truth,
                    ad.states[k]});
  std::vector<html::TimelineMark> marks;
  for (size_t c : r.test_cases)
    marks.push_back({r.faults[c].start, r.faults[c].fault_type + " " + r.faults[c].root_cause, "#e6550d"});
  return html::timeline_svg(rows, marks, r.stride_s);
}

std::string projection_svg(const std::string& title, const std::vector<ProjectionPoint>& pts) {
  std::ostringstream h;
  const double W = 520, H = 440, pad = 30;
  float xmin = 1e30f, xmax = -1e30f, ymin = 1e30f, ymax = -1e30f;
  for (auto& p : pts) {
    xmin = std::min(xmin, p.x);
    xmax = std::max(xmax, p.x);
    ymin = std::min(ymin, p.y);
    ymax = std::max(ymax, p.y);
  }
  if (pts.empty() || xmax <= xmin) xmax = xmin + 1;
  if (pts.empty() || ymax <= ymin) ymax = ymin + 1;
  std::map<std::string, std::string> colors;
  h << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H << "'><rect width='" << W
    << "' height='" << H << "' fill='#fff' stroke='#ddd'/><text x='8' y='16' font-size='12' font-family='sans-serif'>"
    << esc(title) << "</text>";
  for (int pass = 0; pass < 2; ++pass)  // normals first so faults draw on top
    for (auto& p : pts) {
      bool normal = p.label == "normal";
      if ((pass == 0) != normal) continue;
      double x = pad + (W - 2 * pad) * (p.x - xmin) / (xmax - xmin);
      double y = H - pad - (H - 2 * pad) * (p.y - ymin) / (ymax - ymin);
      h << "<circle cx='" << num(x, 1) << "' cy='" << num(y, 1) << "' r='" << (normal ? 2 : 3.5) << "' fill='"
        << color_for(p.label, colors) << "' fill-opacity='" << (normal ? 0.5 : 0.9) << "'"
        << (p.test ? " stroke='#000' stroke-width='0.6'" : "") << "/>";
    }
  double ly = 34;
  std::vector<std::pair<std::string, std::string>> legend(colors.begin(), colors.end());
  legend.insert(legend.begin(), {"normal", "#c8c8c8"});
  for (auto& [l, c] : legend) {
    h << "<circle cx='" << W - 130 << "' cy='" << ly - 4 << "' r='4' fill='" << c << "'/><text x='" << W - 120
      << "' y='" << ly << "' font-size='11' font-family='sans-serif'>" << esc(l) << "</text>";
    ly += 15;
  }
  h << "</svg>";
  return h.str();
}

std::string confusion_svg(const TriageResult& ft) {
  const auto& labels = ft.labels;
  const auto& conf = ft.confusion;
  const double cell = 56, left = 130, top = 110;
  double W = left + cell * labels.size() + 20, H = top + cell * labels.size() + 20;
  std::int64_t maxv = 1;
  for (auto& row : conf)
    for (auto v : row) maxv = std::max(maxv, v);
  std::ostringstream h;
  h << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H << "'><rect width='" << W
    << "' height='" << H
    << "' fill='#fff'/><text x='4' y='14' font-size='11' font-family='sans-serif'>rows: true fault type; columns: "
       "predicted</text>";
  for (size_t i = 0; i < labels.size(); ++i) {
    h << "<text x='4' y='" << top + cell * i + cell / 2 + 4 << "' font-size='11' font-family='sans-serif'>"
      << esc(labels[i]) << "</text>";
    h << "<text transform='translate(" << left + cell * i + cell / 2 << "," << top - 6
      << ") rotate(-45)' font-size='11' font-family='sans-serif'>" << esc(labels[i]) << "</text>";
    for (size_t j = 0; j < labels.size(); ++j) {
      double a = static_cast<double>(conf[i][j]) / maxv;
      int shade = static_cast<int>(255 - 180 * a);
      char col[16];
      std::snprintf(col, sizeof col, "#%02x%02xff", shade, shade);
      h << "<rect x='" << left + cell * j << "' y='" << top + cell * i << "' width='" << cell - 2 << "' height='"
        << cell - 2 << "' fill='" << col << "'/><text x='" << left + cell * j + cell / 2 - 6 << "' y='"
        << top + cell * i + cell / 2 + 4 << "' font-size='13' font-family='sans-serif'>" << conf[i][j] << "</text>";
    }
  }
  h << "</svg>";
  return h.str();
}

const MethodResult* run_named(const EvalResult& r, const std::string& name) {
  for (const auto& run : r.runs)
    if (run.name == name) return &run;
  return nullptr;
}

std::string rankings_html(const EvalResult& r) {
  const MethodResult* ours = run_named(r, "rslicer");
  const MethodResult* baro = run_named(r, "baro");
  if (!ours || !ours->rcl) return "<p>(no root cause localisation)</p>";
  const RclRun& rc = *ours->rcl;
  std::ostringstream h;
  h << "<table><tr><th>case (UTC)</th><th>fault type</th><th>root cause</th><th>rank (ours)</th>"
       "<th>top 3 (ours; score; evidence)</th><th>rank (BARO)</th></tr>";
  for (size_t c = 0; c < rc.cases.size(); ++c) {
    const FaultEvent& f = r.faults[rc.cases[c]];
    h << "<tr><td>" << format_time(f.start) << "</td><td>" << esc(f.fault_type) << "</td><td>" << esc(f.root_cause)
      << "</td><td>" << (rc.rank_exact[c] ? std::to_string(rc.rank_exact[c]) : "-") << "</td><td>";
    for (size_t k = 0; k < rc.rankings[c].size() && k < 3; ++k) {
      const auto& e = rc.rankings[c][k];
      bool hit = e.entity == f.root_cause;
      h << (hit ? "<b>" : "") << esc(e.entity) << " (" << num(e.score, 2) << ")" << (hit ? "</b>" : "");
      if (!e.evidence.empty()) {
        h << "<ul style='margin:0;padding-left:16px;font-size:12px;text-align:left'>";
        for (const auto& s : e.evidence) h << "<li>" << esc(s) << "</li>";
        h << "</ul>";
      } else {
        h << "<br>";
      }
    }
    h << "</td><td>";
    if (baro && baro->rcl && c < baro->rcl->rank_exact.size())
      h << (baro->rcl->rank_exact[c] ? std::to_string(baro->rcl->rank_exact[c]) : "-");
    h << "</td></tr>";
  }
  h << "</table>";
  return h.str();
}

}  // namespace

std::string render_html(const EvalResult& r) {
  std::ostringstream h;
  h << "<!DOCTYPE html><html><head><meta charset='utf-8'><title>RuntimeSlicer evaluation report</title><style>"
       "body{font-family:sans-serif;margin:20px;color:#222;max-width:1200px}table{border-collapse:collapse;margin:8px "
       "0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:first-child,th:first-child{"
       "text-align:left}th{background:#f0f0f0}h2{border-bottom:1px solid #ccc;margin-top:28px}pre{background:#f7f7f7;"
       "padding:8px;font-size:11px;overflow:auto;max-height:400px}.note{color:#555;font-size:13px}</style></head><body>";
  h << "<h1>RuntimeSlicer evaluation report</h1>";
  h << "<p class='note'>Data: <b>" << esc(r.config.value("data", "")) << "</b> (format "
    << esc(r.config.value("format", "")) << "). Split: <b>" << esc(r.split.kind) << "</b>; cases: "
    << r.train_cases.size() << " train, " << r.test_cases.size() << " test.</p>";
  h << "<p class='note'>" << esc(r.split.description) << "</p>";
  h << "<h2>Results</h2>" << results_html(r);
  h << "<p class='note'>AD event (published protocol): alarm minutes inside the test case windows [t-59 s, t+300 s) "
       "merged into intervals (gap &lt; 600 s, single points dropped); a case is hit when an interval overlaps "
       "[t-300 s, t+300 s]. AD point-wise (honest): every test slice is a decision; truth = the slice overlaps a "
       "labelled fault. RCL uses exact entity matching (no substring matching). The always_anomalous row is the "
       "sanity check for the event-level metric. Anomaly detection view: "
    << esc(r.ad_view) << ".</p>";
  h << "<h2>Per fault type</h2>" << per_type_html(r);
  if (const MethodResult* ours = run_named(r, "rslicer"); ours && ours->ad && !ours->ad->points.empty())
    h << "<h2>State timeline (ours, test part)</h2>" << timeline_html(*ours, r);
  h << "<h2>Embedding projection (PCA, training + test slices; black outline = test)</h2>";
  for (auto& [name, pts] : r.projection) h << projection_svg(name, pts) << " ";
  const MethodScores* ours = r.find("rslicer");
  h << "<h2>Triage confusion matrix (ours)</h2>"
    << (ours && ours->ft ? confusion_svg(*ours->ft) : std::string("<p>(no triage: the training part has no labelled "
                                                                  "case)</p>"));
  h << "<h2>Root cause rankings per test case</h2>" << rankings_html(r);
  h << "<h2>Split</h2><pre>" << esc(r.metrics.contains("split") ? r.metrics["split"].dump(1) : "{}") << "</pre>";
  h << "<h2>Configuration</h2><pre>" << esc(r.config.dump(1)) << "</pre>";
  h << "<h2>Runtime states (k-means)</h2><pre>";
  if (r.partition.is_object()) {
    Json p = r.partition;
    p.erase("centroids");
    h << esc(p.dump(1));
  }
  h << "</pre></body></html>\n";
  return h.str();
}

namespace {

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  RSLICER_CHECK(f.good(), IoError, "cannot write ", path);
  f << text;
  RSLICER_CHECK(f.good(), IoError, "write failed: ", path);
}

// Every AD decision point of every method: what a reader needs to check a number or pick a threshold.
std::string ad_points_csv(const EvalResult& r) {
  std::string out = "method,time,score,threshold,alarm,faulty,faults";
  for (const char* key : kAdPartKeys) out += std::string(",") + key;  // the AD parts' own scores, where in use
  out += '\n';
  char buf[160];
  for (const auto& run : r.runs) {
    if (!run.ad) continue;
    const AdRun& a = *run.ad;
    for (size_t i = 0; i < a.points.size(); ++i) {
      append_csv_field(out, run.name);
      std::snprintf(buf, sizeof buf, ",%s,%.6g,%.6g,%d,%d,", format_time(a.points[i].time).c_str(),
                    i < a.scores.size() ? a.scores[i] : 0.0, i < a.thresholds.size() ? a.thresholds[i] : 0.0,
                    a.points[i].alarm ? 1 : 0, a.points[i].truth ? 1 : 0);
      out += buf;
      std::string faults;
      if (i < a.point_faults.size())
        for (std::uint32_t id : a.point_faults[i])
          if (id < r.faults.size()) faults += (faults.empty() ? "" : ";") + r.faults[id].fault_type + ' ' + r.faults[id].root_cause;
      append_csv_field(out, faults);
      for (int p = 0; p < 4; ++p) {
        out += ',';
        const double v = i < a.part_scores.size() ? a.part_scores[i][p] : NAN;
        if (std::isfinite(v)) {
          std::snprintf(buf, sizeof buf, "%.6g", v);
          out += buf;
        }
      }
      out += '\n';
    }
  }
  return out;
}

// One CSV line of the given fields, quoted where needed.
template <size_t N>
void append_csv_row(std::string& out, const std::string (&fields)[N]) {
  for (size_t k = 0; k < N; ++k) {
    if (k > 0) out += ',';
    append_csv_field(out, fields[k]);
  }
  out += '\n';
}

// Every ranked case of every method: where the labelled root cause landed, what came first and why, and why the
// second and third came where they did (the labelled cause's evidence repeats theirs when it is one of them).
std::string rcl_cases_csv(const EvalResult& r) {
  std::string out =
      "method,time,fault_type,root_cause,rank,top1,top2,top3,top1_evidence,root_cause_evidence,"
      "top2_evidence,top3_evidence\n";
  for (const auto& run : r.runs) {
    if (!run.rcl) continue;
    const RclRun& c = *run.rcl;
    for (size_t i = 0; i < c.cases.size(); ++i) {
      const FaultEvent& fe = r.faults.at(c.cases[i]);
      const std::vector<RankedCause> none;
      const auto& ranking = i < c.rankings.size() ? c.rankings[i] : none;
      auto why = [&ranking](size_t k) {  // the evidence of the k-th ranked entity (0-based), empty past the kept top
        std::string s;
        if (k < ranking.size())
          for (const auto& e : ranking[k].evidence) s += (s.empty() ? "" : " / ") + e;
        return s;
      };
      const int rank = i < c.rank_exact.size() ? c.rank_exact[i] : 0;
      const std::string fields[] = {run.name,
                                    format_time(fe.start),
                                    fe.fault_type,
                                    fe.root_cause,
                                    std::to_string(rank),
                                    ranking.size() > 0 ? ranking[0].entity : "",
                                    ranking.size() > 1 ? ranking[1].entity : "",
                                    ranking.size() > 2 ? ranking[2].entity : "",
                                    why(0),
                                    rank > 1 ? why(static_cast<size_t>(rank - 1)) : std::string(),
                                    why(1),
                                    why(2)};
      append_csv_row(out, fields);
    }
  }
  return out;
}

// Every triaged case of every method: the labelled fault type beside the predicted one.
std::string triage_cases_csv(const EvalResult& r) {
  std::string out = "method,time,root_cause,fault_type,predicted\n";
  for (const auto& run : r.runs) {
    if (!run.ft) continue;
    const FtRun& f = *run.ft;
    for (size_t i = 0; i < f.cases.size(); ++i) {
      const FaultEvent& fe = r.faults.at(f.cases[i]);
      const std::string fields[] = {run.name, format_time(fe.start), fe.root_cause,
                                    i < f.truth.size() ? f.truth[i] : fe.fault_type,
                                    i < f.pred.size() ? f.pred[i] : ""};
      append_csv_row(out, fields);
    }
  }
  return out;
}

}  // namespace

std::string write_report(const std::string& out_dir, const EvalResult& r) {
  std::filesystem::create_directories(out_dir);
  const std::filesystem::path dir(out_dir);
  write_text((dir / "metrics.json").string(), r.metrics.dump(2) + "\n");
  write_text((dir / "ad_points.csv").string(), ad_points_csv(r));
  write_text((dir / "rcl_cases.csv").string(), rcl_cases_csv(r));
  write_text((dir / "triage_cases.csv").string(), triage_cases_csv(r));
  const std::string hpath = (dir / "report.html").string();
  write_text(hpath, render_html(r));
  return hpath;
}

std::string results_table(const EvalResult& r) {
  std::ostringstream o;
  char line[512];
  std::snprintf(line, sizeof line, "%-28s %8s %8s %8s %8s %8s %8s %8s %8s\n", "method", "AD-evtF1", "AD-ptF1", "alarmT",
                "AD-AUC", "FT-F1", "AC@1", "AC@3", "Avg@5");
  o << line;
  auto cell = [](bool has, double v) { return has ? num(v) : std::string("-"); };
  for (const auto& s : r.scores) {
    std::snprintf(line, sizeof line, "%-28s %8s %8s %8s %8s %8s %8s %8s %8s\n", row_name(s).substr(0, 28).c_str(),
                  cell(s.ad.has_value(), s.ad ? s.ad->event.prf.f1 : 0).c_str(),
                  cell(s.ad.has_value(), s.ad ? s.ad->point.prf.f1 : 0).c_str(),
                  cell(s.ad.has_value(), s.ad ? s.ad->point.alarm_time_fraction : 0).c_str(),
                  cell(s.ad.has_value() && std::isfinite(s.ad->auroc), s.ad ? s.ad->auroc : 0).c_str(),
                  cell(s.ft.has_value(), s.ft ? s.ft->f1 : 0).c_str(),
                  cell(s.rcl.has_value(), s.rcl ? s.rcl->exact.ac[1] : 0).c_str(),
                  cell(s.rcl.has_value(), s.rcl ? s.rcl->exact.ac[3] : 0).c_str(),
                  cell(s.rcl.has_value(), s.rcl ? s.rcl->exact.avg5 : 0).c_str());
    o << line;
  }
  return o.str();
}

std::string reading_notes(const EvalResult& r) {
  std::ostringstream o;
  const MethodScores* always = r.find("always_anomalous");
  if (always && always->ad && always->ad->point.points > 0) {
    // alarming everywhere: its point precision is the share of test slices inside a labelled fault
    const double share = always->ad->point.prf.precision;
    o << "AD: " << num(100 * share, 0) << " % of the test slices lie inside a labelled fault, so alarming everywhere "
      << "(always_anomalous) scores point F1 " << num(always->ad->point.prf.f1)
      << (share >= 0.3 ? "; with this much fault time alarming everywhere is hard to beat point-wise, whatever a "
                         "detector can do"
                       : "")
      << ".\n";
  }
  // a detector that ranks the slices well but alarms nearly everywhere: its threshold failed, not its score
  for (const auto& s : r.scores)
    if (s.name != "always_anomalous" && s.ad && s.ad->point.alarm_time_fraction >= 0.9 && s.ad->auroc >= 0.75)
      o << "AD: " << s.name << " alarms on " << num(100 * s.ad->point.alarm_time_fraction, 1)
        << " % of the test time, yet ranks the test slices with AD-AUC " << num(s.ad->auroc)
        << ": its threshold, calibrated on the training part, lies below most test scores.\n";
  const MethodScores* ours = r.find("rslicer");
  if (ours && ours->ad && ours->fold_info.is_array() && !ours->fold_info.empty()) {
    std::set<std::string> modes, notes, part_notes;
    bool kpi = false;
    std::set<double> part_q;
    bool evidence = false;
    for (const auto& fi : ours->fold_info) {
      if (fi.contains("ad_part_q")) part_q.insert(fi.value("ad_part_q", 0.0));
      evidence = evidence || fi.value("ad_combine", std::string()) == "evidence";
      modes.insert(fi.value("ad_score", std::string()));
      kpi = kpi || fi.value("kpi_spot_threshold", 0.0) > 0;
      const std::string n = fi.value("ad_score_note", std::string());
      if (!n.empty()) notes.insert(n);
      for (const char* key : {"event_note", "kpi_note"})  // a part left out, or its threshold bounded
        if (const std::string pn = fi.value(key, std::string()); !pn.empty()) part_notes.insert(pn);
    }
    std::string list;
    for (const auto& m : modes) list += (list.empty() ? "" : ", ") + m;
    o << "AD score of ours: " << list;
    for (const auto& n : notes) o << " (" << n << ")";
    if (kpi) o << ", and the most extreme KPI against its own threshold (heads.ad_kpi)";
    for (const auto& n : part_notes) o << "; " << n;
    if (evidence)
      o << "; the parts' tail p-values are combined (-sum log p) against one SPOT threshold (heads.ad_combine)";
    else if ((kpi || list.find('+') != std::string::npos) && part_q.size() == 1)
      o << "; the parts share SPOT's risk, each at q = " << num(*part_q.begin(), 4);
    if (modes.size() == 1 && *modes.begin() == "events")
      o << "; the event score uses no encoder, so ours and raw_backbone alarm alike";
    o << ".\n";
  }
  if (const std::string parts = part_auroc_text(r); !parts.empty())
    o << "AD parts alone, AUROC over the test slices (ad.part_auroc): " << parts << ".\n";
  return o.str();
}

}  // namespace rslicer::eval
