// Trainer, model folder and split: tiny synthetic data (FeatureSlices built
// directly), so each test runs in seconds.
#include "api/model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <random>

#include "core/errors.h"
#include "test_util.h"
#include "train/model_files.h"

namespace rslicer {
namespace {

namespace fs = std::filesystem;

// n slices of window 180 s, stride 60 s; 3 entities; a fault every 30 slices
// (lasting 4 slices) that raises entity 1's first KPI z-score and adds traces.
Dataset synthetic(int n, std::uint32_t seed = 1) {
  Dataset d;
  d.path = "synthetic";
  d.format = "test";
  for (const char* e : {"svc-a-1", "svc-b-1", "svc-c-1"}) d.catalog.entity(e, EntityKind::kPod);
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0, 0.5);
  for (int f = 0; f < n / 30; ++f) {
    FaultEvent fe;
    fe.start = (f * 30 + 15) * 60 * kUsPerSecond;
    fe.end = fe.start + 120 * kUsPerSecond;
    fe.root_cause = "svc-b-1";
    fe.fault_type = f % 2 ? "cpu" : "delay";
    d.faults.push_back(fe);
  }
  for (int i = 0; i < n; ++i) {
    FeatureSlice s;
    s.index = i;
    s.start = static_cast<TimeUs>(i) * 60 * kUsPerSecond;
    s.end = s.start + 180 * kUsPerSecond;
    for (std::uint32_t f = 0; f < d.faults.size(); ++f)
      if (d.faults[f].start < s.end && d.faults[f].end > s.start) s.faults.push_back(f);
    for (int m = 0; m < kNumModalities; ++m) s.tokens[m].dim = token_dim(static_cast<Modality>(m));
    auto add = [&](int m, Id entity, float bump) {
      TokenSet& t = s.tokens[m];
      for (int k = 0; k < t.dim; ++k) t.values.push_back(nd(rng) + (k == 0 ? bump : 0.0f));
      for (int p = 0; p < kMaxPieces; ++p) t.pieces.push_back(p < 2 ? static_cast<std::int32_t>(1 + entity * 7 + p) : 0);
      t.entities.push_back(entity);
      t.kinds.push_back(1);
      t.keys.push_back(entity);
    };
    bool faulty = !s.faults.empty();
    for (Id e = 0; e < 3; ++e) add(0, e, faulty && e == 1 ? 6.0f : 0.0f);
    if (faulty || i % 10 == 0)
      for (Id e = 0; e < 2; ++e) add(1, e, faulty ? 3.0f : 0.0f);
    for (int m = 0; m < kNumModalities; ++m)
      if (s.tokens[m].size() > 0) s.mask.set(static_cast<Modality>(m));
    d.slices.push_back(std::move(s));
  }
  d.features.kpi_slots = {"cpu", "mem"};
  d.drain_state = nlohmann::json::object();
  return d;
}

TrainConfig tiny_config() {
  TrainConfig c;
  c.encoder.d_model = 16;
  c.encoder.heads = 2;
  c.encoder.layers = 1;
  c.encoder.ff_dim = 32;
  c.encoder.embed_dim = 8;
  c.encoder.entity_dim = 4;
  c.encoder.fusion_hidden = 16;
  c.max_epochs = 3;
  c.batch_runs = 4;
  c.run_len = 3;
  c.max_minutes = 0;
  c.patience = 100;
  return c;
}

std::vector<TrainingSet> sets_for(const Dataset& d, const TrainConfig& c) {
  Split sp = time_split(slice_windows(d.slices), c.split, d.faults);
  TrainingSet ts;
  ts.data = &d;
  ts.train = sp.train;
  ts.validation = sp.validation;
  return {ts};
}

TrainOptions quiet(const std::string& dir) {
  TrainOptions o;
  o.out_dir = dir;
  o.progress = false;
  return o;
}

// Trains and writes the model folder (what train_model does, without the heads).
TrainResult train_saved(const TrainConfig& c, const std::vector<TrainingSet>& sets, const TrainOptions& o) {
  TrainResult r = train_encoder(c, sets, o);
  EmbeddingModel(c, r.encoder, sets[0].data->features, sets.back().data->drain_state).save(o.out_dir, r.log);
  return r;
}

std::vector<float> all_states(const EmbeddingModel& m, const Dataset& d) {
  std::vector<float> out;
  for (const auto& e : m.embed(d.slices)) out.insert(out.end(), e.state.begin(), e.state.end());
  return out;
}

TEST(TimeSplit, OrderedDisjointAndPurged) {
  Dataset d = synthetic(100);
  SplitSpec sixty;
  sixty.train_fraction = 0.6;
  Split sp = time_split(slice_windows(d.slices), sixty, d.faults);
  ASSERT_FALSE(sp.train.empty());
  ASSERT_FALSE(sp.validation.empty());
  ASSERT_FALSE(sp.test.empty());
  // about 60 % before the test start (minus purged straddlers)
  EXPECT_NEAR(static_cast<double>(sp.test.size()), 40.0, 1.0);
  for (size_t i : sp.train) EXPECT_LE(d.slices[i].end, sp.validation_start);
  for (size_t i : sp.validation) {
    EXPECT_GE(d.slices[i].start, sp.validation_start);
    EXPECT_LE(d.slices[i].end, sp.test_start);
  }
  for (size_t i : sp.test) EXPECT_GE(d.slices[i].start, sp.test_start);
  // windows of 3 strides straddle each boundary: 2 purged at each
  EXPECT_EQ(sp.train.size() + sp.validation.size() + sp.test.size(), 100u - 4u);
  // the first part (the heads' slices) keeps the straddlers of train / validation, not those of the test start
  EXPECT_EQ(sp.first_part.size(), sp.train.size() + sp.validation.size() + 2u);
  for (size_t i : sp.first_part) EXPECT_LE(d.slices[i].end, sp.test_start);
  // gaps do not count: the same slices with a one-day hole in the middle split alike
  Dataset g = synthetic(100);
  for (size_t i = 50; i < g.slices.size(); ++i) {
    g.slices[i].start += 86400 * kUsPerSecond;
    g.slices[i].end += 86400 * kUsPerSecond;
  }
  Split sg = time_split(slice_windows(g.slices), sixty, {});
  EXPECT_EQ(sg.test.size(), sp.test.size());
  SplitSpec cases = sixty;
  cases.by = "cases";
  Split sc = time_split(slice_windows(d.slices), cases, d.faults);
  EXPECT_FALSE(sc.test.empty());
  for (size_t i : sc.test) EXPECT_GE(d.slices[i].start, sc.test_start);
  SplitSpec bad;
  bad.train_fraction = 1.5;
  EXPECT_THROW(time_split(slice_windows(d.slices), bad), InvalidInput);
  bad = SplitSpec{};
  bad.by = "days";
  EXPECT_THROW(time_split(slice_windows(d.slices), bad), InvalidInput);
  // the default holds nothing out: everything trains, the last 15 % validates
  Split all = time_split(slice_windows(d.slices), SplitSpec{}, d.faults);
  EXPECT_TRUE(all.test.empty());
  EXPECT_EQ(all.train.size() + all.validation.size(), 100u - 2u);
  EXPECT_EQ(all.first_part.size(), 100u);
  EXPECT_NEAR(static_cast<double>(all.validation.size()), 15.0, 1.0);
}

TEST(TrainConfig, JsonRoundTripAndUnknownKeys) {
  TrainConfig c = tiny_config();
  c.sources.push_back({"dataset", "/data/x", "nezha", 2.0, nullptr});
  TrainConfig r = config::from_json<TrainConfig>(config::to_json(c));
  EXPECT_EQ(config::to_json(r), config::to_json(c));
  auto expect_key_error = [](const nlohmann::json& j, const std::string& key) {
    try {
      config::from_json<TrainConfig>(j);
      FAIL() << "accepted " << j.dump();
    } catch (const InvalidInput& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  };
  expect_key_error({{"epochs", 3}}, "'epochs'");
  expect_key_error({{"loss", {{"tauu", 1}}}}, "loss.tauu");
  expect_key_error({{"encoder", {{"depth", 1}}}}, "encoder.depth");
  expect_key_error({{"sources", {{{"path", "x"}, {"weight", 1}}}}}, "sources[0].weight");
  expect_key_error({{"lr", "fast"}}, "'lr'");
  std::string dir = testing::make_temp_dir("rslicer-config");
  testing::write_file(dir + "/c.json", R"({"max_epochs": 7, "loss": {"lambda_anom": 0}})");
  TrainConfig f = load_train_config(dir + "/c.json");
  EXPECT_EQ(f.max_epochs, 7);
  EXPECT_EQ(f.loss.lambda_anom, 0.0);
  testing::write_file(dir + "/bad.json", R"({"max_epochs": 7,)");
  EXPECT_THROW(load_train_config(dir + "/bad.json"), InvalidInput);
  EXPECT_THROW(load_train_config(dir + "/absent.json"), IoError);
  fs::remove_all(dir);
}

TEST(Trainer, SaveLoadRoundTripAndDeterminism) {
  Dataset d = synthetic(90);
  TrainConfig c = tiny_config();
  std::string dir = testing::make_temp_dir("rslicer-train");
  TrainResult r1 = train_saved(c, sets_for(d, c), quiet(dir + "/a"));
  TrainResult r2 = train_saved(c, sets_for(d, c), quiet(dir + "/b"));
  EXPECT_EQ(r1.epochs, 3);
  EXPECT_GT(folder_bytes(dir + "/a"), 0);
  for (const char* f : {"manifest.json", "config.json", "weights.pt", "features.json", "drain.json", "train_log.json"})
    EXPECT_TRUE(fs::exists(dir + "/a/" + f)) << f;
  auto m1 = EmbeddingModel::load(dir + "/a");
  auto m2 = EmbeddingModel::load(dir + "/b");
  auto s1 = all_states(*m1, d), s2 = all_states(*m2, d);
  ASSERT_EQ(s1.size(), d.slices.size() * 8);
  EXPECT_EQ(s1, s2);  // same seed, same data: bit-identical
  EXPECT_EQ(config::to_json(m1->config()), config::to_json(c));
  EXPECT_EQ(m1->feature_state().kpi_slots, d.features.kpi_slots);
  // the untrained model of the same seed differs from the trained one
  auto u = EmbeddingModel::untrained(c, d);
  EXPECT_NE(all_states(*u, d), s1);
  // a different seed gives a different model
  TrainConfig c3 = c;
  c3.seed = 99;
  train_saved(c3, sets_for(d, c3), quiet(dir + "/c"));
  EXPECT_NE(all_states(*EmbeddingModel::load(dir + "/c"), d), s1);
  fs::remove_all(dir);
}

TEST(Trainer, CorruptedOrIncompatibleModelIsAClearError) {
  Dataset d = synthetic(60);
  TrainConfig c = tiny_config();
  c.max_epochs = 1;
  std::string dir = testing::make_temp_dir("rslicer-corrupt");
  train_saved(c, sets_for(d, c), quiet(dir + "/m"));
  auto expect_model_error = [&](const std::string& needle) {
    try {
      EmbeddingModel::load(dir + "/m");
      FAIL() << "loaded a broken model";
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  // flip one byte in the weights
  std::string w = dir + "/m/weights.pt";
  std::string backup;
  {
    std::ifstream in(w, std::ios::binary);
    backup.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string bad = backup;
  bad[bad.size() / 2] ^= 0x5a;
  std::ofstream(w, std::ios::binary | std::ios::trunc) << bad;
  expect_model_error("checksum mismatch");
  // truncated
  std::ofstream(w, std::ios::binary | std::ios::trunc) << backup.substr(0, backup.size() / 2);
  expect_model_error("truncated");
  std::ofstream(w, std::ios::binary | std::ios::trunc) << backup;
  EXPECT_NO_THROW(EmbeddingModel::load(dir + "/m"));
  // another format version
  std::string mpath = dir + "/m/manifest.json";
  nlohmann::json man = nlohmann::json::parse(std::ifstream(mpath));
  nlohmann::json v2 = man;
  v2["format_version"] = kModelFormatVersion + 1;
  std::ofstream(mpath, std::ios::trunc) << v2.dump();
  expect_model_error("format_version");
  std::ofstream(mpath, std::ios::trunc) << "{not json";
  expect_model_error("corrupted manifest");
  fs::remove(mpath);
  expect_model_error("manifest.json is missing");
  EXPECT_THROW(EmbeddingModel::load(dir + "/nope"), ModelError);
  fs::remove_all(dir);
}

TEST(Trainer, ResumeAfterInterruptionMatchesUninterrupted) {
  Dataset d = synthetic(90);
  TrainConfig c = tiny_config();
  std::string dir = testing::make_temp_dir("rslicer-resume");
  train_saved(c, sets_for(d, c), quiet(dir + "/full"));
  // "interrupted" after the first epoch
  TrainOptions interrupted = quiet(dir + "/resumed");
  interrupted.stop_after_epoch = [](int done) { return done >= 1; };
  TrainResult first = train_saved(c, sets_for(d, c), interrupted);
  EXPECT_EQ(first.epochs, 1);
  TrainOptions o = quiet(dir + "/resumed");
  o.resume = true;
  TrainResult rest = train_saved(c, sets_for(d, c), o);
  EXPECT_EQ(rest.epochs, 3);
  EXPECT_EQ(rest.log["history"].size(), 3u);
  auto a = all_states(*EmbeddingModel::load(dir + "/full"), d);
  auto b = all_states(*EmbeddingModel::load(dir + "/resumed"), d);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5) << i;
  // resuming with another architecture is refused
  TrainConfig other = c;
  other.encoder.d_model = 32;
  EXPECT_THROW(train_saved(other, sets_for(d, other), o), ModelError);
  fs::remove_all(dir);
}

TEST(TrainBudget, AnEpochStartsOnlyWhenTheLongestSoFarStillFits) {
  const TrainBudget b(2.0);  // 120 s
  EXPECT_DOUBLE_EQ(b.budget_s, 120.0);
  EXPECT_TRUE(b.start_epoch(0, 0));
  EXPECT_TRUE(b.start_epoch(80, 40));   // ends at 120 s, on the budget
  EXPECT_FALSE(b.start_epoch(81, 40));  // would end past it
  EXPECT_FALSE(b.cut_epoch(100, 20));
  EXPECT_TRUE(b.cut_epoch(101, 20));    // one more validation would pass it
  const TrainBudget none(0);            // 0: no budget
  EXPECT_TRUE(none.start_epoch(1e12, 1e12));
  EXPECT_FALSE(none.cut_epoch(1e12, 1e12));
}

TEST(Trainer, ABudgetSpentByReadingCutsTheFirstEpochAndStopsAResume) {
  Dataset d = synthetic(90);
  TrainConfig c = tiny_config();
  c.steps_per_epoch = 6;
  c.max_minutes = 1;
  std::string dir = testing::make_temp_dir("rslicer-budget");
  // reading "took" longer than the budget: one step is still taken, so there is a model
  TrainOptions o = quiet(dir + "/m");
  o.spent_s = 61;
  TrainResult r = train_saved(c, sets_for(d, c), o);
  EXPECT_EQ(r.epochs, 1);
  ASSERT_EQ(r.log["history"].size(), 1u);
  const auto& h = r.log["history"][0];
  EXPECT_EQ(h["steps"], 1);
  EXPECT_TRUE(h["cut_by_budget"].get<bool>());
  EXPECT_GE(h["validation_seconds"].get<double>(), 0.0);
  EXPECT_TRUE(std::isfinite(h["loss"].get<double>()));  // the mean over the steps taken, not over 6
  auto m = EmbeddingModel::load(dir + "/m");
  EXPECT_EQ(m->embed(d.slices).size(), d.slices.size());
  // a resume whose budget is spent starts no epoch (the checkpoint's history says one took time)
  o.resume = true;
  TrainResult again = train_saved(c, sets_for(d, c), o);
  EXPECT_EQ(again.epochs, 1);
  EXPECT_EQ(again.log["history"].size(), 1u);
  // without a budget the same run takes every step of every epoch
  c.max_minutes = 0;
  TrainOptions free = quiet(dir + "/free");
  free.spent_s = 61;
  TrainResult all = train_saved(c, sets_for(d, c), free);
  EXPECT_EQ(all.epochs, 3);
  for (const auto& e : all.log["history"]) {
    EXPECT_EQ(e["steps"], 6);
    EXPECT_FALSE(e["cut_by_budget"].get<bool>());
  }
  fs::remove_all(dir);
}

TEST(Trainer, TrainingSeparatesFaultsFromNormal) {
  // On the synthetic data, faulty slices are far more distinct after training.
  Dataset d = synthetic(150, 3);
  TrainConfig c = tiny_config();
  c.max_epochs = 8;
  std::string dir = testing::make_temp_dir("rslicer-sep");
  train_saved(c, sets_for(d, c), quiet(dir + "/m"));
  auto m = EmbeddingModel::load(dir + "/m");
  auto e = m->embed(d.slices);
  // mean cosine between normal and faulty slices is below the mean within normal ones
  double nn = 0, nf = 0;
  int cnn = 0, cnf = 0;
  for (size_t i = 0; i < e.size(); i += 3)
    for (size_t j = i + 1; j < e.size(); j += 3) {
      double s = 0;
      for (size_t k = 0; k < e[i].state.size(); ++k) s += e[i].state[k] * e[j].state[k];
      bool fi = !e[i].faults.empty(), fj = !e[j].faults.empty();
      if (!fi && !fj) nn += s, ++cnn;
      if (fi != fj) nf += s, ++cnf;
    }
  EXPECT_LT(nf / cnf, nn / cnn);
  // entity embeddings: one per entity with tokens
  EXPECT_EQ(e[0].entities.size(), 3u);
  EXPECT_EQ(e[0].entity_embeddings.size(), 3u * 4u);
  fs::remove_all(dir);
}

TEST(Trainer, EntityLabelsTeachTheEntityHead) {
  // The synthetic faults raise entity 1's tokens; label them so. With entity labels (as the simulator's injection
  // gives them) the model gets an entity head whose score picks that entity inside faults and stays low outside.
  Dataset d = synthetic(150, 4);
  for (auto& f : d.faults) f.root_cause = d.catalog.entities.name(1);
  TrainConfig c = tiny_config();
  c.max_epochs = 15;
  c.lr = 2e-2;  // a tiny run: about 90 steps
  std::string dir = testing::make_temp_dir("rslicer-entity");
  auto sets = sets_for(d, c);
  train_saved(c, sets, quiet(dir + "/plain"));  // no entity labels: no head, the config as asked
  auto plain = EmbeddingModel::load(dir + "/plain");
  EXPECT_FALSE(plain->config().encoder.entity_head);
  EXPECT_TRUE(plain->embed(d.slices)[0].entity_scores.empty());
  sets[0].entity_labels = true;
  TrainResult r = train_saved(c, sets, quiet(dir + "/head"));
  EXPECT_GT(r.log.at("history").at(0).at("entity").get<double>(), 0.0);
  auto m = EmbeddingModel::load(dir + "/head");  // the head's weights round-trip through the folder
  EXPECT_TRUE(m->config().encoder.entity_head);
  auto e = m->embed(d.slices);
  int faulty = 0, first = 0;
  double in_fault = 0, normal = 0;
  int n_normal = 0;
  for (const auto& s : e) {
    ASSERT_EQ(s.entity_scores.size(), s.entities.size());
    auto best = std::max_element(s.entity_scores.begin(), s.entity_scores.end()) - s.entity_scores.begin();
    auto at1 = std::find(s.entities.begin(), s.entities.end(), Id{1}) - s.entities.begin();
    ASSERT_LT(at1, static_cast<long>(s.entities.size()));
    if (!s.faults.empty()) {
      ++faulty;
      first += best == at1;
      in_fault += s.entity_scores[at1];
    } else {
      normal += s.entity_scores[at1];
      ++n_normal;
    }
  }
  ASSERT_GT(faulty, 0);
  EXPECT_GE(first, faulty * 3 / 4) << first << " of " << faulty;
  EXPECT_GT(in_fault / faulty, normal / n_normal + 1.0);
  // resuming the run without the sources that made the head is refused as another encoder, not half-loaded
  sets[0].entity_labels = false;
  TrainOptions resume = quiet(dir + "/head");
  resume.resume = true;
  try {
    train_encoder(c, sets, resume);
    FAIL() << "resumed with a different encoder";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("different encoder configuration"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rslicer
