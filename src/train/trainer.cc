#include "train/trainer.h"

#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "core/errors.h"
#include "core/progress.h"
#include "tasks/rootcause.h"
#include "train/model_files.h"

namespace rslicer {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- config

const config::Schema<SourceSpec>& SourceSpec::schema() {
  static const auto s =
      config::Schema<SourceSpec>("source")
          .text("type", &SourceSpec::type, "a dataset folder or the simulator", {"dataset", "simulator"})
          .text("path", &SourceSpec::path, "dataset path (type dataset)")
          .text("format", &SourceSpec::format, "reader format (type dataset)",
                {"auto", "nezha", "aiops22", "otlp"})
          .num("ratio", &SourceSpec::ratio, "relative share of training batches", config::Range::above(0))
          .custom(
              "simulator", "SimConfig fields (type simulator; docs/simulator.md)", "object",
              [](const SourceSpec& x) { return x.simulator.is_null() ? nlohmann::json::object() : x.simulator; },
              [](const nlohmann::json& v, SourceSpec& x, const std::string& path) {
                if (!v.is_object()) config::detail::bad_type(path, v, "an object of simulator settings");
                x.simulator = v;
              })
          .rule([](const SourceSpec& x, const std::string& path) {
            RSLICER_CHECK(x.type != "dataset" || !x.path.empty(), InvalidInput, path, ".path is empty");
          });
  return s;
}

const config::Schema<TrainConfig>& TrainConfig::schema() {
  using config::Range;
  static const auto s =
      config::Schema<TrainConfig>()
          .sub("encoder", &TrainConfig::encoder, "encoder architecture")
          .sub("loss", &TrainConfig::loss, "URCL loss terms and weights")
          .sub("features", &TrainConfig::features, "feature extraction")
          .sub("slice", &TrainConfig::slice, "window length and stride")
          .sub("split", &TrainConfig::split, "time-ordered train / validation / test rule")
          .subs("sources", &TrainConfig::sources, "training sources; empty: the --data folder")
          .num("seed", &TrainConfig::seed,
               "the one seed: weights, batches, state partition, bootstrap")
          .num("threads", &TrainConfig::threads, "at::set_num_threads (1 is fastest for this small model)",
               Range::closed(1, 256))
          .num("max_epochs", &TrainConfig::max_epochs, "upper bound on epochs", Range::at_least(1))
          .num("steps_per_epoch", &TrainConfig::steps_per_epoch, "0: about (training slices / batch size) steps",
               Range::at_least(0))
          .num("batch_runs", &TrainConfig::batch_runs, "runs of consecutive slices per batch", Range::at_least(1))
          .num("run_len", &TrainConfig::run_len, "slices per run (temporal neighbours for L_temp)", Range::at_least(1))
          .num("lr", &TrainConfig::lr, "AdamW peak learning rate", Range::above(0))
          .num("weight_decay", &TrainConfig::weight_decay, "AdamW weight decay", Range::at_least(0))
          .num("warmup_fraction", &TrainConfig::warmup_fraction, "linear warm-up share of all steps",
               Range::closed_open(0, 1))
          .num("min_lr_ratio", &TrainConfig::min_lr_ratio, "final learning rate / peak", Range::closed(0, 1))
          .num("grad_clip", &TrainConfig::grad_clip, "max global gradient norm (0 = none)", Range::at_least(0))
          .num("patience", &TrainConfig::patience, "early stopping: epochs without validation improvement",
               Range::at_least(1))
          .num("min_delta", &TrainConfig::min_delta, "an improvement smaller than this does not count",
               Range::at_least(0))
          .num("max_minutes", &TrainConfig::max_minutes, "wall-clock budget in minutes for reading the training data and training the encoder; an epoch "
               "starts only if the longest so far still fits, and is cut short at the budget (0 = none)",
               Range::at_least(0))
          .flag("weak_labels", &TrainConfig::weak_labels, "use the fault labels of the training part (and of simulator sources) for "
                "L_anom; off by default (it lowered AD and triage on held-out simulated systems, docs/results.md)")
          .num("embed_batch", &TrainConfig::embed_batch, "batch size when embedding", Range::at_least(1))
          .sub("heads", &TrainConfig::heads, "the state-aware heads fitted after the encoder")
          .text("ad_view", &TrainConfig::ad_view,
                "AD embeddings: all, metrics (traces/logs masked), metrics+traces (logs masked), auto = metrics when "
                "traces/logs cover under half of the training slices, else all",
                {"auto", "all", "metrics", "metrics+traces"})
          .rule([](const TrainConfig& c, const std::string&) {
            RSLICER_CHECK(c.batch_runs * c.run_len >= 2, InvalidInput, "batch_runs * run_len must be >= 2 (got ",
                          c.batch_runs, " x ", c.run_len, ")");
            RSLICER_CHECK(c.encoder.name_buckets == c.features.name_buckets, InvalidInput,
                          "encoder.name_buckets (", c.encoder.name_buckets, ") must equal features.name_buckets (",
                          c.features.name_buckets, ")");
          });
  return s;
}

TrainConfig load_train_config(const std::string& path, const TrainConfig& base) {
  const nlohmann::json j = config::load_json_file(path);
  try {
    return config::from_json(j, base);
  } catch (const InvalidInput& e) {
    throw InvalidInput(cat(path, ": ", e.what()));
  }
}

// ---------------------------------------------------------------- training

namespace {

struct BatchRef {
  size_t set;
  size_t slice;
};

// Tensors the losses need for one batch.
struct BatchTargets {
  torch::Tensor omega;      // [B, B] overlap / window length
  torch::Tensor anomalous;  // [B] bool
};

BatchTargets batch_targets(const std::vector<TrainingSet>& sets, const std::vector<BatchRef>& refs, bool weak_labels) {
  const std::int64_t B = static_cast<std::int64_t>(refs.size());
  auto omega = torch::zeros({B, B}, torch::kFloat32);
  auto anom = torch::zeros({B}, torch::kBool);
  auto oa = omega.accessor<float, 2>();
  auto aa = anom.accessor<bool, 1>();
  for (std::int64_t i = 0; i < B; ++i) {
    const FeatureSlice& a = sets[refs[i].set].data->slices[refs[i].slice];
    aa[i] = weak_labels && !a.faults.empty();
    for (std::int64_t j = 0; j < B; ++j) {
      if (i == j || refs[i].set != refs[j].set) continue;
      const FeatureSlice& b = sets[refs[j].set].data->slices[refs[j].slice];
      TimeUs ov = std::min(a.end, b.end) - std::max(a.start, b.start);
      if (ov > 0) oa[i][j] = static_cast<float>(static_cast<double>(ov) / static_cast<double>(a.end - a.start));
    }
  }
  return {omega, anom};
}

// Per set with entity labels, per fault: the catalog entities its label names (rcl_match: the pod, or every
// entity of a service-level label's service). Empty vectors for sets without entity labels.
std::vector<std::vector<std::vector<Id>>> root_cause_entities(const std::vector<TrainingSet>& sets) {
  std::vector<std::vector<std::vector<Id>>> out(sets.size());
  for (size_t si = 0; si < sets.size(); ++si) {
    if (!sets[si].entity_labels) continue;
    const Dataset& d = *sets[si].data;
    out[si].resize(d.faults.size());
    for (Id e = 0; e < static_cast<Id>(d.catalog.entities.size()); ++e) {
      const std::string& name = d.catalog.entities.name(e);
      const std::string& service = d.catalog.entities.name(d.catalog.service_of(e));
      for (size_t f = 0; f < d.faults.size(); ++f)
        if (rcl_match(name, service, d.faults[f].root_cause, d.faults[f].level)) out[si][f].push_back(e);
    }
  }
  return out;
}

// L_entity of a batch: the slices of sets with entity labels, their entity logits and root-cause targets. A
// slice inside a fault whose root cause has no token in it teaches nothing (it is skipped, not "no root cause").
torch::Tensor batch_entity_loss(const EncoderOutput& out, const std::vector<TrainingSet>& sets,
                                const std::vector<BatchRef>& refs,
                                const std::vector<std::vector<std::vector<Id>>>& causes) {
  std::vector<torch::Tensor> logits;
  std::vector<std::vector<std::int64_t>> targets;
  for (size_t b = 0; b < refs.size(); ++b) {
    if (!sets[refs[b].set].entity_labels) continue;
    const FeatureSlice& s = sets[refs[b].set].data->slices[refs[b].slice];
    std::set<Id> present;
    for (const TokenSet& ts : s.tokens)
      for (Id e : ts.entities)
        if (e != kNoId) present.insert(e);
    if (present.empty()) continue;
    std::vector<Id> order(present.begin(), present.end());
    std::vector<std::int64_t> t;
    for (std::uint32_t f : s.faults)
      for (Id e : causes[refs[b].set][f]) {
        auto it = std::lower_bound(order.begin(), order.end(), e);
        if (it != order.end() && *it == e) t.push_back(it - order.begin());
      }
    if (!s.faults.empty() && t.empty()) continue;
    std::sort(t.begin(), t.end());
    t.erase(std::unique(t.begin(), t.end()), t.end());
    logits.push_back(slice_entity_logits(out, static_cast<std::int64_t>(b), s, order));
    targets.push_back(std::move(t));
  }
  return entity_loss(logits, targets);
}

struct LossTerms {
  torch::Tensor total, modal, temp, anom, entity;
};

LossTerms compute_loss(RuntimeEncoder& enc, const std::vector<TrainingSet>& sets, const std::vector<BatchRef>& refs,
                       const TrainConfig& config, torch::Tensor* proto_ema, bool update_proto,
                       const std::vector<std::vector<std::vector<Id>>>& causes) {
  std::vector<const FeatureSlice*> ptrs;
  for (const auto& r : refs) ptrs.push_back(&sets[r.set].data->slices[r.slice]);
  EncoderBatch batch = make_batch(ptrs);
  BatchTargets t = batch_targets(sets, refs, config.weak_labels);
  EncoderOutput out = enc.forward(batch);
  const LossConfig& lc = config.loss;
  LossTerms l;
  auto zero = torch::zeros({}, out.state.options());
  l.modal = lc.lambda_modal > 0 ? modal_loss(out.modality, out.modality_mask, out.state, t.omega.le(0), lc.tau) : zero;
  l.temp = lc.lambda_temp > 0 ? temporal_loss(out.state, t.omega, lc.tau, lc.delta) : zero;
  l.anom = zero;
  if (lc.lambda_anom > 0 && config.weak_labels) {
    torch::Tensor batch_proto = normal_prototype(out.state.detach(), t.anomalous);
    if (update_proto && batch_proto.defined()) {
      if (!proto_ema->defined()) {
        *proto_ema = batch_proto.clone();
      } else {
        *proto_ema = torch::nn::functional::normalize(
            0.9 * *proto_ema + 0.1 * batch_proto, torch::nn::functional::NormalizeFuncOptions().dim(0).eps(1e-8));
      }
    }
    torch::Tensor proto = proto_ema->defined() ? *proto_ema : batch_proto;
    l.anom = anomaly_loss(out.state, t.anomalous, proto, lc.gamma);
  }
  l.entity = out.entity_logits[0].defined() ? batch_entity_loss(out, sets, refs, causes) : zero;
  l.total = lc.lambda_modal * l.modal + lc.lambda_temp * l.temp + lc.lambda_anom * l.anom +
            lc.lambda_entity * l.entity;
  return l;
}

double lr_at(const TrainConfig& c, std::int64_t step, std::int64_t total) {
  std::int64_t warm = static_cast<std::int64_t>(std::ceil(c.warmup_fraction * total));
  if (warm > 0 && step < warm) return c.lr * static_cast<double>(step + 1) / static_cast<double>(warm);
  double p = total > warm ? static_cast<double>(step - warm) / static_cast<double>(total - warm) : 1.0;
  p = std::clamp(p, 0.0, 1.0);
  double cosv = 0.5 * (1.0 + std::cos(M_PI * p));
  return c.lr * (c.min_lr_ratio + (1.0 - c.min_lr_ratio) * cosv);
}

}  // namespace

TrainResult train_encoder(const TrainConfig& config, const std::vector<TrainingSet>& sets,
                          const TrainOptions& options) {
  auto t_start = std::chrono::steady_clock::now();
  RSLICER_CHECK(!sets.empty() && sets[0].data, InvalidInput, "no training data");
  RSLICER_CHECK(!options.out_dir.empty(), InvalidInput, "no output folder for the model");
  TrainConfig::schema().validate(config);
  std::int64_t n_train = 0;
  for (const auto& s : sets) n_train += static_cast<std::int64_t>(s.train.size());
  RSLICER_CHECK(n_train >= 2, InvalidInput, "need at least 2 training slices, got ", n_train);
  set_compute_threads(config.threads);
  torch::manual_seed(config.seed);
  // The entity head exists when some source's labels can teach it (L_entity).
  EncoderConfig encoder_config = config.encoder;
  encoder_config.entity_head =
      config.loss.lambda_entity > 0 &&
      std::any_of(sets.begin(), sets.end(), [](const TrainingSet& s) { return s.entity_labels && s.data; });
  const auto causes = root_cause_entities(sets);
  std::shared_ptr<RuntimeEncoder> enc = make_encoder(encoder_config);
  TrainConfig built = config;  // what the checkpoint records, so that a resume with other sources is refused clearly
  built.encoder = encoder_config;

  const std::int64_t batch_size = static_cast<std::int64_t>(config.batch_runs) * config.run_len;
  const std::int64_t steps_per_epoch =
      config.steps_per_epoch > 0 ? config.steps_per_epoch
                                 : std::max<std::int64_t>(1, (n_train + batch_size - 1) / batch_size);
  const std::int64_t total_steps = steps_per_epoch * config.max_epochs;

  torch::optim::AdamW opt(enc->parameters(), torch::optim::AdamWOptions(config.lr).weight_decay(config.weight_decay));

  fs::create_directories(options.out_dir);
  const std::string ckpt_dir = options.out_dir + "/checkpoint";
  int start_epoch = 0;
  double best_val = INFINITY;
  int best_epoch = -1, bad_epochs = 0;
  nlohmann::json history = nlohmann::json::array();
  torch::Tensor proto_ema;
  double prior_seconds = 0;
  if (options.resume) {
    TrainCheckpoint ck = load_checkpoint(ckpt_dir, built, *enc, opt);
    start_epoch = ck.epoch + 1;
    best_val = ck.best_validation_loss;
    best_epoch = ck.best_epoch;
    bad_epochs = ck.bad_epochs;
    history = ck.history;
    proto_ema = ck.prototype;
    prior_seconds = ck.seconds;
    if (options.progress)
      std::fprintf(stderr, "resuming after epoch %d (best validation loss %.4f at epoch %d)\n", ck.epoch, best_val,
                   best_epoch);
  }

  // sources with training slices, picked by ratio
  std::vector<size_t> usable;
  std::vector<double> ratios;
  for (size_t i = 0; i < sets.size(); ++i)
    if (sets[i].train.size() >= 2) {
      usable.push_back(i);
      ratios.push_back(sets[i].ratio);
    }
  RSLICER_CHECK(!usable.empty(), InvalidInput, "no source has at least 2 training slices");

  // fixed validation batches: consecutive chunks of each source's validation slices
  std::vector<std::vector<BatchRef>> val_batches;
  for (size_t si = 0; si < sets.size(); ++si) {
    const auto& v = sets[si].validation;
    for (size_t i = 0; i + 1 < v.size(); i += static_cast<size_t>(batch_size)) {
      std::vector<BatchRef> b;
      for (size_t k = i; k < std::min(v.size(), i + static_cast<size_t>(batch_size)); ++k) b.push_back({si, v[k]});
      if (b.size() >= 2) val_batches.push_back(std::move(b));
    }
  }

  TrainResult result;
  const TrainBudget budget(config.max_minutes);
  // seconds spent on this model so far: earlier runs (a resume), reading the data, this call
  auto spent = [&] {
    return prior_seconds + options.spent_s +
           std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  };
  // the longest epoch so far (training and validation), and the last validation's time: what the budget plans with
  double longest_epoch_s = 0, validation_s = 0;
  for (const auto& h : history) {
    longest_epoch_s = std::max(longest_epoch_s, h.value("seconds", 0.0) + h.value("validation_seconds", 0.0));
    validation_s = h.value("validation_seconds", 0.0);
  }
  std::int64_t slices_seen = 0;
  double train_seconds = 0;
  int epoch = start_epoch;
  bool stopped = false;
  for (; epoch < config.max_epochs && !stopped; ++epoch) {
    if (!history.empty() && !budget.start_epoch(spent(), longest_epoch_s)) {
      if (options.progress)
        std::fprintf(stderr, "time budget of %.1f min: %.0f s left, the longest epoch took %.0f s; stopping before epoch %d\n",
                     config.max_minutes, budget.budget_s - spent(), longest_epoch_s, epoch + 1);
      break;
    }
    torch::manual_seed(config.seed + 7919ULL * static_cast<std::uint64_t>(epoch + 1));
    std::mt19937_64 rng(config.seed ^ (0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(epoch + 1)));
    std::discrete_distribution<size_t> pick_set(ratios.begin(), ratios.end());
    enc->train();
    Progress bar(cat("train epoch ", epoch + 1, "/", config.max_epochs), steps_per_epoch, options.progress, 5.0);
    auto e0 = std::chrono::steady_clock::now();
    double sum_total = 0, sum_modal = 0, sum_temp = 0, sum_anom = 0, sum_entity = 0;
    std::int64_t steps_done = 0;
    bool cut = false;
    for (std::int64_t step = 0; step < steps_per_epoch && !cut; ++step) {
      std::vector<BatchRef> refs;
      for (int r = 0; r < config.batch_runs; ++r) {
        size_t si = usable[pick_set(rng)];
        const auto& tr = sets[si].train;
        size_t len = std::min<size_t>(static_cast<size_t>(config.run_len), tr.size());
        std::uniform_int_distribution<size_t> pick_start(0, tr.size() - len);
        size_t p = pick_start(rng);
        for (size_t k = p; k < p + len; ++k) refs.push_back({si, tr[k]});
      }
      double lr = lr_at(config, static_cast<std::int64_t>(epoch) * steps_per_epoch + step, total_steps);
      for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
      opt.zero_grad();
      LossTerms l = compute_loss(*enc, sets, refs, config, &proto_ema, true, causes);
      l.total.backward();
      if (config.grad_clip > 0) torch::nn::utils::clip_grad_norm_(enc->parameters(), config.grad_clip);
      opt.step();
      slices_seen += static_cast<std::int64_t>(refs.size());
      sum_total += l.total.item<double>();
      sum_modal += l.modal.item<double>();
      sum_temp += l.temp.item<double>();
      sum_anom += l.anom.item<double>();
      sum_entity += l.entity.item<double>();
      double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - e0).count();
      double n = static_cast<double>(step + 1);
      bar.update(step + 1, cat("loss ", sum_total / n, " (modal ", sum_modal / n, " temp ", sum_temp / n, " anom ",
                               sum_anom / n, encoder_config.entity_head ? cat(" entity ", sum_entity / n) : "", ") | ", static_cast<int>((step + 1) * batch_size / std::max(el, 1e-9)),
                               " slices/s"));
      steps_done = step + 1;
      cut = steps_done < steps_per_epoch && budget.cut_epoch(spent(), validation_s);
    }
    if (cut && options.progress)
      std::fprintf(stderr, "time budget of %.1f min reached: epoch %d cut after %lld of %lld steps\n",
                   config.max_minutes, epoch + 1, static_cast<long long>(steps_done),
                   static_cast<long long>(steps_per_epoch));
    double epoch_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - e0).count();
    train_seconds += epoch_s;
    // validation
    const auto v0 = std::chrono::steady_clock::now();
    double val = 0;
    double vn = 0;
    {
      torch::NoGradGuard ng;
      enc->eval();
      torch::Tensor proto_copy = proto_ema.defined() ? proto_ema.clone() : torch::Tensor();
      for (const auto& vb : val_batches) {
        LossTerms l = compute_loss(*enc, sets, vb, config, &proto_copy, false, causes);
        val += l.total.item<double>() * static_cast<double>(vb.size());
        vn += static_cast<double>(vb.size());
      }
    }
    validation_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - v0).count();
    longest_epoch_s = std::max(longest_epoch_s, epoch_s + validation_s);
    double n = static_cast<double>(steps_done);
    double val_loss = vn > 0 ? val / vn : sum_total / n;  // no validation slices: training loss
    bool improved = val_loss < best_val - config.min_delta;
    if (improved) {
      best_val = val_loss;
      best_epoch = epoch;
      bad_epochs = 0;
    } else {
      ++bad_epochs;
    }
    double total_s = spent();
    history.push_back({{"epoch", epoch + 1},
                       {"loss", sum_total / n},
                       {"modal", sum_modal / n},
                       {"temp", sum_temp / n},
                       {"anom", sum_anom / n},
                       {"entity", sum_entity / n},
                       {"validation_loss", val_loss},
                       {"lr", lr_at(config, static_cast<std::int64_t>(epoch) * steps_per_epoch + steps_done - 1,
                                    total_steps)},
                       {"seconds", epoch_s},
                       {"validation_seconds", validation_s},
                       {"steps", steps_done},
                       {"cut_by_budget", cut},
                       {"improved", improved}});
    bar.finish(cat("loss ", sum_total / n, " | validation ", val_loss, improved ? " (best)" : "", " | ",
                   static_cast<int>(steps_done * batch_size / std::max(epoch_s, 1e-9)), " slices/s"));
    TrainCheckpoint ck;
    ck.epoch = epoch;
    ck.best_validation_loss = best_val;
    ck.best_epoch = best_epoch;
    ck.bad_epochs = bad_epochs;
    ck.history = history;
    ck.prototype = proto_ema;
    ck.seconds = total_s;
    save_checkpoint(ckpt_dir, built, *enc, opt, ck, improved);
    if (bad_epochs >= config.patience) {
      if (options.progress) std::fprintf(stderr, "early stop: no validation improvement for %d epochs\n", bad_epochs);
      stopped = true;
    }
    if (cut) stopped = true;
    if (options.stop_after_epoch && options.stop_after_epoch(epoch + 1)) stopped = true;
  }

  // the model folder gets the best epoch's weights
  load_best_weights(ckpt_dir, *enc);
  enc->eval();
  nlohmann::json log = {{"history", history},
                        {"best_epoch", best_epoch + 1},
                        {"best_validation_loss", best_val},
                        {"steps_per_epoch", steps_per_epoch},
                        {"batch_size", batch_size},
                        {"train_slices", n_train},
                        {"validation_slices", static_cast<std::int64_t>([&] {
                           size_t k = 0;
                           for (const auto& s : sets) k += s.validation.size();
                           return k;
                         }())}};

  result.epochs = epoch;
  result.best_epoch = best_epoch + 1;
  result.best_validation_loss = best_val;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  result.slices_per_s = train_seconds > 0 ? static_cast<double>(slices_seen) / train_seconds : 0;
  result.log = log;
  result.encoder = enc;
  return result;
}

}  // namespace rslicer
