// Embedding quality experiment (docs/encoder.md): on slices NOT used for
// training (the test part of the shared time split), compares
//   - plain standardised features (flat_features, z-scored with training stats),
//   - the untrained encoder (same size, same seed, random weights),
//   - the trained encoder, and the trained encoder with each loss term removed,
// by the AUROC of "slice overlaps a fault" from the distance to the centroid
// of the training normal slices, and by kNN fault-type accuracy. Writes
// results.json, a markdown table and t-SNE plots (SVG) before/after training.
//
//   embedding_quality [--data DIR] [--out DIR] [--epochs N] [--no-ablation] [--split time|cases]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/errors.h"
#include "api/model.h"
#include "eval/metrics.h"
#include "train/trainer.h"

using namespace rslicer;

namespace {

using Matrix = std::vector<std::vector<float>>;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double dist2(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t k = 0; k < a.size(); ++k) {
    double d = a[k] - b[k];
    s += d * d;
  }
  return s;
}

struct Labels {
  std::vector<int> anomalous;          // per slice
  std::vector<int> fault;              // per slice: index of the first overlapping fault, -1 none
  std::vector<std::string> type;       // per slice: fault type or "normal"
};

Labels make_labels(const Dataset& d) {
  Labels l;
  for (const auto& s : d.slices) {
    l.anomalous.push_back(!s.faults.empty());
    l.fault.push_back(s.faults.empty() ? -1 : static_cast<int>(s.faults.front()));
    l.type.push_back(s.faults.empty() ? "normal" : d.faults[s.faults.front()].fault_type);
  }
  return l;
}

struct Scores {
  double auroc = NAN;
  double knn_train_refs = NAN;   // accuracy on test fault slices, neighbours among training fault slices
  double knn_loo_fault = NAN;    // accuracy on test fault slices, neighbours among other faults' test slices
  int n_test = 0, n_test_anom = 0, n_knn_train = 0, n_knn_loo = 0;
};

std::string majority(const std::vector<std::pair<double, size_t>>& nn, const Labels& lab, int k) {
  std::map<std::string, double> votes;
  for (int i = 0; i < k && i < static_cast<int>(nn.size()); ++i) votes[lab.type[nn[i].second]] += 1.0 + 1e-6 * (k - i);
  std::string best;
  double bv = -1;
  for (auto& [t, v] : votes)
    if (v > bv) {
      bv = v;
      best = t;
    }
  return best;
}

Scores evaluate(const Matrix& x, const Labels& lab, const Split& sp, int k) {
  Scores r;
  const size_t D = x.front().size();
  std::vector<double> c(D, 0.0);
  int n_norm = 0;
  for (size_t i : sp.train)
    if (!lab.anomalous[i]) {
      for (size_t j = 0; j < D; ++j) c[j] += x[i][j];
      ++n_norm;
    }
  std::vector<float> centroid(D);
  for (size_t j = 0; j < D; ++j) centroid[j] = static_cast<float>(c[j] / std::max(1, n_norm));
  std::vector<double> score;
  std::vector<int> label;
  for (size_t i : sp.test) {
    score.push_back(std::sqrt(dist2(x[i], centroid)));
    label.push_back(lab.anomalous[i]);
  }
  r.auroc = eval::auroc(score, std::vector<bool>(label.begin(), label.end()));
  r.n_test = static_cast<int>(sp.test.size());
  r.n_test_anom = static_cast<int>(std::count(label.begin(), label.end(), 1));
  std::set<std::string> train_types;
  std::vector<size_t> train_faulty;
  for (size_t i : sp.train)
    if (lab.anomalous[i]) {
      train_faulty.push_back(i);
      train_types.insert(lab.type[i]);
    }
  for (size_t i : sp.validation)
    if (lab.anomalous[i]) {
      train_faulty.push_back(i);
      train_types.insert(lab.type[i]);
    }
  std::vector<size_t> test_faulty;
  for (size_t i : sp.test)
    if (lab.anomalous[i]) test_faulty.push_back(i);
  int hit = 0, n = 0;
  for (size_t i : test_faulty) {
    if (!train_types.count(lab.type[i])) continue;
    std::vector<std::pair<double, size_t>> nn;
    for (size_t j : train_faulty) nn.push_back({dist2(x[i], x[j]), j});
    std::sort(nn.begin(), nn.end());
    hit += majority(nn, lab, k) == lab.type[i];
    ++n;
  }
  r.knn_train_refs = n ? static_cast<double>(hit) / n : NAN;
  r.n_knn_train = n;
  hit = 0;
  n = 0;
  for (size_t i : test_faulty) {
    std::vector<std::pair<double, size_t>> nn;
    for (size_t j : test_faulty)
      if (lab.fault[j] != lab.fault[i]) nn.push_back({dist2(x[i], x[j]), j});
    if (nn.empty()) continue;
    std::sort(nn.begin(), nn.end());
    hit += majority(nn, lab, k) == lab.type[i];
    ++n;
  }
  r.knn_loo_fault = n ? static_cast<double>(hit) / n : NAN;
  r.n_knn_loo = n;
  return r;
}

Matrix states(const std::vector<SliceEmbedding>& e) {
  Matrix m;
  for (const auto& s : e) m.push_back(s.state);
  return m;
}

Matrix standardised_features(const Dataset& d, const Split& sp) {
  std::vector<size_t> fit = sp.train;
  FlatLayout layout = build_flat_layout(d.slices, fit);
  Matrix m;
  for (const auto& s : d.slices) m.push_back(flat_features(s, layout));
  const size_t D = layout.dim();
  std::vector<double> mean(D, 0), sd(D, 0);
  for (size_t i : fit)
    for (size_t j = 0; j < D; ++j) mean[j] += m[i][j];
  for (auto& v : mean) v /= std::max<size_t>(1, fit.size());
  for (size_t i : fit)
    for (size_t j = 0; j < D; ++j) sd[j] += (m[i][j] - mean[j]) * (m[i][j] - mean[j]);
  for (auto& v : sd) v = std::sqrt(v / std::max<size_t>(1, fit.size())) + 1e-3;
  for (auto& row : m)
    for (size_t j = 0; j < D; ++j) row[j] = static_cast<float>((row[j] - mean[j]) / sd[j]);
  return m;
}

// ---- exact t-SNE (van der Maaten 2008) on a few hundred points
std::vector<std::array<double, 2>> tsne(const Matrix& x, double perplexity, int iters, std::uint64_t seed) {
  const size_t n = x.size();
  std::vector<double> d(n * n), p(n * n, 0.0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) d[i * n + j] = dist2(x[i], x[j]);
  const double target = std::log(perplexity);
  for (size_t i = 0; i < n; ++i) {
    double lo = 0, hi = INFINITY, beta = 1.0;
    for (int it = 0; it < 60; ++it) {
      double sum = 0, hsum = 0;
      for (size_t j = 0; j < n; ++j) {
        if (j == i) continue;
        double v = std::exp(-beta * d[i * n + j]);
        p[i * n + j] = v;
        sum += v;
        hsum += beta * d[i * n + j] * v;
      }
      sum = std::max(sum, 1e-300);
      double h = std::log(sum) + hsum / sum;
      for (size_t j = 0; j < n; ++j) p[i * n + j] /= sum;
      if (std::fabs(h - target) < 1e-5) break;
      if (h > target) {
        lo = beta;
        beta = std::isinf(hi) ? beta * 2 : 0.5 * (beta + hi);
      } else {
        hi = beta;
        beta = 0.5 * (beta + lo);
      }
    }
  }
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j) {
      double v = std::max((p[i * n + j] + p[j * n + i]) / (2.0 * n), 1e-12);
      p[i * n + j] = p[j * n + i] = v;
    }
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd(0, 1e-4);
  std::vector<std::array<double, 2>> y(n), g(n), upd(n, {0, 0}), gains(n, {1, 1});
  for (auto& v : y) v = {nd(rng), nd(rng)};
  std::vector<double> q(n * n);
  for (int it = 0; it < iters; ++it) {
    double exag = it < 100 ? 12.0 : 1.0, mom = it < 250 ? 0.5 : 0.8, qsum = 0;
    for (size_t i = 0; i < n; ++i)
      for (size_t j = i + 1; j < n; ++j) {
        double dx = y[i][0] - y[j][0], dy = y[i][1] - y[j][1];
        double v = 1.0 / (1.0 + dx * dx + dy * dy);
        q[i * n + j] = q[j * n + i] = v;
        qsum += 2 * v;
      }
    for (size_t i = 0; i < n; ++i) {
      double gx = 0, gy = 0;
      for (size_t j = 0; j < n; ++j) {
        if (i == j) continue;
        double w = (exag * p[i * n + j] - q[i * n + j] / qsum) * q[i * n + j];
        gx += w * (y[i][0] - y[j][0]);
        gy += w * (y[i][1] - y[j][1]);
      }
      g[i] = {4 * gx, 4 * gy};
    }
    for (size_t i = 0; i < n; ++i)
      for (int k = 0; k < 2; ++k) {
        bool same = (g[i][k] > 0) == (upd[i][k] > 0);
        gains[i][k] = std::max(0.01, same ? gains[i][k] * 0.8 : gains[i][k] + 0.2);
        upd[i][k] = mom * upd[i][k] - 200.0 * gains[i][k] * g[i][k];
        y[i][k] += upd[i][k];
      }
  }
  return y;
}

void write_svg(const std::string& path, const std::string& title, const std::vector<std::array<double, 2>>& y,
               const std::vector<std::string>& type) {
  static const std::map<std::string, std::string> colors = {
      {"normal", "#bbbbbb"},       {"return", "#1f77b4"},        {"exception", "#d62728"},
      {"cpu_contention", "#2ca02c"}, {"network_delay", "#ff7f0e"}, {"memory_leak", "#9467bd"}};
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (auto& p : y) {
    x0 = std::min(x0, p[0]);
    x1 = std::max(x1, p[0]);
    y0 = std::min(y0, p[1]);
    y1 = std::max(y1, p[1]);
  }
  const double W = 520, H = 520, M = 30;
  std::ofstream o(path);
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W + 160 << "\" height=\"" << H + 2 * M << "\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"" << M << "\" y=\"20\" font-family=\"sans-serif\" font-size=\"14\">" << title << "</text>\n";
  // normal first so faults are drawn on top
  for (int pass = 0; pass < 2; ++pass)
    for (size_t i = 0; i < y.size(); ++i) {
      bool normal = type[i] == "normal";
      if ((pass == 0) != normal) continue;
      double px = M + (y[i][0] - x0) / std::max(1e-12, x1 - x0) * W;
      double py = M + (y[i][1] - y0) / std::max(1e-12, y1 - y0) * H;
      auto it = colors.find(type[i]);
      std::string c = it == colors.end() ? "#8c564b" : it->second;
      o << "<circle cx=\"" << px << "\" cy=\"" << py << "\" r=\"" << (normal ? 2.2 : 3.5) << "\" fill=\"" << c
        << "\" fill-opacity=\"" << (normal ? 0.6 : 0.9) << "\"/>\n";
    }
  std::set<std::string> present(type.begin(), type.end());
  double ly = M + 10;
  for (const auto& t : present) {
    auto it = colors.find(t);
    std::string c = it == colors.end() ? "#8c564b" : it->second;
    o << "<circle cx=\"" << W + M + 20 << "\" cy=\"" << ly << "\" r=\"5\" fill=\"" << c << "\"/>";
    o << "<text x=\"" << W + M + 30 << "\" y=\"" << ly + 4 << "\" font-family=\"sans-serif\" font-size=\"12\">" << t
      << "</text>\n";
    ly += 20;
  }
  o << "</svg>\n";
}

std::string fmt(double v) {
  if (std::isnan(v)) return "n/a";
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data = std::string(RSLICER_SOURCE_DIR) + "/../shared/data/trainticket/nezha";
  std::string out = std::string(RSLICER_SOURCE_DIR) + "/docs/encoder";
  std::string split_by = "time";
  int epochs = -1;
  bool ablation = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw InvalidInput(cat(a, " needs a value"));
      return argv[++i];
    };
    if (a == "--data") data = next();
    else if (a == "--out") out = next();
    else if (a == "--epochs") epochs = std::stoi(next());
    else if (a == "--split") split_by = next();
    else if (a == "--no-ablation") ablation = false;
    else {
      std::fprintf(stderr, "usage: embedding_quality [--data DIR] [--out DIR] [--epochs N] [--split time|cases] [--no-ablation]\n");
      return 1;
    }
  }
  try {
    std::filesystem::create_directories(out);
    TrainConfig base;
    base.split.by = split_by;
    base.split.train_fraction = 0.6;  // a test part for the quality numbers
    if (epochs > 0) base.max_epochs = epochs;
    at::set_num_threads(base.threads);
    nlohmann::json results;

    auto t0 = std::chrono::steady_clock::now();
    PrepareOptions po;
    po.slice = base.slice;
    po.features = base.features;
    Dataset d = prepare(data, "auto", po);
    double prep_s = seconds_since(t0);
    Split sp = time_split(slice_windows(d.slices), base.split, d.faults);
    Labels lab = make_labels(d);
    std::fprintf(stderr, "%zu slices (%zu train, %zu validation, %zu test), %zu faults, prepared in %.1f s\n",
                 d.slices.size(), sp.train.size(), sp.validation.size(), sp.test.size(), d.faults.size(), prep_s);
    results["data"] = {{"path", data},
                       {"slices", d.slices.size()},
                       {"faults", d.faults.size()},
                       {"prepare_seconds", prep_s},
                       {"split", config::to_json(base.split)},
                       {"train", sp.train.size()},
                       {"validation", sp.validation.size()},
                       {"test", sp.test.size()},
                       {"test_start", format_time(sp.test_start)}};

    const int k = 5;
    std::vector<std::pair<std::string, Scores>> rows;
    Matrix flat = standardised_features(d, sp);
    rows.push_back({"standardised features (" + std::to_string(flat.front().size()) + " dims)", evaluate(flat, lab, sp, k)});

    auto untrained = EmbeddingModel::untrained(base, d);
    auto tu = std::chrono::steady_clock::now();
    auto emb_u = untrained->embed(d.slices);
    double embed_s = seconds_since(tu);
    Matrix xu = states(emb_u);
    rows.push_back({"untrained encoder", evaluate(xu, lab, sp, k)});
    results["embed_slices_per_s"] = d.slices.size() / embed_s;

    struct Variant {
      std::string name;
      LossConfig loss;
    };
    std::vector<Variant> variants = {{"trained encoder (L_modal + L_temp + L_anom)", base.loss}};
    if (ablation) {
      LossConfig l = base.loss;
      l.lambda_modal = 0;
      variants.push_back({"  without L_modal", l});
      l = base.loss;
      l.lambda_temp = 0;
      variants.push_back({"  without L_temp", l});
      l = base.loss;
      l.lambda_anom = 0;
      variants.push_back({"  without L_anom", l});
    }
    Matrix xt;
    nlohmann::json trainings = nlohmann::json::array();
    for (size_t v = 0; v < variants.size(); ++v) {
      TrainConfig cfg = base;
      cfg.loss = variants[v].loss;
      TrainingSet ts;
      ts.data = &d;
      ts.train = sp.train;
      ts.validation = sp.validation;
      TrainOptions to;
      to.out_dir = (std::filesystem::temp_directory_path() / ("rslicer-embedding-quality-" + std::to_string(v))).string();
      auto tt = std::chrono::steady_clock::now();
      TrainResult r = train_encoder(cfg, {ts}, to);
      double train_s = seconds_since(tt);
      // train_encoder leaves the checkpoint, not a model folder (api/ writes that): embed with its best encoder
      const EmbeddingModel model(cfg, r.encoder, d.features, d.drain_state);
      auto te = std::chrono::steady_clock::now();
      auto emb = model.embed(d.slices);
      double es = seconds_since(te);
      Matrix x = states(emb);
      rows.push_back({variants[v].name, evaluate(x, lab, sp, k)});
      trainings.push_back({{"name", variants[v].name},
                           {"train_seconds", train_s},
                           {"epochs", r.epochs},
                           {"best_epoch", r.best_epoch},
                           {"train_slices_per_s", r.slices_per_s},
                           {"model_bytes", folder_bytes(to.out_dir)},
                           {"embed_slices_per_s", d.slices.size() / es}});
      if (v == 0) {
        xt = x;
        results["embed_slices_per_s_trained"] = d.slices.size() / es;
      }
      std::error_code ec;
      std::filesystem::remove_all(to.out_dir, ec);
    }
    results["trainings"] = trainings;

    // markdown table
    std::string md = "| representation | AUROC (fault vs normal, test) | kNN fault type, train refs | kNN fault type, other test faults |\n"
                     "|---|---|---|---|\n";
    nlohmann::json jrows = nlohmann::json::array();
    for (auto& [name, s] : rows) {
      md += "| " + name + " | " + fmt(s.auroc) + " | " + fmt(s.knn_train_refs) + " | " + fmt(s.knn_loo_fault) + " |\n";
      jrows.push_back({{"name", name},
                       {"auroc", s.auroc},
                       {"knn_train_refs", s.knn_train_refs},
                       {"knn_other_test_faults", s.knn_loo_fault},
                       {"n_test", s.n_test},
                       {"n_test_anomalous", s.n_test_anom},
                       {"n_knn_train_refs", s.n_knn_train},
                       {"n_knn_other", s.n_knn_loo}});
    }
    results["rows"] = jrows;
    results["k"] = k;
    std::printf("%s", md.c_str());

    // t-SNE of every faulty slice and a deterministic sample of normal ones
    std::vector<size_t> pick;
    std::mt19937_64 rng(7);
    std::vector<size_t> normals;
    for (size_t i = 0; i < d.slices.size(); ++i) (lab.anomalous[i] ? pick : normals).push_back(i);
    std::shuffle(normals.begin(), normals.end(), rng);
    normals.resize(std::min<size_t>(normals.size(), 500));
    pick.insert(pick.end(), normals.begin(), normals.end());
    std::vector<std::string> types;
    Matrix pu, pt, pf;
    for (size_t i : pick) {
      types.push_back(lab.type[i]);
      pu.push_back(xu[i]);
      pt.push_back(xt[i]);
      pf.push_back(flat[i]);
    }
    write_svg(out + "/tsne_untrained.svg", "t-SNE, untrained encoder", tsne(pu, 30, 600, 1), types);
    write_svg(out + "/tsne_trained.svg", "t-SNE, trained encoder", tsne(pt, 30, 600, 1), types);
    write_svg(out + "/tsne_features.svg", "t-SNE, standardised features", tsne(pf, 30, 600, 1), types);
    std::ofstream(out + "/results.json") << results.dump(2) << "\n";
    std::ofstream(out + "/table.md") << md;
    std::fprintf(stderr, "wrote %s/{results.json,table.md,tsne_*.svg}\n", out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  return 0;
}
