#include "tasks/spot.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "core/errors.h"

namespace rslicer {

const config::Schema<SpotOptions>& SpotOptions::schema() {
  using config::Range;
  static const auto s =
      config::Schema<SpotOptions>("spot")
          .num("q", &SpotOptions::q, "risk: probability that a normal score exceeds the threshold", Range::open(0, 1))
          .num("level", &SpotOptions::level, "quantile of the calibration scores used as the initial threshold",
               Range::open(0, 1))
          .flag("dynamic", &SpotOptions::dynamic, "update the fit with new peaks while running (published SPOT)")
          .flag("censor", &SpotOptions::censor,
                "(dynamic) an alarmed score enters the fit as a censored peak (its excess at least the threshold's), "
                "while such peaks are at most q of the scores seen: the published update, which leaves alarms out, "
                "thins the fitted tail and lowers the threshold over a long stream");
  return s;
}
namespace {

double gpd_log_likelihood(const std::vector<double>& y, double gamma, double sigma) {
  const double n = static_cast<double>(y.size());
  if (sigma <= 0) return -std::numeric_limits<double>::infinity();
  if (std::abs(gamma) < 1e-12) {
    double s = 0;
    for (double v : y) s += v;
    return -n * std::log(sigma) - s / sigma;
  }
  double s = 0;
  for (double v : y) {
    double a = 1 + gamma * v / sigma;
    if (a <= 0) return -std::numeric_limits<double>::infinity();
    s += std::log(a);
  }
  return -n * std::log(sigma) - (1 + 1 / gamma) * s;
}

// Grimshaw: w(x) = u(x) v(x) - 1 with u = mean(1 / (1 + x y)), v = 1 + mean(log(1 + x y)).
double grimshaw_w(const std::vector<double>& y, double x) {
  double u = 0, v = 0;
  for (double yi : y) {
    double a = 1 + x * yi;
    u += 1 / a;
    v += std::log(a);
  }
  u /= y.size();
  v = 1 + v / y.size();
  return u * v - 1;
}

// Roots of w in (lo, hi), an interval on one side of 0, by scanning a grid and bisecting sign changes. The grid is
// geometric in |x|: a root can lie at any scale between the bounds (the positive bound grows as 1 / the smallest
// excess), and an even grid as coarse as the bounds are wide can step over a root and w's return near 0.
void find_roots(const std::vector<double>& y, double lo, double hi, std::vector<double>& roots) {
  const int steps = 400;
  const double sign = lo < 0 ? -1 : 1, from = std::abs(lo), to = std::abs(hi);
  auto at = [&](int i) {
    const double f = static_cast<double>(i) / steps;
    return sign * std::pow(from, 1 - f) * std::pow(to, f);
  };
  double prev_x = lo, prev_w = grimshaw_w(y, lo);
  for (int i = 1; i <= steps; ++i) {
    double x = at(i);
    double w = grimshaw_w(y, x);
    if (std::isfinite(prev_w) && std::isfinite(w) && (prev_w == 0 || (prev_w < 0) != (w < 0))) {
      double a = prev_x, b = x, wa = prev_w;
      for (int it = 0; it < 60; ++it) {
        double m = 0.5 * (a + b), wm = grimshaw_w(y, m);
        if ((wa < 0) == (wm < 0)) {
          a = m;
          wa = wm;
        } else {
          b = m;
        }
      }
      roots.push_back(0.5 * (a + b));
    }
    prev_x = x;
    prev_w = w;
  }
}

}  // namespace

GpdFit fit_gpd(const std::vector<double>& y) {
  GpdFit best;
  if (y.empty()) return best;
  double ymin = *std::min_element(y.begin(), y.end());
  double ymax = *std::max_element(y.begin(), y.end());
  double ymean = 0;
  for (double v : y) ymean += v;
  ymean /= y.size();
  // Exponential (gamma = 0) candidate.
  best.gamma = 0;
  best.sigma = std::max(ymean, 1e-12);
  best.log_likelihood = gpd_log_likelihood(y, 0, best.sigma);
  if (ymax <= 0 || y.size() < 2) return best;
  const double eps = 1e-8 / ymean;
  std::vector<double> roots;
  double a = -1 / ymax + eps;
  find_roots(y, a, -eps, roots);
  if (ymin > 0) {
    double b = 2 * (ymean - ymin) / (ymean * ymin);
    if (b > eps) find_roots(y, eps, b, roots);
  }
  for (double x : roots) {
    double v = 0;
    for (double yi : y) v += std::log(1 + x * yi);
    double gamma = v / y.size();
    double sigma = gamma / x;
    double ll = gpd_log_likelihood(y, gamma, sigma);
    if (std::isfinite(ll) && ll > best.log_likelihood) {
      best.gamma = gamma;
      best.sigma = sigma;
      best.log_likelihood = ll;
    }
  }
  return best;
}

namespace {

// The log-likelihood of excesses y and right-censored excesses c (each known to be at least its value).
double censored_log_likelihood(const std::vector<double>& y, const std::vector<double>& c, double gamma, double sigma) {
  double ll = gpd_log_likelihood(y, gamma, sigma);
  if (!std::isfinite(ll)) return ll;
  for (double v : c) {
    if (std::abs(gamma) < 1e-12) {
      ll -= v / sigma;
      continue;
    }
    const double a = gamma * v / sigma;
    if (a <= -1) return -std::numeric_limits<double>::infinity();  // beyond a bounded tail's end
    ll -= std::log1p(a) / gamma;
  }
  return ll;
}

}  // namespace

GpdFit fit_gpd(const std::vector<double>& y, const std::vector<double>& c) {
  const GpdFit uncensored = fit_gpd(y);
  if (c.empty() || y.size() < 2 || !(uncensored.sigma > 0)) return uncensored;
  using Point = std::array<double, 2>;  // gamma, log sigma
  const double inf = std::numeric_limits<double>::infinity();
  auto cost = [&](const Point& p) {
    if (p[0] < -1 || p[0] > 5) return inf;
    const double ll = censored_log_likelihood(y, c, p[0], std::exp(p[1]));
    return std::isfinite(ll) ? -ll : inf;
  };
  Point start = {uncensored.gamma, std::log(uncensored.sigma)};
  if (!std::isfinite(cost(start))) {  // a bounded tail that ends below a censored excess: start exponential
    double mean = 0;
    for (double v : y) mean += v;
    for (double v : c) mean += v;
    start = {0, std::log(std::max(mean / static_cast<double>(y.size() + c.size()), 1e-12))};
  }
  // Nelder-Mead (reflection 1, expansion 2, contraction 0.5, shrink 0.5)
  std::array<Point, 3> v = {start, Point{start[0] + 0.1, start[1]}, Point{start[0], start[1] + 0.2}};
  std::array<double, 3> f;
  for (int k = 0; k < 3; ++k) f[k] = cost(v[k]);
  for (int it = 0; it < 500; ++it) {
    std::array<int, 3> o = {0, 1, 2};
    std::sort(o.begin(), o.end(), [&](int a, int b) { return f[a] < f[b]; });
    const int best = o[0], mid = o[1], worst = o[2];
    if (std::isfinite(f[worst]) && f[worst] - f[best] < 1e-10 &&
        std::abs(v[worst][0] - v[best][0]) + std::abs(v[worst][1] - v[best][1]) < 1e-9)
      break;
    const Point centre = {0.5 * (v[best][0] + v[mid][0]), 0.5 * (v[best][1] + v[mid][1])};
    auto towards = [&](double t) {
      return Point{centre[0] + t * (v[worst][0] - centre[0]), centre[1] + t * (v[worst][1] - centre[1])};
    };
    const Point r = towards(-1);
    const double fr = cost(r);
    if (fr < f[best]) {
      const Point e = towards(-2);
      const double fe = cost(e);
      if (fe < fr) {
        v[worst] = e;
        f[worst] = fe;
      } else {
        v[worst] = r;
        f[worst] = fr;
      }
    } else if (fr < f[mid]) {
      v[worst] = r;
      f[worst] = fr;
    } else {
      const Point k = fr < f[worst] ? towards(-0.5) : towards(0.5);
      const double fk = cost(k);
      if (fk < std::min(fr, f[worst])) {
        v[worst] = k;
        f[worst] = fk;
      } else {
        for (int j : {mid, worst}) {
          v[j] = {v[best][0] + 0.5 * (v[j][0] - v[best][0]), v[best][1] + 0.5 * (v[j][1] - v[best][1])};
          f[j] = cost(v[j]);
        }
      }
    }
  }
  const int best = static_cast<int>(std::min_element(f.begin(), f.end()) - f.begin());
  if (!std::isfinite(f[best])) return uncensored;
  GpdFit fit;
  fit.gamma = v[best][0];
  fit.sigma = std::exp(v[best][1]);
  fit.log_likelihood = -f[best];
  return fit;
}

void Spot::fit(const std::vector<double>& calibration, double ceiling) {
  RSLICER_CHECK(!calibration.empty(), InvalidInput, "SPOT: no calibration scores");
  std::vector<double> sorted = calibration;
  std::sort(sorted.begin(), sorted.end());
  ceiling_ = ceiling;
  largest_ = sorted.back();
  size_t idx = static_cast<size_t>(std::floor(options_.level * (sorted.size() - 1)));
  // numpy-style linear-interpolated quantile
  double pos = options_.level * (sorted.size() - 1);
  double frac = pos - idx;
  t_ = sorted[idx] + (idx + 1 < sorted.size() ? frac * (sorted[idx + 1] - sorted[idx]) : 0);
  n_ = static_cast<std::int64_t>(calibration.size());
  peaks_.clear();
  censored_.clear();
  alarmed_ = false;
  for (double v : calibration)
    if (v > t_) peaks_.push_back(v - t_);
  update_threshold();
}

void Spot::update_threshold() {
  if (peaks_.empty()) {
    z_ = t_;
  } else {
    fit_ = fit_gpd(peaks_, censored_);
    double r = options_.q * static_cast<double>(n_) / static_cast<double>(peaks_.size() + censored_.size());
    if (std::abs(fit_.gamma) > 1e-12)
      z_ = t_ + fit_.sigma / fit_.gamma * (std::pow(r, -fit_.gamma) - 1);
    else
      z_ = t_ - fit_.sigma * std::log(r);
  }
  capped_ = z_ >= ceiling_ && largest_ < ceiling_ && options_.q * static_cast<double>(n_ + 1) >= 1.0;
  if (capped_) z_ = largest_;
}

std::optional<double> Spot::tail_probability(double x) const {
  if (!(x > t_) || peaks_.empty() || n_ <= 0) return std::nullopt;
  const double share = static_cast<double>(peaks_.size() + censored_.size()) / static_cast<double>(n_);
  if (!(fit_.sigma > 0)) return share;  // peaks all equal: the tail has no scale
  const double u = (x - t_) / fit_.sigma;
  if (std::abs(fit_.gamma) <= 1e-12) return share * std::exp(-u);
  const double base = 1 + fit_.gamma * u;
  return base <= 0 ? 0.0 : share * std::pow(base, -1 / fit_.gamma);
}

bool Spot::step(double x, double* threshold) {
  bool alarm = false;
  if (threshold) *threshold = z_;  // the threshold x is compared with (an update below is for the next score)
  if (x > z_) {
    alarm = true;
    // (censor) the alarm as a censored peak, while those stay at most q of the scores seen, and only the first of
    // a run (a fault's run of alarms is one event); not where z_q lies at or below t (q at least the tail's share:
    // no peak can enter the fit then) or where it is the capped maximum
    if (options_.dynamic && options_.censor && !alarmed_ && z_ > t_ && !capped_ && !peaks_.empty() &&
        static_cast<double>(censored_.size() + 1) <= options_.q * static_cast<double>(n_ + 1)) {
      censored_.push_back(z_ - t_);
      ++n_;
      update_threshold();
    }
  } else if (options_.dynamic && x > t_) {
    peaks_.push_back(x - t_);
    ++n_;
    update_threshold();
  } else {
    ++n_;
  }
  alarmed_ = alarm;
  return alarm;
}

std::vector<bool> Spot::run(const std::vector<double>& scores, std::vector<double>* thresholds_out) {
  std::vector<bool> alarms(scores.size(), false);
  if (thresholds_out) thresholds_out->assign(scores.size(), z_);
  for (size_t i = 0; i < scores.size(); ++i) alarms[i] = step(scores[i], thresholds_out ? &(*thresholds_out)[i] : nullptr);
  return alarms;
}

nlohmann::json Spot::to_json() const {
  return {{"options", SpotOptions::schema().to_json(options_)},
          {"t", t_},
          {"z", z_},
          {"n", n_},
          {"peaks", peaks_},
          {"censored", censored_},
          {"alarmed", alarmed_},
          {"gamma", fit_.gamma},
          {"sigma", fit_.sigma},
          {"log_likelihood", fit_.log_likelihood},
          // (JSON has no infinity: an unbounded score saves no ceiling)
          {"ceiling", std::isfinite(ceiling_) ? nlohmann::json(ceiling_) : nlohmann::json()},
          {"largest", largest_},
          {"capped", capped_}};
}

Spot Spot::from_json(const nlohmann::json& j) {
  try {
    Spot s(SpotOptions::schema().from_json(j.at("options")));
    s.t_ = j.at("t").get<double>();
    s.z_ = j.at("z").get<double>();
    s.n_ = j.at("n").get<std::int64_t>();
    s.peaks_ = j.at("peaks").get<std::vector<double>>();
    if (j.contains("censored")) s.censored_ = j.at("censored").get<std::vector<double>>();  // saved before: none
    s.alarmed_ = j.value("alarmed", false);
    s.fit_.gamma = j.at("gamma").get<double>();
    s.fit_.sigma = j.at("sigma").get<double>();
    s.fit_.log_likelihood = j.at("log_likelihood").get<double>();
    // states saved before the ceiling: unbounded
    if (j.contains("ceiling") && !j.at("ceiling").is_null()) s.ceiling_ = j.at("ceiling").get<double>();
    s.largest_ = j.value("largest", 0.0);
    s.capped_ = j.value("capped", false);
    return s;
  } catch (const std::exception& e) {
    throw ModelError(cat("malformed SPOT state: ", e.what()));
  }
}

}  // namespace rslicer
