#include "train/pipeline.h"

#include "serialize/serialize.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/errors.h"
#include "core/progress.h"
#include "logparse/drain.h"

namespace rslicer {

PreparedData prepare_data(const std::string& path, const std::string& format, const PrepareOptions& options) {
  auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<TelemetrySource> source = open_source(path, format, options.read);
  PreparedData out;
  out.path = path;
  out.format = source->format();
  out.faults = source->faults();

  DrainMiner miner = options.initial_drain && !options.initial_drain->is_null()
                         ? DrainMiner::from_json(*options.initial_drain)
                         : DrainMiner();
  FeatureState state;
  if (options.initial_features) {
    state = *options.initial_features;
    state.frozen = true;
  } else {
    state.options = options.features;
  }
  // Template texts are cached per id: the miner generalises a template as it
  // absorbs lines, and a token's name must not change under a key once used.
  std::vector<std::string> template_cache;
  auto template_text = [&](Id id) -> std::string {
    if (id < template_cache.size() && !template_cache[id].empty()) return template_cache[id];
    if (id >= miner.templates().size()) return cat("template ", id);
    if (template_cache.size() <= id) template_cache.resize(id + 1);
    template_cache[id] = miner.templates()[id].text();
    return template_cache[id];
  };
  FeatureExtractor extractor(std::move(state), source->catalog(), template_text);
  std::unique_ptr<SliceSerializer> serializer;
  if (options.serialize_texts)
    serializer = std::make_unique<SliceSerializer>(source->catalog(),
                                                   [&](Id id) { return template_text(id); });

  Progress progress("prepare " + path, -1, options.progress, 5.0);
  std::int64_t records = 0;
  TimeUs last_start = INT64_MIN;
  RecordHooks hooks;
  auto count = [&] {
    if ((++records & 0xfffff) == 0)
      progress.update(records, cat(out.slices.size(), " slices, ", miner.templates().size(), " templates"));
  };
  hooks.metric = [&](MetricPoint&) { count(); };
  hooks.span = [&](Span&) { count(); };
  hooks.log = [&](LogRecord& log) {
    if (!log.message.empty()) log.template_id = static_cast<Id>(miner.add(log.message));
    count();
  };
  auto sink = [&](Slice&& slice) {
    RSLICER_CHECK(slice.start >= last_start, InvalidInput, "slices out of time order at ", format_time(slice.start));
    last_start = slice.start;
    FeatureSlice fs = extractor.extract(slice);
    if (serializer) {
      SerializedSlice texts = serializer->serialize(slice);
      fs.texts = {std::move(texts.metrics), std::move(texts.traces), std::move(texts.logs)};
    }
    out.slices.push_back(std::move(fs));
  };
  out.slice_stats = slice_source(*source, options.slice, sink, hooks);
  progress.finish(cat(out.slices.size(), " slices, ", records, " records, ", miner.templates().size(), " templates"));

  out.catalog = source->catalog();
  out.features = extractor.state();
  out.drain_state = miner.to_json();
  out.templates.reserve(miner.templates().size());
  for (const auto& t : miner.templates()) out.templates.push_back(t.text());
  out.parse_stats = source->stats();
  out.counts = source->counts();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

nlohmann::json to_json(const SplitSpec& s) {
  return {{"by", s.by}, {"train_fraction", s.train_fraction}, {"validation_fraction", s.validation_fraction}};
}

SplitSpec split_spec_from_json(const nlohmann::json& j, const SplitSpec& base) {
  SplitSpec s = base;
  RSLICER_CHECK(j.is_object(), InvalidInput, "split config must be an object, got ", j.dump());
  for (const auto& [k, v] : j.items()) {
    try {
      if (k == "by") {
        s.by = v.get<std::string>();
      } else if (k == "train_fraction") {
        s.train_fraction = v.get<double>();
      } else if (k == "validation_fraction") {
        s.validation_fraction = v.get<double>();
      } else {
        throw InvalidInput(cat("unknown key 'split.", k, "' in config"));
      }
    } catch (const nlohmann::json::exception& e) {
      throw InvalidInput(cat("bad value for 'split.", k, "': ", v.dump()));
    }
  }
  return s;
}

Split time_split(const std::vector<FeatureSlice>& slices, const SplitSpec& spec, const std::vector<FaultEvent>& faults) {
  RSLICER_CHECK(spec.train_fraction > 0 && spec.train_fraction < 1, InvalidInput,
                "split.train_fraction must be in (0, 1), got ", spec.train_fraction);
  RSLICER_CHECK(spec.validation_fraction >= 0 && spec.validation_fraction < 1, InvalidInput,
                "split.validation_fraction must be in [0, 1), got ", spec.validation_fraction);
  RSLICER_CHECK(!slices.empty(), InvalidInput, "cannot split: no slices");
  Split split;
  TimeUs t0 = slices.front().start, t1 = slices.front().end;
  for (const auto& s : slices) {
    t0 = std::min(t0, s.start);
    t1 = std::max(t1, s.end);
  }
  if (spec.by == "time") {
    // fractions of the COVERED time: quantiles of the slice start times, so
    // gaps between recorded periods (nights, missing days) do not count
    std::vector<TimeUs> starts;
    for (const auto& s : slices) starts.push_back(s.start);
    std::sort(starts.begin(), starts.end());
    const size_t n = starts.size();
    auto at = [&](double q) { return starts[std::min(n - 1, static_cast<size_t>(std::floor(q * n)))]; };
    split.test_start = at(spec.train_fraction);
    split.validation_start = at(spec.train_fraction * (1.0 - spec.validation_fraction));
    (void)t1;
  } else if (spec.by == "cases") {
    RSLICER_CHECK(faults.size() >= 2, InvalidInput, "split by cases needs at least 2 faults, got ", faults.size());
    std::vector<TimeUs> starts;
    for (const auto& f : faults) starts.push_back(f.start);
    std::sort(starts.begin(), starts.end());
    size_t n = starts.size();
    size_t n_first = std::clamp<size_t>(static_cast<size_t>(std::llround(n * spec.train_fraction)), 1, n - 1);
    size_t n_train = std::clamp<size_t>(
        static_cast<size_t>(std::llround(n_first * (1.0 - spec.validation_fraction))), 1, n_first);
    split.test_start = starts[n_first];
    // the test part starts a little before its first fault so the case's
    // pre-fault windows are test windows too
    split.test_start = std::max(t0, split.test_start - 5 * kUsPerMinute);
    split.validation_start =
        n_train < n_first ? std::max(t0, starts[n_train] - 5 * kUsPerMinute) : split.test_start;
  } else {
    throw InvalidInput(cat("split.by must be \"time\" or \"cases\", got \"", spec.by, "\""));
  }
  for (size_t i = 0; i < slices.size(); ++i) {
    const auto& s = slices[i];
    if (s.start >= split.test_start) {
      split.test.push_back(i);
    } else if (s.end <= split.validation_start) {
      split.train.push_back(i);
    } else if (s.start >= split.validation_start && s.end <= split.test_start) {
      split.validation.push_back(i);
    }
    // else: straddles a boundary, purged
  }
  return split;
}

}  // namespace rslicer
