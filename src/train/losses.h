// URCL losses (Unified Runtime Contrastive Learning). Each is a pure function
// of embeddings and batch metadata, differentiable by autograd, and has a
// finite-difference gradient test (tests/train/losses_test.cc). All
// embeddings passed in are expected L2-normalised; s_ij = z_i . z_j.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/config.h"

namespace rslicer {

struct LossConfig {
  double tau = 0.1;                 // InfoNCE temperature (L_modal, L_temp)
  double lambda_modal = 1.0;        // weight of L_modal (0 removes it: ablation)
  double lambda_temp = 1.0;         // weight of L_temp
  double delta = 0.1;               // L_temp slack: a positive pair with s_ij >= 1 - delta is not pulled further
  double lambda_anom = 0.5;         // weight of L_anom (0 removes it)
  double gamma = 0.5;               // L_anom: anomalous slices' cosine to the normal prototype is pushed below gamma
  double lambda_entity = 1.0;       // weight of L_entity (entity-level root cause; 0 removes it and the entity head)
  static const config::Schema<LossConfig>& schema();
};

// L_modal: symmetric InfoNCE between the modality embeddings of the same slice.
//   modality [B, M, D], mask [B, M] bool, fused [B, D], neg_mask [B, B] bool
//   (true where j may serve as a negative for i; the diagonal is ignored).
// The "views" are the M modalities plus the fused embedding. For every pair
// of views (a, b) (all modality pairs, and each modality vs fused), over the
// slices S_ab that have both views (|S_ab| >= 2):
//   l_ab(i) = -log( exp(s(a_i, b_i)/tau) / (exp(s(a_i,b_i)/tau) + sum_{j in S_ab, neg(i,j)} exp(s(a_i, b_j)/tau)) )
// and symmetrically with a, b swapped; L_modal = mean over pairs of the mean
// over i of (l_ab(i) + l_ba(i)) / 2. Pairs with fewer than 2 slices are
// skipped; returns 0 when no pair qualifies. Passing neg_mask = "slices do
// not overlap in time" keeps temporally overlapping slices from being
// pushed apart (they are L_temp's positives).
torch::Tensor modal_loss(const torch::Tensor& modality, const torch::Tensor& mask, const torch::Tensor& fused,
                         const torch::Tensor& neg_mask, double tau);

// L_temp: temporal consistency with overlap weights and slack.
//   z [B, D], omega [B, B] with omega_ij = overlap(i, j) / W in [0, 1]
//   (diagonal ignored). For anchor i, positives P(i) = {j != i: omega_ij > 0},
//   negatives N(i) = {k != i: omega_ik = 0}. With slack
//   s'_ij = min(s_ij + delta, 1):
//   l_ij = -log( exp(s'_ij/tau) / (exp(s'_ij/tau) + sum_{k in N(i)} exp(s_ik/tau)) )
//   L_temp = (1/|A|) sum_{i in A} (1/|P(i)|) sum_{j in P(i)} omega_ij * l_ij,
//   A = anchors with |P(i)| >= 1 and |N(i)| >= 1. A pair is pulled in
//   proportion to its overlap; once s_ij >= 1 - delta the pull stops (its
//   gradient is only the push on negatives), so real state changes between
//   overlapping windows are not smoothed away. Returns 0 when A is empty.
torch::Tensor temporal_loss(const torch::Tensor& z, const torch::Tensor& omega, double tau, double delta);

// L_anom: weak anomaly separation.
//   z [B, D], anomalous [B] bool (slice overlaps a labelled fault),
//   prototype [D] (normal prototype, L2-normalised; pass the batch normal
//   mean or an EMA, detached or not as the caller decides).
//   L_anom = mean over anomalous i of max(0, s(z_i, p) - gamma)^2 .
//   Returns 0 when there is no anomalous slice.
torch::Tensor anomaly_loss(const torch::Tensor& z, const torch::Tensor& anomalous, const torch::Tensor& prototype,
                           double gamma);

// L_entity: entity-level root cause, taught by controlled injection (the
// simulator sources; TrainingSet::entity_labels).
//   entity_logits: per slice, [E] root-cause logits of its entities
//   (model/runtime_encoder.h slice_entity_logits); targets: per slice, the
//   positions of its root-cause entities, empty for a normal slice.
// A slice chooses among its E entities and "no root cause" (logit 0):
//   l = -log sum_{t in targets} p_t (a slice in a fault), -log p_none (normal),
//   p = softmax over [logits, 0]. L_entity = mean over the slices.
// So an entity's logit is a calibrated "this entity is the root cause now":
// comparable across slices, low everywhere in normal time. Returns 0 for no
// slice.
torch::Tensor entity_loss(const std::vector<torch::Tensor>& entity_logits,
                          const std::vector<std::vector<std::int64_t>>& targets);

// Normal prototype of a batch: L2-normalised mean of the rows of z where
// `anomalous` is false; undefined tensor when there is none.
torch::Tensor normal_prototype(const torch::Tensor& z, const torch::Tensor& anomalous);

}  // namespace rslicer
