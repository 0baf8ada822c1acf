#include "tune/state_partition.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/errors.h"

namespace rslicer {

const config::Schema<PartitionOptions>& PartitionOptions::schema() {
  using config::Range;
  static const auto s =
      config::Schema<PartitionOptions>("partition")
          .num("k", &PartitionOptions::k, "number of runtime states; 0 = chosen by silhouette", Range::closed(0, 256))
          .num("k_min", &PartitionOptions::k_min, "smallest K tried when k = 0", Range::closed(1, 256))
          .num("k_max", &PartitionOptions::k_max, "largest K tried when k = 0", Range::closed(1, 256))
          .num("restarts", &PartitionOptions::restarts, "k-means runs per K; the lowest inertia wins",
               Range::at_least(1))
          .num("max_iterations", &PartitionOptions::max_iterations, "Lloyd iterations per run", Range::at_least(1))
          .num("min_cluster_fraction", &PartitionOptions::min_cluster_fraction,
               "clusters with fewer members are merged into the nearest", Range::closed_open(0, 1))
          .num("silhouette_sample", &PartitionOptions::silhouette_sample, "points used to compute the silhouette",
               Range::at_least(2))
          .rule([](const PartitionOptions& o, const std::string& where) {
            RSLICER_CHECK(o.k_min <= o.k_max, InvalidInput, where, ".k_min (", o.k_min, ") must not exceed k_max (",
                          o.k_max, ")");
          });
  return s;
}
namespace {

constexpr int kFormatVersion = 1;

double sq_dist(const float* a, const float* b, int dim) {
  double s = 0;
  for (int j = 0; j < dim; ++j) {
    double d = static_cast<double>(a[j]) - b[j];
    s += d * d;
  }
  return s;
}

// Index of the centroid (row of `centroids`, [k * dim]) nearest to `v`;
// ties go to the lower index. *dist_out gets the squared distance.
int nearest_centroid(const float* v, const float* centroids, int k, int dim, double* dist_out = nullptr) {
  int best = 0;
  double best_d = std::numeric_limits<double>::infinity();
  for (int c = 0; c < k; ++c) {
    const double d = sq_dist(v, centroids + static_cast<size_t>(c) * dim, dim);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  if (dist_out) *dist_out = best_d;
  return best;
}

struct KMeansResult {
  std::vector<float> centroids;  // [k * dim]
  std::vector<int> labels;       // [n]
  double inertia = 0;
};

// One k-means run: k-means++ seeding, then Lloyd iterations.
KMeansResult kmeans_once(const float* x, std::int64_t n, int dim, int k, int max_iterations,
                         std::mt19937_64& rng) {
  KMeansResult r;
  r.centroids.assign(static_cast<size_t>(k) * dim, 0.f);
  r.labels.assign(n, 0);
  std::uniform_int_distribution<std::int64_t> pick(0, n - 1);
  std::int64_t first = pick(rng);
  std::copy(x + first * dim, x + (first + 1) * dim, r.centroids.begin());
  std::vector<double> d2(n);
  for (std::int64_t i = 0; i < n; ++i) d2[i] = sq_dist(x + i * dim, r.centroids.data(), dim);
  for (int c = 1; c < k; ++c) {
    double total = std::accumulate(d2.begin(), d2.end(), 0.0);
    std::int64_t chosen = pick(rng);
    if (total > 0) {
      std::uniform_real_distribution<double> u(0, total);
      double target = u(rng), acc = 0;
      for (std::int64_t i = 0; i < n; ++i) {
        acc += d2[i];
        if (acc >= target) {
          chosen = i;
          break;
        }
      }
    }
    std::copy(x + chosen * dim, x + (chosen + 1) * dim, r.centroids.begin() + static_cast<size_t>(c) * dim);
    for (std::int64_t i = 0; i < n; ++i)
      d2[i] = std::min(d2[i], sq_dist(x + i * dim, r.centroids.data() + static_cast<size_t>(c) * dim, dim));
  }
  std::vector<double> sums(static_cast<size_t>(k) * dim);
  std::vector<std::int64_t> counts(k);
  for (int it = 0; it < max_iterations; ++it) {
    bool changed = it == 0;
    r.inertia = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      double best_d = 0;
      const int best = nearest_centroid(x + i * dim, r.centroids.data(), k, dim, &best_d);
      if (r.labels[i] != best) changed = true;
      r.labels[i] = best;
      r.inertia += best_d;
    }
    if (!changed) break;
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(counts.begin(), counts.end(), 0);
    for (std::int64_t i = 0; i < n; ++i) {
      counts[r.labels[i]]++;
      for (int j = 0; j < dim; ++j) sums[static_cast<size_t>(r.labels[i]) * dim + j] += x[i * dim + j];
    }
    for (int c = 0; c < k; ++c) {
      if (counts[c] == 0) {
        // Empty cluster: re-seed on the point farthest from its centroid.
        std::int64_t far = 0;
        double far_d = -1;
        for (std::int64_t i = 0; i < n; ++i) {
          double d = sq_dist(x + i * dim, r.centroids.data() + static_cast<size_t>(r.labels[i]) * dim, dim);
          if (d > far_d) {
            far_d = d;
            far = i;
          }
        }
        std::copy(x + far * dim, x + (far + 1) * dim, r.centroids.begin() + static_cast<size_t>(c) * dim);
        continue;
      }
      for (int j = 0; j < dim; ++j)
        r.centroids[static_cast<size_t>(c) * dim + j] = static_cast<float>(sums[static_cast<size_t>(c) * dim + j] / counts[c]);
    }
  }
  return r;
}

KMeansResult kmeans(const float* x, std::int64_t n, int dim, int k, const PartitionOptions& o, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  KMeansResult best;
  best.inertia = std::numeric_limits<double>::infinity();
  for (int r = 0; r < std::max(1, o.restarts); ++r) {
    KMeansResult cur = kmeans_once(x, n, dim, k, o.max_iterations, rng);
    if (cur.inertia < best.inertia) best = std::move(cur);
  }
  return best;
}

// Merges clusters with fewer than min_size members into the nearest other
// centroid, smallest first, then recomputes centroids and labels.
void merge_small(const float* x, std::int64_t n, int dim, KMeansResult& r, std::int64_t min_size) {
  int k = static_cast<int>(r.centroids.size() / dim);
  while (k > 1) {
    std::vector<std::int64_t> counts(k, 0);
    for (int l : r.labels) counts[l]++;
    int smallest = static_cast<int>(std::min_element(counts.begin(), counts.end()) - counts.begin());
    if (counts[smallest] >= min_size) break;
    int target = -1;
    double target_d = std::numeric_limits<double>::infinity();
    for (int c = 0; c < k; ++c) {
      if (c == smallest) continue;
      double d = sq_dist(r.centroids.data() + static_cast<size_t>(smallest) * dim,
                         r.centroids.data() + static_cast<size_t>(c) * dim, dim);
      if (d < target_d) {
        target_d = d;
        target = c;
      }
    }
    for (int& l : r.labels) {
      if (l == smallest) l = target;
      if (l > smallest) --l;
    }
    r.centroids.erase(r.centroids.begin() + static_cast<size_t>(smallest) * dim,
                      r.centroids.begin() + static_cast<size_t>(smallest + 1) * dim);
    --k;
    // Recompute centroids from members.
    std::vector<double> sums(static_cast<size_t>(k) * dim, 0.0);
    std::vector<std::int64_t> cnt(k, 0);
    for (std::int64_t i = 0; i < n; ++i) {
      cnt[r.labels[i]]++;
      for (int j = 0; j < dim; ++j) sums[static_cast<size_t>(r.labels[i]) * dim + j] += x[i * dim + j];
    }
    for (int c = 0; c < k; ++c)
      if (cnt[c] > 0)
        for (int j = 0; j < dim; ++j)
          r.centroids[static_cast<size_t>(c) * dim + j] = static_cast<float>(sums[static_cast<size_t>(c) * dim + j] / cnt[c]);
  }
  // Final re-assignment to the nearest centroid so labels agree with assign().
  r.inertia = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    double best_d = 0;
    const int best = nearest_centroid(x + i * dim, r.centroids.data(), k, dim, &best_d);
    r.labels[i] = best;
    r.inertia += best_d;
  }
}

}  // namespace

double silhouette_score(const float* x, std::int64_t n, int dim, const std::vector<int>& labels,
                        const std::vector<std::int64_t>& sample) {
  if (n < 2) return 0;
  int k = 0;
  for (int l : labels) k = std::max(k, l + 1);
  if (k < 2) return 0;
  std::vector<std::int64_t> idx = sample;
  if (idx.empty()) {
    idx.resize(n);
    std::iota(idx.begin(), idx.end(), 0);
  }
  std::vector<std::int64_t> counts(k, 0);
  for (std::int64_t i : idx) counts[labels[i]]++;
  double total = 0;
  std::vector<double> sum_d(k);
  for (std::int64_t i : idx) {
    std::fill(sum_d.begin(), sum_d.end(), 0.0);
    for (std::int64_t j : idx) {
      if (i == j) continue;
      sum_d[labels[j]] += std::sqrt(sq_dist(x + i * dim, x + j * dim, dim));
    }
    int own = labels[i];
    if (counts[own] <= 1) continue;  // singleton: 0
    double a = sum_d[own] / (counts[own] - 1);
    double b = std::numeric_limits<double>::infinity();
    for (int c = 0; c < k; ++c)
      if (c != own && counts[c] > 0) b = std::min(b, sum_d[c] / counts[c]);
    if (!std::isfinite(b)) continue;
    double m = std::max(a, b);
    total += m > 0 ? (b - a) / m : 0;
  }
  return total / static_cast<double>(idx.size());
}

StatePartition StatePartition::fit(const std::vector<std::vector<float>>& rows, const PartitionOptions& options) {
  RSLICER_CHECK(!rows.empty(), InvalidInput, "state partition: no vectors to fit");
  int dim = static_cast<int>(rows[0].size());
  std::vector<float> flat;
  flat.reserve(rows.size() * dim);
  for (size_t i = 0; i < rows.size(); ++i) {
    RSLICER_CHECK(static_cast<int>(rows[i].size()) == dim, InvalidInput, "state partition: row ", i, " has ",
                  rows[i].size(), " values, expected ", dim);
    flat.insert(flat.end(), rows[i].begin(), rows[i].end());
  }
  return fit(flat.data(), static_cast<std::int64_t>(rows.size()), dim, options);
}

StatePartition StatePartition::fit(const float* x, std::int64_t n, int dim, const PartitionOptions& o) {
  RSLICER_CHECK(n > 0 && dim > 0, InvalidInput, "state partition: need vectors to fit (n=", n, ", dim=", dim, ")");
  PartitionOptions::schema().validate(o);
  StatePartition p;
  p.dim_ = dim;
  std::int64_t min_size = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(o.min_cluster_fraction * n)));

  // The silhouette sample is drawn once, so every K is scored on the same points.
  std::vector<std::int64_t> sample(n);
  std::iota(sample.begin(), sample.end(), 0);
  if (n > o.silhouette_sample && o.silhouette_sample > 0) {
    std::mt19937_64 rng(o.seed ^ 0x9e3779b97f4a7c15ull);
    std::shuffle(sample.begin(), sample.end(), rng);
    sample.resize(o.silhouette_sample);
  }

  KMeansResult chosen;
  if (o.k > 0) {
    int k = static_cast<int>(std::min<std::int64_t>(o.k, n));
    chosen = kmeans(x, n, dim, k, o, o.seed);
    merge_small(x, n, dim, chosen, min_size);
    p.silhouette_ = silhouette_score(x, n, dim, chosen.labels, sample);
  } else {
    double best_s = -2;
    for (int k = o.k_min; k <= std::min<std::int64_t>(o.k_max, n); ++k) {
      KMeansResult cur = kmeans(x, n, dim, k, o, o.seed + static_cast<std::uint64_t>(k));
      merge_small(x, n, dim, cur, min_size);
      double s = silhouette_score(x, n, dim, cur.labels, sample);
      p.silhouette_by_k_.push_back({k, s});
      // Strictly better wins, so ties keep the smaller K.
      if (s > best_s + 1e-12) {
        best_s = s;
        chosen = std::move(cur);
      }
    }
    p.silhouette_ = std::max(best_s, 0.0);
  }
  p.k_ = static_cast<int>(chosen.centroids.size() / dim);
  p.centroids_ = std::move(chosen.centroids);
  p.sizes_.assign(p.k_, 0);
  for (int l : chosen.labels) p.sizes_[l]++;
  return p;
}

int StatePartition::assign(const float* v) const { return nearest_centroid(v, centroids_.data(), k_, dim_); }

std::string StatePartition::to_json() const {
  nlohmann::json j;
  j["format"] = "rslicer-state-partition";
  j["version"] = kFormatVersion;
  j["k"] = k_;
  j["dim"] = dim_;
  j["silhouette"] = silhouette_;
  j["sizes"] = sizes_;
  nlohmann::json sk = nlohmann::json::array();
  for (auto& [k, s] : silhouette_by_k_) sk.push_back({{"k", k}, {"silhouette", s}});
  j["silhouette_by_k"] = sk;
  nlohmann::json c = nlohmann::json::array();
  for (int i = 0; i < k_; ++i)
    c.push_back(std::vector<float>(centroids_.begin() + static_cast<size_t>(i) * dim_,
                                   centroids_.begin() + static_cast<size_t>(i + 1) * dim_));
  j["centroids"] = c;
  return j.dump(1);
}

StatePartition StatePartition::from_json(const std::string& text, const std::string& origin) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw ModelError(cat(origin, ": not valid JSON: ", e.what()));
  }
  RSLICER_CHECK(j.value("format", "") == "rslicer-state-partition", ModelError, origin,
                ": not a state partition file (format field is '", j.value("format", ""), "')");
  RSLICER_CHECK(j.value("version", 0) == kFormatVersion, ModelError, origin, ": unsupported version ",
                j.value("version", 0), " (expected ", kFormatVersion, ")");
  StatePartition p;
  try {
    p.k_ = j.at("k").get<int>();
    p.dim_ = j.at("dim").get<int>();
    p.silhouette_ = j.value("silhouette", 0.0);
    p.sizes_ = j.value("sizes", std::vector<std::int64_t>{});
    for (auto& e : j.value("silhouette_by_k", nlohmann::json::array()))
      p.silhouette_by_k_.push_back({e.at("k").get<int>(), e.at("silhouette").get<double>()});
    const auto& c = j.at("centroids");
    RSLICER_CHECK(static_cast<int>(c.size()) == p.k_, ModelError, origin, ": ", c.size(), " centroids, k=", p.k_);
    for (const auto& row : c) {
      auto v = row.get<std::vector<float>>();
      RSLICER_CHECK(static_cast<int>(v.size()) == p.dim_, ModelError, origin, ": centroid of ", v.size(),
                    " values, dim=", p.dim_);
      p.centroids_.insert(p.centroids_.end(), v.begin(), v.end());
    }
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(cat(origin, ": malformed state partition: ", e.what()));
  }
  RSLICER_CHECK(p.k_ > 0 && p.dim_ > 0, ModelError, origin, ": empty state partition");
  return p;
}

void StatePartition::save(const std::string& path) const {
  std::ofstream f(path);
  RSLICER_CHECK(f.good(), IoError, "cannot write ", path);
  f << to_json() << "\n";
  RSLICER_CHECK(f.good(), IoError, "write failed: ", path);
}

StatePartition StatePartition::load(const std::string& path) {
  std::ifstream f(path);
  RSLICER_CHECK(f.good(), IoError, "cannot read ", path);
  std::stringstream ss;
  ss << f.rdbuf();
  return from_json(ss.str(), path);
}

}  // namespace rslicer
