#include "tasks/evidence.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace rslicer {

std::string short_number(double v) {
  char buf[64];
  const double a = std::fabs(v);
  if (a != 0 && (a >= 1e6 || a < 1e-3)) std::snprintf(buf, sizeof buf, "%.2g", v);
  else if (a >= 100) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

std::string short_duration_us(double us) {
  char buf[64];
  if (std::fabs(us) >= 1e6) std::snprintf(buf, sizeof buf, "%.2g s", us / 1e6);
  else if (std::fabs(us) >= 1e3) std::snprintf(buf, sizeof buf, "%.3g ms", us / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f us", us);
  return buf;
}

namespace {

struct Sentence {
  double strength;  // comparable across kinds: about a robust z
  std::string text;
};

// "3.2x" for a ratio, "+950 ms" style added separately.
std::string ratio_text(double a, double b) {
  if (b <= 0) return "new";
  return short_number(a / b) + "x";
}

}  // namespace

std::vector<std::string> describe_evidence(const EntityEvidence& e, size_t max_sentences) {
  std::vector<Sentence> s;
  auto metric = [&](const std::optional<EntityScore>& m) {
    if (!m || m->score < 3 || m->top_kpi.empty()) return;
    s.push_back({m->score, m->top_kpi + ": " + short_number(m->value) + " in the window, " + short_number(m->normal) +
                               " normally (robust z " + short_number(m->score) + ")"});
  };
  metric(e.metric);
  metric(e.latency);
  if (e.trace) {
    const TraceCaseEvidence& t = *e.trace;
    const auto& f = t.features;
    auto strength = [](double log_ratio) { return 3.0 * std::fabs(log_ratio) / std::log(2.0); };  // 2x ~ z 3
    if (f.size() >= 7) {
      if (std::fabs(f[0]) >= std::log(1.5) && t.normal_self_per_span_us > 0)
        s.push_back({strength(f[0]), "own time per span " + short_duration_us(t.self_per_span_us) + ", " +
                                         short_duration_us(t.normal_self_per_span_us) + " normally (" +
                                         ratio_text(t.self_per_span_us, t.normal_self_per_span_us) + ")"});
      if (f[6] >= std::log(1.5) && t.normal_caller_per_call_us > 0)
        s.push_back({strength(f[6]), "callers' own time per call into it " + short_duration_us(t.caller_per_call_us) +
                                         ", " + short_duration_us(t.normal_caller_per_call_us) + " normally (" +
                                         (t.caller_per_call_us >= t.normal_caller_per_call_us ? "+" : "") +
                                         short_duration_us(t.caller_per_call_us - t.normal_caller_per_call_us) + ")"});
      if (f[1] > 0.5)
        s.push_back({strength(f[1]), "error spans " + short_number(t.case_rate.error_spans) + "/min, " +
                                         short_number(t.normal.error_spans) + "/min normally"});
      if (f[2] > 0.5)
        s.push_back({strength(f[2]), "ERROR log lines " + short_number(t.case_rate.error_logs) + "/min, " +
                                         short_number(t.normal.error_logs) + "/min normally"});
      if (f[5] > 0.5)
        s.push_back({strength(f[5]), "error lines of other services naming it " +
                                         short_number(t.case_rate.error_mentions) + "/min, " +
                                         short_number(t.normal.error_mentions) + "/min normally"});
      if (std::fabs(f[3]) >= std::log(2.0))
        s.push_back({strength(f[3]), "spans " + short_number(t.case_rate.spans) + "/min, " +
                                         short_number(t.normal.spans) + "/min normally"});
      if (std::fabs(f[4]) >= std::log(2.0))
        s.push_back({strength(f[4]), "log lines " + short_number(t.case_rate.logs) + "/min, " +
                                         short_number(t.normal.logs) + "/min normally"});
    }
  }
  if (e.embedding_deviation >= 2)
    s.push_back({e.embedding_deviation, "its embedding is " + short_number(e.embedding_deviation) +
                                            "x its typical distance from its normal profile"});
  std::stable_sort(s.begin(), s.end(), [](const Sentence& a, const Sentence& b) { return a.strength > b.strength; });
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size() && i < max_sentences; ++i) out.push_back(s[i].text);
  if (out.empty()) out.push_back("no single signal stands out (about normal on every feature measured)");
  return out;
}

}  // namespace rslicer
