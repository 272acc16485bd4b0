// Inference with a KV cache (Stage::decode): greedy generation through a split pipeline matches the
// full-window forward pass for every codec, sessions go `missing` when they should (wrong start,
// unknown, dropped, evicted, expired), bad batches are refused without changing anything, and
// decode calls between a training forward and backward leave training bit for bit as it was.
#include <QDir>
#include <QtTest>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <thread>

#include "engine_test_util.h"

using namespace tessera::engine;
using namespace tessera::model;
using namespace tessera::engine::testing;

namespace {

StageOptions stage_options(int index, int count, CodecKind codec = CodecKind::none, int rank = 0,
                           double dropout = 0.0) {
  StageOptions options;
  options.model = tiny_model();
  options.model.subspace_rank = rank;
  options.model.dropout = dropout;
  options.train = tiny_train();
  options.stage_index = index;
  options.stage_count = count;
  options.codec = codec;
  options.threads = test_threads;
  return options;
}

std::vector<Stage> pipeline(int count, CodecKind codec = CodecKind::none, int rank = 0, double dropout = 0.0) {
  std::vector<Stage> stages;
  for (int i = 0; i < count; ++i) stages.emplace_back(stage_options(i, count, codec, rank, dropout));
  return stages;
}

// The reference: the whole sequence through every stage's full-window evaluate, the last stage's
// logits of the last position.
std::vector<float> full_window_logits(std::vector<Stage>& stages, const std::vector<std::int32_t>& sequence) {
  ForwardMessage message;
  message.batch = 1;
  message.sequence = static_cast<int>(sequence.size());
  message.tokens = sequence;
  message.tokens.push_back(0);  // a target the logits do not depend on
  for (std::size_t i = 0; i + 1 < stages.size(); ++i) message.activations = stages[i].evaluate(message).output.activations;
  return stages.back().last_position_logits(message);
}

// One decode step through all stages: each stage's activations become the next one's input.
std::vector<DecodeOutcome> decode_through(std::vector<Stage>& stages, std::vector<DecodeEntry> batch) {
  std::vector<DecodeOutcome> outcomes;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    outcomes = stages[i].decode(batch);
    for (std::size_t j = 0; j < batch.size(); ++j) batch[j].activations = outcomes[j].activations;
  }
  return outcomes;
}

DecodeEntry entry(std::uint64_t session, std::int32_t start, std::vector<std::int32_t> tokens) {
  DecodeEntry e;
  e.session = session;
  e.start = start;
  e.tokens = std::move(tokens);
  return e;
}

int argmax(const std::vector<float>& values) {
  return static_cast<int>(std::max_element(values.begin(), values.end()) - values.begin());
}

double max_abs_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = a.size() == b.size() ? 0.0 : std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) worst = std::max(worst, std::abs(double(a[i]) - b[i]));
  return worst;
}

std::vector<std::int32_t> prompt(int length, int salt) {
  std::vector<std::int32_t> tokens;
  for (int i = 0; i < length; ++i) tokens.push_back((37 * i + 11 * salt + 5) % tiny_model().vocab);
  return tokens;
}

}  // namespace

class TestInferenceCache : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  // Three sessions with prompts of different lengths decode together, one batch per step, for 20
  // tokens: every step's logits match the full-window pass and the greedy tokens are the same.
  void greedyGenerationMatchesFullWindow_data() {
    QTest::addColumn<int>("stages");
    QTest::addColumn<int>("codec");
    QTest::addColumn<int>("rank");
    QTest::addColumn<double>("tolerance");
    QTest::newRow("one stage") << 1 << int(CodecKind::none) << 0 << 1e-4;
    QTest::newRow("2 stages, none") << 2 << int(CodecKind::none) << 0 << 1e-4;
    QTest::newRow("3 stages, none") << 3 << int(CodecKind::none) << 0 << 1e-4;
    QTest::newRow("3 stages, int8") << 3 << int(CodecKind::int8) << 0 << 5e-3;
    QTest::newRow("2 stages, subspace r=8") << 2 << int(CodecKind::subspace) << 8 << 5e-3;
  }
  void greedyGenerationMatchesFullWindow() {
    QFETCH(int, stages);
    QFETCH(int, codec);
    QFETCH(int, rank);
    QFETCH(double, tolerance);
    auto pipe = pipeline(stages, CodecKind(codec), rank);
    std::vector<std::vector<std::int32_t>> sequences = {prompt(3, 1), prompt(5, 2), prompt(8, 3)};
    std::vector<DecodeEntry> batch;
    for (std::size_t s = 0; s < sequences.size(); ++s) batch.push_back(entry(100 + s, 0, sequences[s]));
    double worst = 0.0;
    for (int step = 0; step < 20; ++step) {
      const auto outcomes = decode_through(pipe, batch);
      QCOMPARE(outcomes.size(), sequences.size());
      for (std::size_t s = 0; s < sequences.size(); ++s) {
        QVERIFY(!outcomes[s].missing);
        const auto reference = full_window_logits(pipe, sequences[s]);
        const double difference = max_abs_difference(outcomes[s].logits, reference);
        worst = std::max(worst, difference);
        QVERIFY2(difference <= tolerance, qPrintable(QStringLiteral("step %1, session %2: logits differ by %3")
                                                         .arg(step).arg(s).arg(difference)));
        const auto next = argmax(outcomes[s].logits);
        QCOMPARE(next, argmax(reference));
        batch[s] = entry(100 + s, static_cast<std::int32_t>(sequences[s].size()), {next});
        sequences[s].push_back(next);
      }
    }
    qInfo("largest logit difference over 20 steps: %.3g", worst);
    for (auto& stage : pipe) QCOMPARE(stage.inference_cache_stats().sessions, std::int64_t(3));
  }

  // Extensions by several positions, single steps and a reopened session in one batch: each
  // matches the full-window pass over its sequence.
  void mixedBatchMatchesFullWindow() {
    auto pipe = pipeline(2);
    std::vector<std::vector<std::int32_t>> sequences = {prompt(4, 1), prompt(6, 2), prompt(7, 3)};
    std::vector<DecodeEntry> batch;
    for (std::size_t s = 0; s < sequences.size(); ++s) batch.push_back(entry(s, 0, sequences[s]));
    decode_through(pipe, batch);
    const std::vector<std::int32_t> more = {17, 42, 99};
    const auto reopened = prompt(9, 4);
    batch = {entry(0, 4, more), entry(1, 6, {5}), entry(2, 0, reopened)};
    sequences[0].insert(sequences[0].end(), more.begin(), more.end());
    sequences[1].push_back(5);
    sequences[2] = reopened;
    const auto outcomes = decode_through(pipe, batch);
    for (std::size_t s = 0; s < sequences.size(); ++s) {
      QVERIFY(!outcomes[s].missing);
      QVERIFY(max_abs_difference(outcomes[s].logits, full_window_logits(pipe, sequences[s])) <= 1e-4);
    }
    const auto stats = pipe[1].inference_cache_stats();
    QCOMPARE(stats.sessions, std::int64_t(3));
    QCOMPARE(stats.bytes, std::int64_t(7 + 7 + 9) * 2 * 2 * 64 * 4);  // 2 blocks per stage
  }

  // A start other than the session's length, an unknown or dropped session: missing; start 0 reopens.
  void missingSessionsAskForTheWholeSequence() {
    Stage stage(stage_options(0, 1));
    const auto tokens = prompt(6, 4);
    const auto first = stage.decode({entry(1, 0, tokens)});
    QVERIFY(!first[0].missing);
    const auto outcomes = stage.decode({entry(1, 7, {3}), entry(2, 3, {4}), entry(1 + 2, 0, {9})});
    QVERIFY(outcomes[0].missing && outcomes[0].logits.empty() && outcomes[0].activations.bytes.empty());
    QVERIFY(outcomes[1].missing);
    QVERIFY(!outcomes[2].missing);
    QCOMPARE(outcomes[2].logits.size(), std::size_t(tiny_model().vocab));
    QVERIFY(stage.decode({entry(1, 5, {3})})[0].missing);  // 5 ≠ the 6 positions held
    QVERIFY(!stage.decode({entry(1, 6, {3})})[0].missing);          // the session survived the misses
    stage.drop_inference_session(1);
    QVERIFY(stage.decode({entry(1, 7, {3})})[0].missing);
    const auto reopened = stage.decode({entry(1, 0, tokens)});
    QVERIFY(!reopened[0].missing);
    QCOMPARE(reopened[0].logits, first[0].logits);
    QCOMPARE(stage.inference_cache_stats().sessions, std::int64_t(2));
    QCOMPARE(stage.inference_cache_stats().evictions, std::int64_t(0));
  }

  // A budget of 12 positions: a second 8-token session evicts the least recently used first one;
  // a 13-token session does not fit at all: it is not kept and evicts nobody.
  void evictionMakesSessionsMissing() {
    std::int64_t per_position = 0;
    {
      Stage probe(stage_options(0, 1));
      probe.decode({entry(1, 0, prompt(8, 1))});
      per_position = probe.inference_cache_stats().bytes / 8;
      // keys and values of 4 blocks, 4 heads × 16 values each, float32
      QCOMPARE(per_position, std::int64_t(4 * 2 * 64 * 4));
    }
    auto options = stage_options(0, 1);
    options.inference_cache_bytes = 12 * per_position;
    Stage stage(options);
    stage.decode({entry(1, 0, prompt(8, 1))});
    stage.decode({entry(2, 0, prompt(8, 2))});
    auto stats = stage.inference_cache_stats();
    QCOMPARE(stats.sessions, std::int64_t(1));
    QCOMPARE(stats.evictions, std::int64_t(1));
    QCOMPARE(stats.bytes, 8 * per_position);
    const auto outcomes = stage.decode({entry(1, 8, {5}), entry(2, 8, {5})});
    QVERIFY(outcomes[0].missing);
    QVERIFY(!outcomes[1].missing);
    stage.decode({entry(3, 0, prompt(13, 3))});
    stats = stage.inference_cache_stats();
    QCOMPARE(stats.sessions, std::int64_t(1));
    QCOMPARE(stats.bytes, 9 * per_position);
    QCOMPARE(stats.evictions, std::int64_t(2));  // session 1, then session 3 itself
    QVERIFY(stage.decode({entry(3, 13, {5})})[0].missing);
    QVERIFY(!stage.decode({entry(2, 9, {5})})[0].missing);
  }

  void idleSessionsExpire() {
    auto options = stage_options(0, 1);
    options.inference_session_ttl = std::chrono::seconds(1);
    Stage stage(options);
    stage.decode({entry(1, 0, prompt(4, 1))});
    QVERIFY(!stage.decode({entry(1, 4, {2})})[0].missing);  // within the ttl
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    QVERIFY(stage.decode({entry(1, 5, {2})})[0].missing);
    const auto stats = stage.inference_cache_stats();
    QCOMPARE(stats.expired, std::int64_t(1));
    QCOMPARE(stats.sessions, std::int64_t(0));
  }

  // Bad batches throw std::invalid_argument and change nothing: the open session keeps its length.
  void badBatchesAreRefusedWithoutChange() {
    auto pipe = pipeline(2);
    const auto tokens = prompt(5, 1);
    auto outcomes = decode_through(pipe, {entry(1, 0, tokens)});
    auto& first = pipe[0];
    auto& last = pipe[1];
    const auto before = last.inference_cache_stats();
    const auto activations = first.decode({entry(7, 0, {1, 2})})[0].activations;  // [1, 2, 64]
    auto with = [&](DecodeEntry e, const Payload& payload) {
      e.activations = payload;
      return e;
    };
    const auto context = tiny_model().context;
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, first.decode({}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, first.decode({entry(1, 5, {3}), entry(1, 0, {3})}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, first.decode({entry(1, 5, {3}), entry(2, 0, {})}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, first.decode({entry(1, 5, {3}), entry(2, 0, {256})}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, first.decode({entry(1, 5, {3}), entry(2, 0, {-1})}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, first.decode({entry(1, 5, {3}), entry(2, -1, {1})}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, first.decode({entry(1, 5, {3}), entry(2, context - 1, {1, 2})}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, first.decode({with(entry(1, 5, {3}), activations)}));
    // On the last stage: a payload of the wrong shape, codec or values, or none at all.
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, last.decode({with(entry(1, 5, {3}), activations)}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, last.decode({entry(1, 5, {3})}));
    auto fp16 = activations;
    fp16.codec = CodecKind::fp16;
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, last.decode({with(entry(1, 5, {3, 4}), fp16)}));
    std::vector<float> values(2 * 64, 0.5f);
    values[3] = std::numeric_limits<float>::quiet_NaN();
    const Payload nan{CodecKind::none, {1, 2, 64},
                      std::vector<std::uint8_t>(reinterpret_cast<const std::uint8_t*>(values.data()),
                                                reinterpret_cast<const std::uint8_t*>(values.data() + values.size()))};
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, last.decode({with(entry(1, 5, {3, 4}), nan)}));
    const auto after = last.inference_cache_stats();
    QCOMPARE(after.sessions, before.sessions);
    QCOMPARE(after.bytes, before.bytes);
    // Session 1 still holds its 5 positions on both stages and extends as before.
    outcomes = decode_through(pipe, {entry(1, 5, {3})});
    QVERIFY(!outcomes[0].missing);
    auto sequence = tokens;
    sequence.push_back(3);
    QVERIFY(max_abs_difference(outcomes[0].logits, full_window_logits(pipe, sequence)) <= 1e-4);
  }

  // Decode calls between training forwards and backwards leave the losses and the weights after
  // each step bit for bit what they are without them (with dropout: the stage's generator is not
  // touched either).
  void trainingIsUnaffected() {
    const auto data = DataSource::arithmetic(tiny_model().context, 1);
    auto train = [&](bool with_decode) {
      auto pipe = pipeline(2, CodecKind::none, 0, 0.1);
      std::vector<double> losses;
      for (std::int64_t step = 0; step < 2; ++step) {
        const auto batches = step_batches(data, tiny_train(), step);
        for (int m = 0; m < tiny_train().micro_batches; ++m) {
          ForwardMessage message;
          message.micro_batch = m;
          message.batch = tiny_train().micro_batch_size;
          message.sequence = tiny_model().context;
          message.tokens = batches[static_cast<std::size_t>(m)];
          const auto out = pipe[0].forward(message).output;
          if (with_decode) decode_through(pipe, {entry(9, 0, prompt(6, m)), entry(10, 0, prompt(3, m))});
          losses.push_back(pipe[1].forward(out).metrics.at("loss"));
          if (with_decode) decode_through(pipe, {entry(9, 6, {1}), entry(10, 3, {2})});
        }
        for (int m = 0; m < tiny_train().micro_batches; ++m) {
          const auto grad = pipe[1].backward(m, {}).grad_input;
          if (with_decode) decode_through(pipe, {entry(11, 0, prompt(4, m))});
          pipe[0].backward(m, grad);
        }
        const double norm = std::sqrt(pipe[0].grad_norm_squared() + pipe[1].grad_norm_squared());
        pipe[0].step(norm);
        pipe[1].step(norm);
      }
      return std::make_pair(losses, std::make_pair(pipe[0].parameter_vector(), pipe[1].parameter_vector()));
    };
    const auto plain = train(false);
    const auto interleaved = train(true);
    QCOMPARE(interleaved.first, plain.first);
    QVERIFY(interleaved.second.first == plain.second.first);
    QVERIFY(interleaved.second.second == plain.second.second);
  }

  // load() clears the cache: the sessions' keys and values came from other weights.
  void loadClearsTheCache() {
    const auto file = QDir::temp().filePath("tessera_inference_cache_test.pt").toStdString();
    Stage stage(stage_options(0, 1));
    stage.save(file);
    stage.decode({entry(1, 0, prompt(4, 1))});
    QCOMPARE(stage.inference_cache_stats().sessions, std::int64_t(1));
    stage.load(file);
    QCOMPARE(stage.inference_cache_stats().sessions, std::int64_t(0));
    QVERIFY(stage.decode({entry(1, 4, {2})})[0].missing);
    std::filesystem::remove(file);
  }
};

QTEST_APPLESS_MAIN(TestInferenceCache)
#include "test_inference_cache.moc"
