// SPOT: streaming peaks-over-threshold (Siffer et al., KDD 2017). The tail
// of the calibration scores above the `level` quantile t is fitted with a
// generalised Pareto distribution (Grimshaw's trick, maximum likelihood);
// the alarm threshold z_q is the value exceeded with probability q:
//   z_q = t + sigma / gamma * ((q * n / N_t)^(-gamma) - 1)   (gamma != 0)
//   z_q = t - sigma * log(q * n / N_t)                      (gamma == 0)
// In `run`, scores between t and z_q are added to the peaks and the fit is
// updated (the published SPOT); scores above z_q are alarms and are not added.
// The published update sees only the scores below the threshold: the tail it
// fits loses everything beyond z_q, grows thinner with every update and the
// threshold sinks (a stationary stream at q = 0.01 alarms on 2.5 % of the
// second half of 8,000 scores: Spot.CensoredAlarmsKeepTheRiskOverALongStream).
// With `censor`, an alarmed score enters the fit
// as a censored peak: its excess is known to be at least z_q - t, which the
// likelihood counts as the tail's survival there. So that a fault's run of
// alarms cannot lift the threshold, only the first alarm of a run is taken,
// and only while censored peaks are at most q of the scores seen; the others
// are left out as before.
//
// A bounded score (a rank surprise cannot exceed log10 of its calibration rows; a clipped z its clip) has a
// ceiling. Where the fitted z_q lies at or above it (a tail of a few large peaks over a body of zeros: an
// exponential fit there extrapolates past anything the score can reach), the stream could never alarm; the
// threshold is then the largest calibration score instead. A new normal score exceeds the largest of n
// exchangeable calibration scores with probability 1 / (n + 1), so this keeps the risk q wherever q (n + 1) >= 1
// (else z_q stays, and capped() says neither).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"

namespace rslicer {

struct SpotOptions {
  double q = 0.1;        // risk: probability that a normal score exceeds the threshold (published protocol: 0.1)
  double level = 0.95;   // quantile of the calibration scores used as the initial threshold t (published: 0.95)
  bool dynamic = true;   // update the fit with new peaks while running (the published SPOT); false = fixed threshold
  bool censor = false;   // (dynamic) alarmed scores enter the fit as censored peaks (see above); false = published
  static const config::Schema<SpotOptions>& schema();
};

struct GpdFit {
  double gamma = 0;  // shape
  double sigma = 0;  // scale
  double log_likelihood = 0;
};

// Maximum-likelihood GPD fit of positive excesses (Grimshaw's reduction to one variable).
GpdFit fit_gpd(const std::vector<double>& excesses);
// The same with right-censored excesses: each of `censored` is known only to be at least its value (its survival
// (1 + gamma c / sigma)^(-1 / gamma) enters the likelihood). Nelder-Mead over (gamma, log sigma) from the fit of
// `excesses` alone, gamma kept in [-1, 5] (below -1 the likelihood has no maximum); empty `censored`: fit_gpd.
GpdFit fit_gpd(const std::vector<double>& excesses, const std::vector<double>& censored);

class Spot {
 public:
  explicit Spot(SpotOptions options = {}) : options_(options) { SpotOptions::schema().validate(options_); }
  // Calibrates on scores that carry no test labels (the training split); `ceiling`: the largest score the stream
  // can reach (see above; infinity: unbounded).
  void fit(const std::vector<double>& calibration, double ceiling = std::numeric_limits<double>::infinity());
  double threshold() const { return z_; }        // current alarm threshold z_q
  // Whether the threshold is the largest calibration score because z_q lay at or above the ceiling.
  bool capped() const { return capped_; }
  double initial_threshold() const { return t_; }
  // The chance that a normal score exceeds x, by the fitted tail: above the initial threshold t the GPD's
  // (N_t / n) (1 + gamma (x - t) / sigma)^(-1 / gamma) (0 beyond a bounded tail's end); nullopt at or below t, or
  // without peaks (the calibration scores themselves say it there).
  std::optional<double> tail_probability(double x) const;
  // Alarms for a stream of scores (updates the threshold when dynamic). thresholds_out gets z per step.
  std::vector<bool> run(const std::vector<double>& scores, std::vector<double>* thresholds_out = nullptr);
  // One step of run(): the alarm for `score` (the threshold it was compared with goes to *threshold).
  bool step(double score, double* threshold = nullptr);

  nlohmann::json to_json() const;  // the calibrated state (thresholds, peaks, fit)
  static Spot from_json(const nlohmann::json& j);  // ModelError on a malformed object

 private:
  void update_threshold();
  SpotOptions options_;
  double t_ = 0, z_ = 0;
  double ceiling_ = std::numeric_limits<double>::infinity();
  double largest_ = 0;  // the largest calibration score
  bool capped_ = false;
  std::int64_t n_ = 0;            // observations seen
  std::vector<double> peaks_;     // excesses over t
  std::vector<double> censored_;  // (SpotOptions::censor) the alarms' excesses, known to be at least these
  bool alarmed_ = false;          // the last score alarmed (a run's later alarms are not censored peaks)
  GpdFit fit_;
};

}  // namespace rslicer
