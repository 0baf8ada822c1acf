#include "train/losses.h"

#include "core/errors.h"

namespace rslicer {

const config::Schema<LossConfig>& LossConfig::schema() {
  using config::Range;
  static const auto s =
      config::Schema<LossConfig>("loss")
          .num("tau", &LossConfig::tau, "InfoNCE temperature (L_modal, L_temp)", Range::above(0))
          .num("lambda_modal", &LossConfig::lambda_modal, "weight of L_modal (0 removes it)", Range::at_least(0))
          .num("lambda_temp", &LossConfig::lambda_temp, "weight of L_temp (0 removes it)", Range::at_least(0))
          .num("delta", &LossConfig::delta, "L_temp slack: a pair with cosine >= 1 - delta is not pulled further",
               Range::closed_open(0, 2))
          .num("lambda_anom", &LossConfig::lambda_anom, "weight of L_anom (0 removes it)", Range::at_least(0))
          .num("lambda_entity", &LossConfig::lambda_entity,
               "weight of L_entity, the entity-level root-cause term (0 removes it and the entity head)",
               Range::at_least(0))
          .num("gamma", &LossConfig::gamma, "L_anom: anomalous slices' cosine to the normal prototype stays below",
               Range::open_closed(-1, 1));
  return s;
}

namespace {

// InfoNCE of anchors a [n, D] against candidates b [n, D] where row i of b is
// the positive of row i of a and neg [n, n] (bool) says which j are negatives.
// Returns the per-anchor loss [n].
torch::Tensor info_nce_rows(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& neg, double tau) {
  auto logits = torch::matmul(a, b.t()) / tau;                  // [n, n]
  auto n = a.size(0);
  auto eye = torch::eye(n, torch::TensorOptions().dtype(torch::kBool));
  auto keep = neg.logical_and(eye.logical_not()).logical_or(eye);  // positives + allowed negatives
  auto masked = logits.masked_fill(keep.logical_not(), -1e9);
  return torch::logsumexp(masked, 1) - logits.diagonal();       // [n]
}

}  // namespace

torch::Tensor modal_loss(const torch::Tensor& modality, const torch::Tensor& mask, const torch::Tensor& fused,
                         const torch::Tensor& neg_mask, double tau) {
  const auto M = modality.size(1);
  auto total = torch::zeros({}, modality.options());
  int pairs = 0;
  // views 0..M-1: modalities; view M: fused (always present)
  auto view = [&](std::int64_t v) { return v < M ? modality.select(1, v) : fused; };
  auto present = [&](std::int64_t v) {
    return v < M ? mask.select(1, v) : torch::ones({fused.size(0)}, torch::kBool);
  };
  for (std::int64_t a = 0; a < M; ++a) {
    for (std::int64_t bv = a + 1; bv <= M; ++bv) {
      auto both = present(a).logical_and(present(bv));
      auto idx = both.nonzero().squeeze(1);
      if (idx.size(0) < 2) continue;
      auto za = view(a).index_select(0, idx), zb = view(bv).index_select(0, idx);
      auto neg = neg_mask.index_select(0, idx).index_select(1, idx);
      auto l = 0.5 * (info_nce_rows(za, zb, neg, tau) + info_nce_rows(zb, za, neg.t(), tau));
      total = total + l.mean();
      ++pairs;
    }
  }
  return pairs ? total / pairs : total;
}

torch::Tensor temporal_loss(const torch::Tensor& z, const torch::Tensor& omega, double tau, double delta) {
  const auto B = z.size(0);
  auto eye = torch::eye(B, torch::TensorOptions().dtype(torch::kBool));
  auto pos = omega.gt(0).logical_and(eye.logical_not());          // [B, B]
  auto neg = omega.le(0).logical_and(eye.logical_not());          // [B, B]
  auto sim = torch::matmul(z, z.t());                              // [B, B]
  auto sim_slack = torch::clamp_max(sim + delta, 1.0);             // s'_ij
  // log of the negatives' partition per anchor: [B, 1]
  auto neg_logits = (sim / tau).masked_fill(neg.logical_not(), -1e9);
  auto neg_lse = torch::logsumexp(neg_logits, 1, /*keepdim=*/true);
  auto pos_logit = sim_slack / tau;                                // [B, B]
  // l_ij = -pos + log(exp(pos) + exp(neg_lse)) = softplus(neg_lse - pos)
  auto l = torch::nn::functional::softplus(neg_lse - pos_logit);   // [B, B]
  auto posf = pos.to(z.dtype());
  auto n_pos = posf.sum(1);                                        // [B]
  auto anchors = n_pos.gt(0).logical_and(neg.any(1));              // [B]
  auto per_anchor = (l * omega * posf).sum(1) / n_pos.clamp_min(1.0);
  auto n_anchor = anchors.sum();
  if (n_anchor.item<std::int64_t>() == 0) return torch::zeros({}, z.options());
  return (per_anchor * anchors.to(z.dtype())).sum() / n_anchor.to(z.dtype());
}

torch::Tensor anomaly_loss(const torch::Tensor& z, const torch::Tensor& anomalous, const torch::Tensor& prototype,
                           double gamma) {
  if (!prototype.defined() || anomalous.sum().item<std::int64_t>() == 0) return torch::zeros({}, z.options());
  auto idx = anomalous.nonzero().squeeze(1);
  auto s = torch::matmul(z.index_select(0, idx), prototype);      // [n_anom]
  return torch::relu(s - gamma).pow(2).mean();
}

torch::Tensor entity_loss(const std::vector<torch::Tensor>& entity_logits,
                          const std::vector<std::vector<std::int64_t>>& targets) {
  RSLICER_CHECK(entity_logits.size() == targets.size(), InvalidInput, "entity_loss: ", entity_logits.size(),
                " slices of logits, ", targets.size(), " of targets");
  std::vector<torch::Tensor> terms;
  for (size_t i = 0; i < entity_logits.size(); ++i) {
    const auto& x = entity_logits[i];
    auto all = torch::cat({x, torch::zeros({1}, x.options())});  // [E + 1], the last is "no root cause"
    auto logp = torch::log_softmax(all, 0);
    if (targets[i].empty()) {
      terms.push_back(-logp[x.size(0)]);
    } else {
      for (auto t : targets[i])
        RSLICER_CHECK(t >= 0 && t < x.size(0), InvalidInput, "entity_loss: target ", t, " outside ", x.size(0),
                      " entities");
      terms.push_back(-logp.index_select(0, torch::tensor(targets[i], torch::kLong)).logsumexp(0));
    }
  }
  if (terms.empty()) return torch::zeros({});
  return torch::stack(terms).mean();
}

torch::Tensor normal_prototype(const torch::Tensor& z, const torch::Tensor& anomalous) {
  auto normal = anomalous.logical_not();
  if (normal.sum().item<std::int64_t>() == 0) return torch::Tensor();
  auto mean = z.index_select(0, normal.nonzero().squeeze(1)).mean(0);
  return torch::nn::functional::normalize(mean, torch::nn::functional::NormalizeFuncOptions().dim(0).eps(1e-8));
}

}  // namespace rslicer
