// Unsupervised partition of runtime states: k-means (k-means++ seeding,
// several restarts, fixed seed) on unified state embeddings, K chosen by the
// silhouette over [k_min, k_max] or fixed in the options, clusters smaller
// than min_cluster_fraction merged into the nearest one. assign(s) is the
// nearest centroid. Persisted as JSON (states.json) in the model folder.
//
// Data layout: component j of vector i is x[i * dim + j].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"

namespace rslicer {

struct PartitionOptions {
  int k = 0;                          // number of states; 0 = choose by silhouette over [k_min, k_max]
  int k_min = 2;                      // smallest K tried when k == 0
  int k_max = 8;                      // largest K tried when k == 0
  int restarts = 5;                   // k-means runs per K; the lowest inertia wins
  int max_iterations = 100;           // Lloyd iterations per run
  double min_cluster_fraction = 0.02; // clusters with fewer members (share of points) are merged into the nearest
  int silhouette_sample = 1500;       // points used to compute the silhouette (sampled with the seed)
  std::uint64_t seed = 1234;          // one seed for seeding, restarts and sampling
  static const config::Schema<PartitionOptions>& schema();
};

class StatePartition {
 public:
  StatePartition() = default;
  // Fits on n vectors of `dim` floats. Throws InvalidInput when n == 0 or dim == 0.
  static StatePartition fit(const float* x, std::int64_t n, int dim, const PartitionOptions& options);
  static StatePartition fit(const std::vector<std::vector<float>>& rows, const PartitionOptions& options);

  // Nearest centroid (squared Euclidean) of one vector of dim() floats.
  int assign(const float* v) const;
  int assign(const std::vector<float>& v) const { return assign(v.data()); }

  int num_states() const { return k_; }
  int dim() const { return dim_; }
  const std::vector<float>& centroids() const { return centroids_; }  // [k * dim]
  const std::vector<std::int64_t>& sizes() const { return sizes_; }   // training members per state
  double silhouette() const { return silhouette_; }                   // of the chosen K (0 when K == 1)
  const std::vector<std::pair<int, double>>& silhouette_by_k() const { return silhouette_by_k_; }

  std::string to_json() const;
  static StatePartition from_json(const std::string& text, const std::string& origin = "<string>");
  void save(const std::string& path) const;           // throws IoError
  static StatePartition load(const std::string& path);  // throws IoError / ModelError

 private:
  int k_ = 0;
  int dim_ = 0;
  std::vector<float> centroids_;
  std::vector<std::int64_t> sizes_;
  double silhouette_ = 0;
  std::vector<std::pair<int, double>> silhouette_by_k_;
};

// Mean silhouette of a labelling (squared-free Euclidean distances) over the
// points listed in `sample` (all points when empty). Points in singleton
// clusters score 0, as in scikit-learn.
double silhouette_score(const float* x, std::int64_t n, int dim, const std::vector<int>& labels,
                        const std::vector<std::int64_t>& sample = {});

}  // namespace rslicer
