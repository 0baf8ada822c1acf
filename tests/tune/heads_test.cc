// The AD scores of the state-aware heads without a dataset: synthetic embeddings whose entity head (L_entity)
// names a root cause in two fault runs. The entity score must find them, "both" must use it in place of the kNN
// where the model has the head, a saved model must decide the same, and asking for it without a head is an error.
#include "tune/heads.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/errors.h"
#include "features/events.h"
#include "tasks/zero_label.h"

namespace rslicer {
namespace {

constexpr TimeUs kMinute = 60 * kUsPerSecond;

bool faulty(size_t i) { return (i >= 150 && i < 160) || (i >= 180 && i < 190); }

// 200 one-minute slices; state embeddings are noise (they carry no fault), the entity head's logit of entity 1
// is high inside the fault runs and every logit is low elsewhere.
std::vector<SliceEmbedding> slices(bool with_entity_scores) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> g(0, 1);
  std::vector<SliceEmbedding> v(200);
  for (size_t i = 0; i < v.size(); ++i) {
    auto& e = v[i];
    e.index = static_cast<std::int64_t>(i);
    e.start = static_cast<TimeUs>(i) * kMinute;
    e.end = e.start + 3 * kMinute;
    for (int d = 0; d < 4; ++d) e.state.push_back(static_cast<float>(g(rng)));
    e.entities = {0, 1, 2};
    if (with_entity_scores)
      for (Id k : e.entities)
        e.entity_scores.push_back(static_cast<float>((faulty(i) && k == 1 ? 3.0 : -6.0) + 0.5 * g(rng)));
  }
  return v;
}

// The heads' inputs over `v` (the AD view is the main view; no ranker, so no event score).
HeadInputs inputs(const std::vector<SliceEmbedding>& v) {
  static const EntityDirectory dir{{"e0", "e1", "e2"}, {"pod", "pod", "pod"}, {"", "", ""}};
  HeadInputs in;
  in.slices = in.ad_view = &v;
  in.entities = &dir;
  return in;
}

std::vector<size_t> range(size_t a, size_t b) {
  std::vector<size_t> r;
  for (size_t i = a; i < b; ++i) r.push_back(i);
  return r;
}

// Metric tokens for `n` slices of pods e0 and e1: every KPI Gaussian noise (sd 0.6, mostly within the min_z of 3),
// except e1's slot 3 at a robust z of about 150 (squashed 8) in the fault runs.
std::vector<FeatureSlice> kpi_tokens(size_t n, Id e0, Id e1) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> u(0, 0.6);
  std::vector<FeatureSlice> fs(n);
  for (size_t i = 0; i < n; ++i) {
    TokenSet& mt = fs[i].tokens[static_cast<int>(Modality::kMetrics)];
    mt.dim = kMetricTokenDim;
    for (Id e : {e0, e1}) {
      mt.entities.push_back(e);
      for (int j = 0; j < kMetricTokenDim; ++j) mt.values.push_back(j < kKpiSlots ? static_cast<float>(u(rng)) : 0.0f);
    }
    if (faulty(i)) mt.values[kMetricTokenDim + 3] = 8.0f;  // e1's slot 3
  }
  return fs;
}

TEST(EntityAdScore, IsTheSurpriseThatNoEntityIsTheRootCause) {
  SliceEmbedding e;
  EXPECT_EQ(entity_ad_score(e), 0.0) << "no entity head";
  e.entity_scores = {0.0f, 0.0f};
  EXPECT_NEAR(entity_ad_score(e), std::log(3.0), 1e-9);  // P(none) = 1 / (1 + 1 + 1)
  e.entity_scores = {-1000.0f};
  EXPECT_NEAR(entity_ad_score(e), 0.0, 1e-12);
  e.entity_scores = {1000.0f, -5.0f};
  EXPECT_NEAR(entity_ad_score(e), 1000.0, 1e-9) << "stable for large logits";
}

TEST(FailureHeads, EntityScoreAlarmsOnTheFaultsAndBothUsesIt) {
  const auto v = slices(true);
  const HeadInputs in = inputs(v);
  const auto train = range(0, 120), test = range(120, 200);
  for (const char* mode : {"entity", "events+entity", "both", "auto"}) {
    HeadOptions o;
    o.ad_score = mode;
    const auto h = FailureHeads::fit(in, train, {}, o, 1);
    // without a ranker there is no event score: the pairs, "both" and "auto" keep the learned one, the entity head's
    EXPECT_EQ(h.info()["ad_score"], "entity") << mode;
    EXPECT_GT(h.info()["entity_spot_threshold"].get<double>(), 0.0) << mode;
    const auto t = h.detect(in, test);
    int hits = 0, false_alarms = 0;
    for (size_t k = 0; k < test.size(); ++k) (faulty(test[k]) ? hits : false_alarms) += t.alarms[k];
    EXPECT_GE(hits, 18) << mode << ": the 20 faulty slices";
    EXPECT_LE(false_alarms, 2) << mode;
    // a saved model decides the same
    const auto back = FailureHeads::from_json(h.to_json());
    EXPECT_EQ(back.detect(in, test).alarms, t.alarms) << mode;
  }
  // a model saved before heads.triage_directions fitted its triage head on vectors without the direction
  auto old = FailureHeads::fit(in, train, {}, HeadOptions{}, 1).to_json();
  EXPECT_TRUE(FailureHeads::from_json(old).options().triage_directions) << "the default, saved";
  old["options"].erase("triage_directions");
  EXPECT_FALSE(FailureHeads::from_json(old).options().triage_directions);
  // ... and before the failed-span signal it ranked without one
  old["options"].erase("event_span_errors");
  EXPECT_EQ(FailureHeads::from_json(old).options().event_span_errors, "off");
  // ... and before the self-time signal too
  old["options"].erase("event_self_time");
  EXPECT_EQ(FailureHeads::from_json(old).options().event_self_time, "off");
  // ... and before the stream's kNN references, decides on the training references alone
  EXPECT_TRUE(FailureHeads::from_json(old).options().ad.online);
  old["options"]["ad"].erase("online");
  EXPECT_FALSE(FailureHeads::from_json(old).options().ad.online);
  // ... and before the parts' evidence was combined, each part against its own threshold
  old["options"].erase("ad_combine");
  EXPECT_EQ(FailureHeads::from_json(old).options().ad_combine, "any");
  // ... and before heads.spot.censor, the published SPOT update
  EXPECT_TRUE(FailureHeads::from_json(old).options().spot.censor);
  old["options"]["spot"].erase("censor");
  EXPECT_FALSE(FailureHeads::from_json(old).options().spot.censor);
  HeadOptions o;
  o.ad_score = "embedding";  // asked for explicitly, the kNN stays
  EXPECT_EQ(FailureHeads::fit(in, train, {}, o, 1).info()["ad_score"], "embedding");
}

// Normal time after training moves: from slice 120 on the state embeddings drift away from the training ones,
// about 0.06 a slice in each dimension (a later hour's traffic). Alone with the training references the kNN
// alarms on most of the drifted normal time; a stream that takes the slices no part alarmed on as references
// (heads.ad.online, here 10 minutes behind) follows the drift and keeps alarming on a fault, whose slices it does not
// take.
TEST(FailureHeads, TheStreamsKnnTakesItsNormalTimeAsReferences) {
  auto v = slices(false);
  auto jumped = [](size_t i) { return i >= 185 && i < 190; };
  for (size_t i = 120; i < v.size(); ++i)
    for (float& x : v[i].state) x += 0.06f * static_cast<float>(i - 120);
  for (size_t i = 0; i < v.size(); ++i)
    if (jumped(i)) v[i].state[0] += 12.0f;
  const HeadInputs in = inputs(v);
  const auto train = range(0, 120), test = range(120, 200);
  int drifted_alarms[2] = {0, 0};
  for (const bool online : {false, true}) {
    HeadOptions o;
    o.ad_score = "embedding";
    o.ad.online = online;
    o.ad.online_delay_s = 600;
    const auto h = FailureHeads::fit(in, train, {}, o, 1);
    const auto t = h.detect(in, test);
    for (size_t k = 0; k < test.size(); ++k) {
      if (jumped(test[k]))
        EXPECT_TRUE(t.alarms[k]) << "online " << online << ", slice " << test[k];
      else if (test[k] >= 170)
        drifted_alarms[online] += t.alarms[k];
    }
    // a stream decides slice by slice as the whole run does, also when it restarts halfway from its saved kNN
    // state (the SPOT thresholds carried as the server carries them)
    auto stream = h.ad_stream();
    std::vector<bool> one_by_one;
    for (size_t k = 0; k < test.size(); ++k) {
      if (k == test.size() / 2) {
        const auto saved = nlohmann::json::parse(stream.knn_to_json().dump());
        auto restarted = h.ad_stream();
        restarted.spot = stream.spot;
        restarted.knn_from_json(saved);
        EXPECT_EQ(restarted.knn.added_references(), stream.knn.added_references());
        EXPECT_EQ(restarted.pending.size(), stream.pending.size());
        stream = restarted;
      }
      one_by_one.push_back(h.detect(in, {test[k]}, &stream).alarms[0]);
    }
    EXPECT_EQ(one_by_one, t.alarms) << online;
    EXPECT_EQ(stream.knn.added_references() > 0, online);
    auto bad = stream.knn_to_json();
    bad["added"]["states"] = nlohmann::json::array({0});
    auto fresh = h.ad_stream();
    EXPECT_THROW(fresh.knn_from_json(bad), ModelError) << online;
    EXPECT_EQ(fresh.knn.added_references(), 0u) << "all or none";
    // a stream of another model (other training slices) does not take them, and says so
    auto other = FailureHeads::fit(in, range(0, 100), {}, o, 1).ad_stream();
    EXPECT_FALSE(other.knn_from_json(stream.knn_to_json())) << online;
    EXPECT_EQ(other.knn.added_references(), 0u);
  }
  EXPECT_GE(drifted_alarms[0], 20) << "of the 25 normal slices from 170 on, the training references alone";
  EXPECT_LE(drifted_alarms[1], 8) << "with the stream's references";
}

// heads.ad_layer: the kNN reads the modality encodings where the encoder gives them (here they carry the fault runs
// and the state is noise), the state when told; a model saved before the option read the state; a slice whose
// vector is not what the fitted kNN reads is an error, not a score.
TEST(FailureHeads, TheKnnReadsTheEncodingsUnlessToldTheState) {
  auto v = slices(false);
  std::mt19937_64 rng(7);
  std::normal_distribution<double> g(0, 0.1);
  for (size_t i = 0; i < v.size(); ++i) {
    for (int d = 0; d < 6; ++d) v[i].encodings.push_back(static_cast<float>(g(rng)));
    if (faulty(i)) v[i].encodings[0] += 3.0f;
  }
  const HeadInputs in = inputs(v);
  const auto train = range(0, 120), test = range(120, 200);
  auto caught = [&](const FailureHeads& h) {
    const auto t = h.detect(in, test);
    int n = 0;
    for (size_t k = 0; k < test.size(); ++k) n += faulty(test[k]) && t.alarms[k];
    return n;
  };
  HeadOptions o;
  o.ad_score = "embedding";
  EXPECT_EQ(o.ad_layer, "encodings");
  const auto h = FailureHeads::fit(in, train, {}, o, 1);
  EXPECT_EQ(h.info()["ad_layer"], "encodings");
  EXPECT_EQ(caught(h), 20) << "every faulty slice, through the encodings";
  o.ad_layer = "state";
  EXPECT_LE(caught(FailureHeads::fit(in, train, {}, o, 1)), 4) << "the state is noise";
  EXPECT_EQ(FailureHeads::fit(in, train, {}, o, 1).info()["ad_layer"], "state");

  auto j = h.to_json();
  EXPECT_EQ(FailureHeads::from_json(j).options().ad_layer, "encodings");
  j["options"].erase("ad_layer");
  EXPECT_EQ(FailureHeads::from_json(j).options().ad_layer, "state") << "a model saved before the option";

  auto stripped = v;  // embeddings of an encoder without encodings: the state, 4 values against the kNN's 6
  for (auto& e : stripped) e.encodings.clear();
  const HeadInputs other = inputs(stripped);
  try {
    h.detect(other, test);
    ADD_FAILURE() << "no error";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("has 4 values where the fitted kNN reads 6"), std::string::npos) << e.what();
  }
  EXPECT_THROW(h.ad_states(stripped), ModelError);
}

// heads.ad_combine=evidence: the parts' tail p-values (the calibration scores' share at or above, the fitted GPD
// tail beyond the initial SPOT threshold) combine into one -sum log p against one threshold. Slices 140-145 move
// two parts a little each (the state embedding by 2.5 in every dimension, a KPI to a robust z of about 2.25): each
// part alone stays below its threshold, and so does each move alone combined; together they are rare. The fault
// runs move one KPI far (z 150, squashed 8): one part alone still passes, through its fitted tail.
TEST(FailureHeads, EvidenceCombinesThePartsTailPValues) {
  auto joint = [](size_t i) { return i >= 140 && i < 146; };
  Catalog cat;
  const Id e0 = cat.entity("e0", EntityKind::kPod, "s0"), e1 = cat.entity("e1", EntityKind::kPod, "s1");
  cat.entity("e2", EntityKind::kPod, "s2");
  struct Counts {
    int hits = 0, joint = 0, false_alarms = 0;
    std::uint8_t by = 0;
  };
  auto run = [&](float shift, float kpi, const std::string& combine) {
    auto v = slices(false);
    std::vector<FeatureSlice> fs = kpi_tokens(v.size(), e0, e1);
    for (size_t i = 0; i < v.size(); ++i) {
      if (joint(i)) {
        fs[i].tokens[static_cast<int>(Modality::kMetrics)].values[kMetricTokenDim + 3] = kpi;
        for (float& x : v[i].state) x += shift;
      }
    }
    const std::vector<std::vector<EventDeviation>> devs(fs.size());
    HeadOptions o;
    o.ad_score = "events+embedding";
    o.ad_combine = combine;
    const auto ranker = ZeroLabelRanker::fit(fs, devs, nullptr, cat, ranker_options(o));
    HeadInputs in = inputs(v);
    in.ranker = &ranker;
    in.kpi_z_clip = 12;
    const auto train = range(0, 140), test = range(140, 200);
    const auto h = FailureHeads::fit(in, train, {}, o, 1);
    EXPECT_EQ(h.info()["ad_combine"], combine);
    EXPECT_EQ(h.info()["ad_thresholds"].back()["score"], combine == "evidence" ? "evidence" : "kpi");
    const auto t = h.detect(in, test);
    Counts c;
    for (size_t k = 0; k < test.size(); ++k) {
      if (faulty(test[k])) {
        c.hits += t.alarms[k];
        c.by |= t.alarmed_by[k];
      } else {
        (joint(test[k]) ? c.joint : c.false_alarms) += t.alarms[k];
      }
    }
    // a saved model decides the same, and so does a stream slice by slice (with its evidence threshold carried)
    EXPECT_EQ(FailureHeads::from_json(nlohmann::json::parse(h.to_json().dump())).detect(in, test).alarms, t.alarms)
        << combine;
    auto stream = h.ad_stream();
    for (size_t k = 0; k < test.size(); ++k)
      EXPECT_EQ(h.detect(in, {test[k]}, &stream).alarms[0], t.alarms[k]) << combine << ", slice " << test[k];
    if (combine == "evidence") {  // a saved model whose calibration scores are out of order is refused
      auto bad = h.to_json();
      bad["part_calibration"][3] = nlohmann::json::array({2.0, 1.0});
      EXPECT_THROW(FailureHeads::from_json(bad), ModelError);
    }
    return c;
  };
  const Counts any = run(2.5f, 2.25f, "any"), evidence = run(2.5f, 2.25f, "evidence");
  EXPECT_EQ(any.hits, 20);
  EXPECT_EQ(evidence.hits, 20) << "one part far out alarms alone";
  EXPECT_EQ(evidence.by, kAdKpi) << "the part behind the faults' alarms";
  EXPECT_LE(any.joint, 1) << "of the 6 slices where two parts moved a little, each part alone";
  EXPECT_GE(evidence.joint, 5) << "... and their evidence combined";
  EXPECT_LE(run(2.5f, 0.0f, "evidence").joint, 1) << "the state embedding's move alone";
  EXPECT_LE(run(0.0f, 2.25f, "evidence").joint, 1) << "the KPI's move alone";
  EXPECT_LE(evidence.false_alarms, 1) << "of the 34 normal test slices";
  EXPECT_LE(any.false_alarms, 1);
  // a bad option is refused
  HeadOptions bad;
  bad.ad_combine = "sum";
  EXPECT_THROW(HeadOptions::schema().validate(bad), InvalidInput);
}

// The event AD score reads the call times' alarm z (EventDeviation::alarm_z_a). In one normal slice in ten e1
// receives a lone slow call from e0 (robust z 100, alarm z 2.5: no rarer than normal traffic makes it); in the
// fault runs all its calls are slow (z 50, and as sure). Read as alarms read them the lone calls raise nothing and
// the faults alarm; read as the robust z, the lone calls would outscore the faults.
TEST(FailureHeads, TheEventScoreReadsTheCallTimesAlarmZ) {
  const auto v = slices(false);
  Catalog cat;
  const Id e0 = cat.entity("e0", EntityKind::kPod, "s0"), e1 = cat.entity("e1", EntityKind::kPod, "s1");
  cat.entity("e2", EntityKind::kPod, "s2");
  std::vector<FeatureSlice> fs(v.size());
  std::vector<std::vector<EventDeviation>> devs(v.size());
  std::vector<size_t> lone;
  for (size_t i = 0; i < v.size(); ++i) {
    for (Id e : {e0, e1}) fs[i].tokens[static_cast<int>(Modality::kTraces)].entities.push_back(e);
    EventDeviation d;
    d.kind = EventKind::kEdge;
    d.entity = e1;
    d.caller = cat.service_of(e0);
    d.key = 42;
    d.z_a = d.z_b = d.alarm_z_a = d.alarm_z_b = 0.5 + 0.01 * static_cast<double>(i % 50);
    if (faulty(i)) {
      d.z_a = d.alarm_z_a = 50;
    } else if (i % 10 == 5) {
      d.z_a = 100;
      d.alarm_z_a = 2.5;
      lone.push_back(i);
    }
    devs[i].push_back(d);
  }
  HeadOptions o;
  o.ad_score = "events";
  const auto ranker = ZeroLabelRanker::fit(fs, devs, nullptr, cat, ranker_options(o));
  HeadInputs in = inputs(v);
  in.ranker = &ranker;
  const auto train = range(0, 140), test = range(140, 200);
  const auto h = FailureHeads::fit(in, train, {}, o, 1);
  EXPECT_EQ(h.info()["ad_score"], "events");
  // traces without metrics: the most extreme KPI could only ever read 0, so it is left out, says why, and takes no
  // share of the risk
  EXPECT_NE(h.info()["kpi_note"].get<std::string>().find("no calibration slice holds a KPI deviation"),
            std::string::npos)
      << h.info()["kpi_note"];
  EXPECT_DOUBLE_EQ(h.info()["ad_part_q"].get<double>(), o.spot.q);
  // the failed-span signal's "auto", as these data resolved it (no metrics: on), is what the saved heads rank with
  EXPECT_TRUE(ranker.span_errors());
  EXPECT_EQ(h.options().event_span_errors, "on");
  EXPECT_EQ(FailureHeads::from_json(h.to_json()).options().event_span_errors, "on");
  EXPECT_TRUE(ranker.self_time());  // the self-time signal's too
  EXPECT_EQ(FailureHeads::from_json(h.to_json()).options().event_self_time, "on");
  const auto t = h.detect(in, test);
  int hits = 0, false_alarms = 0;
  for (size_t k = 0; k < test.size(); ++k) (faulty(test[k]) ? hits : false_alarms) += t.alarms[k];
  EXPECT_EQ(hits, 20) << "the 20 faulty slices";
  EXPECT_EQ(false_alarms, 0);
  // what the heads read: the lone call's slice scores nothing as an alarm, its robust z ranks it first
  const size_t lone_test = 145;
  ASSERT_TRUE(std::find(lone.begin(), lone.end(), lone_test) != lone.end());
  EXPECT_EQ(ranker.rank({lone_test}, false, /*alarm=*/true)[0].score, 0.0);
  EXPECT_GT(ranker.rank({lone_test}, false)[0].score, ranker.rank({150}, false)[0].score);
}

// A fault that moves only a KPI (no call, span or log evidence): e1's KPI slot 3 sits at a robust z of about 150
// (squashed 8) in the fault runs, every KPI elsewhere is Gaussian noise (sd 0.6, mostly within the min_z of 3). The event score cannot pass
// its threshold on a KPI alone (the family's size correction caps it), the most extreme KPI alarms on its own
// (heads.ad_kpi), and says so in alarmed_by; where the normal slices' KPIs already reach the tokens' clip, as
// TrainTicket's do, its threshold sits at the clip and the part raises nothing.
TEST(FailureHeads, AFaultThatMovesOnlyAKpiAlarmsThroughTheMostExtremeKpi) {
  const auto v = slices(false);
  Catalog cat;
  const Id e0 = cat.entity("e0", EntityKind::kPod, "s0"), e1 = cat.entity("e1", EntityKind::kPod, "s1");
  cat.entity("e2", EntityKind::kPod, "s2");
  auto featurise = [&](double normal_peak) {
    std::vector<FeatureSlice> fs = kpi_tokens(v.size(), e0, e1);
    for (size_t i = 0; i < v.size(); i += 2)
      if (!faulty(i))
        fs[i].tokens[static_cast<int>(Modality::kMetrics)].values[kMetricTokenDim + 5] =
            static_cast<float>(normal_peak);
    return fs;
  };
  const auto train = range(0, 140), test = range(140, 200);
  nlohmann::json info;
  auto run = [&](const std::vector<FeatureSlice>& fs, bool ad_kpi, std::uint8_t* by = nullptr) {
    const std::vector<std::vector<EventDeviation>> devs(fs.size());
    HeadOptions o;
    o.ad_kpi = ad_kpi;
    o.ad_score = "events";  // not the kNN: the states are noise here
    const auto ranker = ZeroLabelRanker::fit(fs, devs, nullptr, cat, ranker_options(o));
    HeadInputs in = inputs(v);
    in.ranker = &ranker;
    in.kpi_z_clip = 12;
    const auto h = FailureHeads::fit(in, train, {}, o, 1);
    info = h.info();
    const auto t = h.detect(in, test);
    EXPECT_EQ(FailureHeads::from_json(h.to_json()).detect(in, test).alarms, t.alarms) << "a saved model decides the same";
    std::pair<int, int> hits_and_false{0, 0};
    for (size_t k = 0; k < test.size(); ++k) {
      (faulty(test[k]) ? hits_and_false.first : hits_and_false.second) += t.alarms[k];
      if (by && faulty(test[k])) *by |= t.alarmed_by[k];
    }
    return hits_and_false;
  };
  const auto noisy = featurise(0.0);
  std::uint8_t by = 0;
  const auto with = run(noisy, true, &by);
  EXPECT_EQ(with.first, 20) << "the 20 faulty slices";
  EXPECT_LE(with.second, 1);
  EXPECT_TRUE(by & kAdKpi);
  EXPECT_GT(info["kpi_spot_threshold"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(info["ad_part_q"].get<double>(), HeadOptions{}.spot.q / 2) << "events and the KPI share the risk";
  EXPECT_EQ(ad_part_names(kAdKpi), std::vector<std::string>{"most extreme KPI"});
  EXPECT_LE(run(noisy, false).first, 2) << "without the part the KPI-only fault is all but missed";
  EXPECT_EQ(info["kpi_spot_threshold"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(info["ad_part_q"].get<double>(), HeadOptions{}.spot.q) << "the event score alone";
  // half the normal slices hold a KPI at the clip: the threshold is the clip, the part could never alarm and is
  // left out, saying why, and the event score keeps the whole risk
  EXPECT_EQ(run(featurise(12.0), true).first, 0);
  EXPECT_EQ(info["kpi_spot_threshold"].get<double>(), 0.0);
  EXPECT_NE(info["kpi_note"].get<std::string>().find("clip in 50 % of the calibration slices"), std::string::npos)
      << info["kpi_note"];
  EXPECT_DOUBLE_EQ(info["ad_part_q"].get<double>(), HeadOptions{}.spot.q);

  // "auto" chooses the mode whose alarms on the training slices match the labelled faults best, read as the slices
  // are then decided: with the most extreme KPI's part beside the mode's own, each at its share of the risk. Here
  // only that part sees the fault, so the F1 reported for every mode comes from it (before, the candidates were
  // scored without it: F1 about 0 each), and detect on the training slices agrees (not to the last slice: there
  // the kNN finds each reference slice itself, which its calibration leaves out).
  const std::vector<std::vector<EventDeviation>> no_devs(noisy.size());
  HeadOptions o;
  o.ad_score = "auto";
  const auto ranker = ZeroLabelRanker::fit(noisy, no_devs, nullptr, cat, ranker_options(o));
  HeadInputs in = inputs(v);
  in.ranker = &ranker;
  in.kpi_z_clip = 12;
  const auto all = range(0, 200);
  std::vector<TrainingCase> cases(2);
  for (size_t i : all)
    if (faulty(i)) cases[i < 170 ? 0 : 1].slices.push_back(i);
  for (auto& c : cases) {
    c.start = static_cast<TimeUs>(c.slices.front()) * kMinute;
    c.fault_type = "kpi_only";
    c.root_cause = "e1";
    c.level = "pod";
  }
  const auto h = FailureHeads::fit(in, all, cases, o, 1);
  const std::string chosen = h.info()["ad_score"];
  const auto t = h.detect(in, all);
  double tp = 0, alarms = 0;
  for (size_t k = 0; k < all.size(); ++k) {
    tp += t.alarms[k] && faulty(all[k]);
    alarms += t.alarms[k];
  }
  const double f1 = 2 * tp / (alarms + 20);
  EXPECT_GE(f1, 0.9) << chosen;
  for (auto& [mode, train_f1] : h.info()["ad_score_train_point_f1"].items())
    EXPECT_GE(train_f1.get<double>(), 0.9) << mode;
  EXPECT_NEAR(h.info()["ad_score_train_point_f1"][chosen].get<double>(), f1, 0.05) << chosen;
}

// SPOT calibrated on all training slices puts the threshold among the fault scores when faults fill much of the
// training part; calibrated on the normal ones it sits just above normal, and it falls back to all when too few
// normal slices exist.
TEST(FailureHeads, SpotCanBeCalibratedOnTheNormalTrainingSlices) {
  auto v = slices(true);
  for (size_t i = 0; i < v.size(); ++i)
    if (faulty(i)) v[i].faults = {0};
  const HeadInputs in = inputs(v);
  const auto train = range(130, 200);  // 20 faulty, 50 normal
  HeadOptions all, normal;
  all.ad_score = normal.ad_score = "entity";
  all.spot_calibration = "all";
  EXPECT_EQ(normal.spot_calibration, "normal") << "the default";
  const auto ha = FailureHeads::fit(in, train, {}, all, 1), hn = FailureHeads::fit(in, train, {}, normal, 1);
  EXPECT_EQ(ha.info()["spot_calibration_slices"], 70);
  EXPECT_EQ(hn.info()["spot_calibration_slices"], 50);
  const double ta = ha.info()["entity_spot_threshold"], tn = hn.info()["entity_spot_threshold"];
  EXPECT_GT(ta, 1.0) << "all: among the fault slices' scores (about 3)";
  EXPECT_LT(tn, 0.1) << "normal: just above the normal slices' scores (about 0.005)";
  EXPECT_EQ(FailureHeads::from_json(hn.to_json()).detect(in, range(0, 130)).alarms, hn.detect(in, range(0, 130)).alarms);
  const auto few = FailureHeads::fit(in, range(165, 195), {}, normal, 1);  // 20 normal < kMinNormalCalibration
  EXPECT_EQ(few.info()["spot_calibration_slices"], 30);
  normal.spot_calibration = "faulty";
  EXPECT_THROW(FailureHeads::fit(in, train, {}, normal, 1), std::exception);
}

// Traces only around the faults (as in Nezha's folder): a threshold calibrated on the normal slices would never
// have seen a trace signal, so the calibration falls back to all slices and says why; where the normal slices
// carry traces too it stays on them.
TEST(FailureHeads, SpotFallsBackToAllWhenTheNormalSlicesLackAModality) {
  auto v = slices(true);
  for (size_t i = 0; i < v.size(); ++i) {
    v[i].mask.set(Modality::kMetrics);
    if (faulty(i)) {
      v[i].faults = {0};
      v[i].mask.set(Modality::kTraces);
    }
  }
  const HeadInputs in = inputs(v);
  const auto train = range(130, 200);  // 20 faulty with traces, 50 normal without
  HeadOptions o;
  o.ad_score = "entity";
  const auto lacking = FailureHeads::fit(in, train, {}, o, 1).info();
  EXPECT_EQ(lacking["spot_calibration"], "all");
  EXPECT_EQ(lacking["ad_score_note"], "") << "the entity head's score reads no normal references";
  EXPECT_EQ(lacking["spot_calibration_slices"], 70);
  EXPECT_NE(lacking["spot_calibration_note"].get<std::string>().find("under-represent traces"), std::string::npos)
      << lacking["spot_calibration_note"];
  for (size_t i = 130; i < 150; ++i) v[i].mask.set(Modality::kTraces);  // 20 of the 50 normal ones carry traces
  const auto covered = FailureHeads::fit(in, train, {}, o, 1).info();
  EXPECT_EQ(covered["spot_calibration"], "normal");
  EXPECT_EQ(covered["spot_calibration_slices"], 50);
  EXPECT_EQ(covered["spot_calibration_note"], "");
}

TEST(SpotCalibration, PositionsIntoTheTrainingSlices) {
  const std::vector<size_t> train = range(100, 150);
  auto even = [](size_t i) { return i % 2 == 0; };
  const auto c = spot_calibration_positions(train, [](size_t) { return true; }, "normal");
  EXPECT_EQ(c.at.size(), 50u);
  EXPECT_TRUE(c.normal);
  const auto few = spot_calibration_positions(train, even, "normal");  // 25 < kMinNormalCalibration
  EXPECT_FALSE(few.normal);
  EXPECT_EQ(few.at.size(), 50u);
  EXPECT_NE(few.note.find("fewer than 30"), std::string::npos) << few.note;
  const auto every = spot_calibration_positions(range(100, 200), even, "normal");
  ASSERT_EQ(every.at.size(), 50u);
  EXPECT_EQ(every.at[1], 2u) << "positions into train, not slice indices";
  EXPECT_TRUE(spot_calibration_positions(train, even, "all").note.empty());
  // traces only on the odd (not normal) slices: the normal ones lack them, whatever the calibration asked for
  auto traces_odd = [](size_t i) -> std::uint8_t { return i % 2 ? 3 : 1; };
  const auto normal_lacking = spot_calibration_positions(range(100, 200), even, "normal", traces_odd);
  EXPECT_FALSE(normal_lacking.normal);
  EXPECT_EQ(normal_lacking.lacking, "traces");
  const auto all_lacking = spot_calibration_positions(range(100, 200), even, "all", traces_odd);
  EXPECT_EQ(all_lacking.at.size(), 100u);
  EXPECT_TRUE(all_lacking.note.empty());
  EXPECT_EQ(all_lacking.lacking, "traces") << "the kNN's references are the normal slices under both";
  EXPECT_EQ(spot_calibration_positions(range(100, 200), even, "all", [](size_t) -> std::uint8_t { return 3; }).lacking,
            "");
}

TEST(SignTest, IsTheExactOneSidedBinomialTail) {
  EXPECT_EQ(sign_test_p(0, 0), 1.0) << "no discordant case: no evidence";
  EXPECT_DOUBLE_EQ(sign_test_p(2, 0), 0.25);
  EXPECT_DOUBLE_EQ(sign_test_p(5, 0), 1.0 / 32);
  EXPECT_NEAR(sign_test_p(8, 2), 56.0 / 1024, 1e-12);  // C(10,8) + C(10,9) + C(10,10) = 56
  EXPECT_NEAR(sign_test_p(1, 1), 0.75, 1e-12);
  EXPECT_NEAR(sign_test_p(0, 3), 1.0, 1e-12);
  EXPECT_LT(sign_test_p(400, 300), 1e-4) << "large counts do not overflow";
  EXPECT_GT(sign_test_p(400, 300), 0.0);
  EXPECT_THROW(sign_test_p(-1, 2), InvalidInput);
}

TEST(FailureHeads, EntityScoreNeedsAModelWithTheHead) {
  const auto v = slices(false);
  const HeadInputs in = inputs(v);
  HeadOptions o;
  o.ad_score = "entity";
  try {
    FailureHeads::fit(in, range(0, 120), {}, o, 1);
    ADD_FAILURE() << "no error";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("needs a model with an entity head"), std::string::npos) << e.what();
  }
  o.ad_score = "events+entity";
  EXPECT_THROW(FailureHeads::fit(in, range(0, 120), {}, o, 1), InvalidInput);
  o.ad_score = "both";  // the default falls back to the kNN of the state embedding
  const auto h = FailureHeads::fit(in, range(0, 120), {}, o, 1);
  EXPECT_EQ(h.info()["ad_score"], "embedding");
  EXPECT_EQ(h.info()["entity_spot_threshold"].get<double>(), 0.0);
}

}  // namespace
}  // namespace rslicer
