#include "eval/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/errors.h"

namespace rslicer::eval {
namespace {

using Json = nlohmann::json;

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string num(double v, int digits = 3) {
  if (!std::isfinite(v)) return "-";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

std::string get(const Json& j, const std::vector<std::string>& path, int digits = 3) {
  const Json* p = &j;
  for (const auto& k : path) {
    if (!p->is_object() || !p->contains(k)) return "";
    p = &(*p)[k];
  }
  if (p->is_number()) return num(p->get<double>(), digits);
  if (p->is_string()) return p->get<std::string>();
  return "";
}

const char* kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
                          "#9c755f", "#bab0ac"};

std::string color_for(const std::string& label, std::map<std::string, std::string>& colors) {
  if (label == "normal") return "#c8c8c8";
  auto it = colors.find(label);
  if (it != colors.end()) return it->second;
  std::string c = kPalette[colors.size() % 10];
  colors[label] = c;
  return c;
}

// Rows of the results table: (name, metrics json of that row).
std::vector<std::pair<std::string, const Json*>> rows_of(const Json& m) {
  std::vector<std::pair<std::string, const Json*>> rows;
  rows.push_back({"rslicer (ours)", &m});
  if (m.contains("ablation"))
    for (auto& [k, v] : m["ablation"].items()) rows.push_back({k + " (ablation)", &v});
  if (m.contains("baselines"))
    for (auto& [k, v] : m["baselines"].items()) rows.push_back({k, &v});
  return rows;
}

std::string results_html(const Json& m) {
  std::ostringstream h;
  h << "<table><tr><th rowspan=2>method</th><th colspan=3>AD event (published)</th><th colspan=3>AD point-wise</th>"
       "<th rowspan=2>time in alarm</th><th rowspan=2>false alarms / day</th><th colspan=3>FT weighted</th>"
       "<th colspan=4>RCL (exact entity)</th></tr><tr><th>P</th><th>R</th><th>F1</th><th>P</th><th>R</th><th>F1</th>"
       "<th>P</th><th>R</th><th>F1</th><th>AC@1</th><th>AC@3</th><th>AC@5</th><th>Avg@5</th></tr>";
  for (auto& [name, j] : rows_of(m)) {
    h << "<tr><td>" << esc(name) << "</td>";
    for (auto k : {"precision", "recall", "f1"}) h << "<td>" << get(*j, {"ad", "event", k}) << "</td>";
    for (auto k : {"precision", "recall", "f1"}) h << "<td>" << get(*j, {"ad", "point", k}) << "</td>";
    h << "<td>" << get(*j, {"ad", "alarm_time_fraction"}) << "</td><td>" << get(*j, {"ad", "false_alarms_per_day"}, 1)
      << "</td>";
    for (auto k : {"precision", "recall", "f1"}) h << "<td>" << get(*j, {"ft", k}) << "</td>";
    for (auto k : {"ac@1", "ac@3", "ac@5", "avg@5"}) h << "<td>" << get(*j, {"rcl", k}) << "</td>";
    h << "</tr>";
  }
  h << "</table>";
  if (m.contains("ci95")) {
    h << "<p>95 % bootstrap intervals of our method: ";
    for (auto& [k, v] : m["ci95"].items())
      h << "<b>" << esc(k) << "</b> [" << num(v[0].get<double>()) << ", " << num(v[1].get<double>()) << "] &nbsp; ";
    h << "</p>";
  }
  return h.str();
}

std::string per_type_html(const Json& m) {
  std::ostringstream h;
  std::set<std::string> types;
  for (auto& [name, j] : rows_of(m)) {
    if (j->contains("rcl")) for (auto& [t, v] : (*j)["rcl"]["per_fault_type"].items()) types.insert(t);
    if (j->contains("ad")) for (auto& [t, v] : (*j)["ad"]["per_fault_type"].items()) types.insert(t);
  }
  h << "<table><tr><th>method</th><th>metric</th>";
  for (auto& t : types) h << "<th>" << esc(t) << "</th>";
  h << "</tr>";
  for (auto& [name, j] : rows_of(m)) {
    auto line = [&](const std::string& label, const std::vector<std::string>& prefix, const std::string& key) {
      h << "<tr><td>" << esc(name) << "</td><td>" << esc(label) << "</td>";
      for (auto& t : types) {
        auto p = prefix;
        p.push_back(t);
        p.push_back(key);
        h << "<td>" << get(*j, p) << "</td>";
      }
      h << "</tr>";
    };
    if (j->contains("ad")) {
      line("AD event recall", {"ad", "per_fault_type"}, "event_recall");
      line("AD point recall", {"ad", "per_fault_type"}, "point_recall");
    }
    if (j->contains("ft")) line("FT F1", {"ft", "per_class"}, "f1");
    if (j->contains("rcl")) {
      line("RCL AC@1", {"rcl", "per_fault_type"}, "ac@1");
      line("RCL AC@3", {"rcl", "per_fault_type"}, "ac@3");
    }
  }
  h << "</table>";
  return h.str();
}

// State timeline of one run, one panel per UTC day of the test timeline.
std::string timeline_svg(const MethodRun& run, const EvalContext& ctx, const std::vector<size_t>& test_cases) {
  std::ostringstream h;
  std::map<std::string, std::vector<size_t>> days;
  for (size_t k = 0; k < run.points.size(); ++k) days[format_time(run.points[k].time).substr(0, 10)].push_back(k);
  std::map<std::string, std::string> colors;
  for (auto& [day, idx] : days) {
    if (idx.size() < 2) continue;
    const double W = 1100, H = 190, left = 50, right = 10, top = 18, plot_h = 110;
    TimeUs t0 = run.points[idx.front()].time, t1 = run.points[idx.back()].time + 1;
    double smax = 1e-9;
    for (size_t k : idx) smax = std::max({smax, std::isfinite(run.scores[k]) ? run.scores[k] : 0.0, run.thresholds[k]});
    smax *= 1.05;
    auto X = [&](TimeUs t) { return left + (W - left - right) * static_cast<double>(t - t0) / static_cast<double>(t1 - t0); };
    auto Y = [&](double s) { return top + plot_h - plot_h * std::min(1.0, std::max(0.0, s / smax)); };
    h << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H << "' viewBox='0 0 " << W << " " << H
      << "'><rect x='0' y='0' width='" << W << "' height='" << H << "' fill='#fff'/>";
    h << "<text x='" << left << "' y='12' font-size='11' font-family='sans-serif'>" << esc(day)
      << " (UTC): anomaly score (line), threshold (dashed), alarms (red ticks), labelled faults (shaded), runtime state (bottom band)</text>";
    double bw = std::max(1.0, (W - left - right) / std::max<size_t>(1, idx.size()));
    // fault shading and state band
    for (size_t k : idx) {
      double x = X(run.points[k].time);
      if (run.points[k].truth)
        h << "<rect x='" << num(x, 1) << "' y='" << top << "' width='" << num(bw, 1) << "' height='" << plot_h
          << "' fill='#ffd8a8'/>";
      h << "<rect x='" << num(x, 1) << "' y='" << top + plot_h + 22 << "' width='" << num(bw + 0.5, 1)
        << "' height='12' fill='" << kPalette[run.states[k] % 10] << "'/>";
      if (run.points[k].alarm)
        h << "<rect x='" << num(x, 1) << "' y='" << top + plot_h + 4 << "' width='" << num(bw, 1)
          << "' height='10' fill='#d62728'/>";
    }
    // case markers
    for (size_t c : test_cases) {
      TimeUs t = ctx.faults[c].start;
      if (t < t0 || t > t1) continue;
      h << "<line x1='" << num(X(t), 1) << "' x2='" << num(X(t), 1) << "' y1='" << top << "' y2='" << top + plot_h
        << "' stroke='#e6550d' stroke-width='1'><title>" << esc(ctx.faults[c].fault_type + " " + ctx.faults[c].root_cause)
        << "</title></line>";
    }
    // score and threshold polylines, broken where the timeline has a gap (no slices)
    for (int which = 0; which < 2; ++which) {
      const char* style = which == 0 ? "fill='none' stroke='#1f77b4' stroke-width='1'"
                                     : "fill='none' stroke='#333' stroke-dasharray='4,3' stroke-width='1'";
      h << "<polyline " << style << " points='";
      for (size_t n = 0; n < idx.size(); ++n) {
        size_t k = idx[n];
        if (n > 0 && run.points[k].time - run.points[idx[n - 1]].time > 3 * ctx.stride_s * kUsPerSecond)
          h << "'/><polyline " << style << " points='";
        double v = which == 0 ? (std::isfinite(run.scores[k]) ? run.scores[k] : smax) : run.thresholds[k];
        h << num(X(run.points[k].time), 1) << "," << num(Y(v), 1) << " ";
      }
      h << "'/>";
    }
    // axis labels: hours
    for (TimeUs t = t0 - t0 % (3600 * kUsPerSecond) + 3600 * kUsPerSecond; t < t1; t += 3600 * kUsPerSecond)
      h << "<text x='" << num(X(t), 1) << "' y='" << H - 4 << "' font-size='10' font-family='sans-serif'>"
        << format_time(t).substr(11, 5) << "</text>";
    h << "<text x='2' y='" << top + 10 << "' font-size='10' font-family='sans-serif'>" << num(smax, 1) << "</text>";
    h << "<text x='2' y='" << top + plot_h + 33 << "' font-size='10' font-family='sans-serif'>state</text>";
    h << "</svg>";
  }
  return h.str();
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
  // normals first so faults draw on top
  for (int pass = 0; pass < 2; ++pass)
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
  color_for("normal", colors);
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

std::string confusion_svg(const Json& ft) {
  if (!ft.contains("labels")) return "<p>(no triage)</p>";
  auto labels = ft["labels"].get<std::vector<std::string>>();
  auto conf = ft["confusion"].get<std::vector<std::vector<std::int64_t>>>();
  const double cell = 56, left = 130, top = 110;
  double W = left + cell * labels.size() + 20, H = top + cell * labels.size() + 20;
  std::int64_t maxv = 1;
  for (auto& r : conf)
    for (auto v : r) maxv = std::max(maxv, v);
  std::ostringstream h;
  h << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H << "'><rect width='" << W
    << "' height='" << H << "' fill='#fff'/><text x='4' y='14' font-size='11' font-family='sans-serif'>rows: true fault type; columns: predicted</text>";
  for (size_t i = 0; i < labels.size(); ++i) {
    h << "<text x='4' y='" << top + cell * i + cell / 2 + 4 << "' font-size='11' font-family='sans-serif'>" << esc(labels[i])
      << "</text>";
    h << "<text transform='translate(" << left + cell * i + cell / 2 << "," << top - 6
      << ") rotate(-45)' font-size='11' font-family='sans-serif'>" << esc(labels[i]) << "</text>";
    for (size_t j = 0; j < labels.size(); ++j) {
      double a = static_cast<double>(conf[i][j]) / maxv;
      int shade = static_cast<int>(255 - 180 * a);
      char col[16];
      std::snprintf(col, sizeof col, "#%02x%02xff", shade, shade);
      h << "<rect x='" << left + cell * j << "' y='" << top + cell * i << "' width='" << cell - 2 << "' height='" << cell - 2
        << "' fill='" << col << "'/><text x='" << left + cell * j + cell / 2 - 6 << "' y='" << top + cell * i + cell / 2 + 4
        << "' font-size='13' font-family='sans-serif'>" << conf[i][j] << "</text>";
    }
  }
  h << "</svg>";
  return h.str();
}

std::string rankings_html(const HarnessResult& res, const EvalContext& ctx) {
  const MethodRun* ours = nullptr;
  std::map<std::string, const MethodRun*> others;
  for (auto& r : res.runs) {
    if (r.name == "rslicer") ours = &r;
    if (r.name == "baro") others["baro"] = &r;
  }
  if (!ours || !ours->has_rcl) return "<p>(no root cause localisation)</p>";
  std::ostringstream h;
  h << "<table><tr><th>case (UTC)</th><th>fault type</th><th>root cause</th><th>rank (ours)</th>"
       "<th>top 5 (ours; score)</th><th>rank (BARO)</th></tr>";
  for (size_t c = 0; c < ours->rcl_cases.size(); ++c) {
    const FaultEvent& f = ctx.faults[ours->rcl_cases[c]];
    h << "<tr><td>" << format_time(f.start) << "</td><td>" << esc(f.fault_type) << "</td><td>" << esc(f.root_cause)
      << "</td><td>" << (ours->rank_exact[c] ? std::to_string(ours->rank_exact[c]) : "-") << "</td><td>";
    for (size_t k = 0; k < ours->rankings[c].size() && k < 5; ++k) {
      const auto& e = ours->rankings[c][k];
      bool hit = e.entity == f.root_cause;
      h << (hit ? "<b>" : "") << esc(e.entity) << " (" << num(e.score, 2) << ")" << (hit ? "</b>" : "") << "<br>";
    }
    h << "</td><td>";
    auto it = others.find("baro");
    if (it != others.end() && c < it->second->rank_exact.size())
      h << (it->second->rank_exact[c] ? std::to_string(it->second->rank_exact[c]) : "-");
    h << "</td></tr>";
  }
  h << "</table>";
  return h.str();
}

}  // namespace

std::string render_html(const Json& m, const EvalContext& ctx, const HarnessResult& res) {
  std::ostringstream h;
  h << "<!DOCTYPE html><html><head><meta charset='utf-8'><title>RuntimeSlicer evaluation report</title><style>"
       "body{font-family:sans-serif;margin:20px;color:#222;max-width:1200px}table{border-collapse:collapse;margin:8px 0;font-size:13px}"
       "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:first-child,th:first-child{text-align:left}"
       "th{background:#f0f0f0}h2{border-bottom:1px solid #ccc;margin-top:28px}pre{background:#f7f7f7;padding:8px;"
       "font-size:11px;overflow:auto;max-height:400px}.note{color:#555;font-size:13px}</style></head><body>";
  h << "<h1>RuntimeSlicer evaluation report</h1>";
  h << "<p class='note'>Data: <b>" << esc(get(m, {"config", "data"})) << "</b> (format " << esc(get(m, {"config", "format"}))
    << "). Split: <b>" << esc(get(m, {"split", "kind"})) << "</b>; cases: " << m["cases"]["train"] << " train, "
    << m["cases"]["test"] << " test.</p>";
  h << "<p class='note'>" << esc(get(m, {"split", "description"})) << "</p>";
  h << "<h2>Results</h2>" << results_html(m);
  h << "<p class='note'>AD event (published protocol): alarm minutes inside the test case windows [t-59 s, t+300 s) "
       "merged into intervals (gap &lt; 600 s, single points dropped); a case is hit when an interval overlaps "
       "[t-300 s, t+300 s]. AD point-wise (honest): every test slice is a decision; truth = the slice overlaps a "
       "labelled fault. RCL uses exact entity matching (no substring matching). The always_anomalous row is the "
       "sanity check for the event-level metric. Anomaly detection view: "
    << esc(get(m, {"config", "ad_view"})) << ".</p>";
  h << "<h2>Per fault type</h2>" << per_type_html(m);
  for (auto& run : res.runs)
    if (run.name == "rslicer" && !run.points.empty())
      h << "<h2>State timeline (ours, test part)</h2>" << timeline_svg(run, ctx, res.test_cases);
  h << "<h2>Embedding projection (PCA, training + test slices; black outline = test)</h2>";
  for (auto& [name, pts] : res.projection) h << projection_svg(name, pts) << " ";
  h << "<h2>Triage confusion matrix (ours)</h2>" << (m.contains("ft") ? confusion_svg(m["ft"]) : std::string("<p>-</p>"));
  h << "<h2>Root cause rankings per test case</h2>" << rankings_html(res, ctx);
  h << "<h2>Split</h2><pre>" << esc(m.contains("split") ? m["split"].dump(1) : "{}") << "</pre>";
  h << "<h2>Configuration</h2><pre>" << esc(m.contains("config") ? m["config"].dump(1) : "{}") << "</pre>";
  h << "<h2>Runtime states (k-means)</h2><pre>";
  if (m.contains("partition") && m["partition"].is_object()) {
    Json p = m["partition"];
    p.erase("centroids");
    h << esc(p.dump(1));
  }
  h << "</pre></body></html>\n";
  return h.str();
}

std::string write_report(const std::string& out_dir, const Json& metrics, const EvalContext& ctx,
                         const HarnessResult& result) {
  std::filesystem::create_directories(out_dir);
  std::string mpath = (std::filesystem::path(out_dir) / "metrics.json").string();
  {
    std::ofstream f(mpath);
    RSLICER_CHECK(f.good(), IoError, "cannot write ", mpath);
    f << metrics.dump(2) << "\n";
  }
  std::string hpath = (std::filesystem::path(out_dir) / "report.html").string();
  std::ofstream f(hpath);
  RSLICER_CHECK(f.good(), IoError, "cannot write ", hpath);
  f << render_html(metrics, ctx, result);
  RSLICER_CHECK(f.good(), IoError, "write failed: ", hpath);
  return hpath;
}

std::string results_table(const Json& m) {
  std::ostringstream o;
  char line[512];
  std::snprintf(line, sizeof line, "%-28s %8s %8s %8s %8s %8s %8s %8s\n", "method", "AD-evtF1", "AD-ptF1", "alarmT",
                "FT-F1", "AC@1", "AC@3", "Avg@5");
  o << line;
  for (auto& [name, j] : rows_of(m)) {
    auto g = [&](std::vector<std::string> p) {
      std::string s = get(*j, p);
      return s.empty() ? std::string("-") : s;
    };
    std::snprintf(line, sizeof line, "%-28s %8s %8s %8s %8s %8s %8s %8s\n", name.substr(0, 28).c_str(),
                  g({"ad", "event", "f1"}).c_str(), g({"ad", "point", "f1"}).c_str(),
                  g({"ad", "alarm_time_fraction"}).c_str(), g({"ft", "f1"}).c_str(), g({"rcl", "ac@1"}).c_str(),
                  g({"rcl", "ac@3"}).c_str(), g({"rcl", "avg@5"}).c_str());
    o << line;
  }
  return o.str();
}

}  // namespace rslicer::eval
