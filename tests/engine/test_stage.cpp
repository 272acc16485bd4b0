// The stage worker: partition, a stage holds only its own parameters, memory refusal, metrics,
// and rejection of bad boundary input without touching the weights.
#include <QtTest>

#include <cmath>
#include <cstring>
#include <limits>
#include <set>

#include "core/engine/reference_trainer.h"
#include "engine_test_util.h"

using namespace tessera::engine;
using namespace tessera::model;
using namespace tessera::engine::testing;

namespace {
StageOptions stage_options(int index, int count, CodecKind codec = CodecKind::none) {
  StageOptions options;
  options.model = tiny_model();
  options.train = tiny_train();
  options.stage_index = index;
  options.stage_count = count;
  options.codec = codec;
  options.threads = test_threads;
  return options;
}

ForwardMessage first_message(const DataSource& data, std::int64_t id) {
  ForwardMessage message;
  message.micro_batch = id;
  message.batch = tiny_train().micro_batch_size;
  message.sequence = tiny_model().context;
  message.tokens = data.micro_batch(0, static_cast<int>(id), 1, message.batch);
  return message;
}
}  // namespace

class TestStage : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void partitionCoversEveryBlockOnce() {
    auto model = tiny_model(7);
    for (int stages = 1; stages <= 7; ++stages) {
      int next = 0;
      for (int i = 0; i < stages; ++i) {
        const auto plan = plan_stage(model, stages, i);
        QCOMPARE(plan.first_block, next);
        QVERIFY(plan.blocks() >= 1);
        next = plan.end_block;
      }
      QCOMPARE(next, 7);
    }
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, plan_stage(model, 8, 0));
  }

  void stageHoldsOnlyItsOwnParameters() {
    // Each stage of four allocates exactly its block, plus embeddings (stage 0) or head (last).
    std::int64_t total = 0;
    std::set<std::string> seen;
    for (int i = 0; i < 4; ++i) {
      Stage stage(stage_options(i, 4));
      QCOMPARE(stage.parameter_count(), stage_parameters(tiny_model(), stage.plan()));
      total += stage.parameter_count();
      for (const auto& [name, values] : stage.named_parameters()) {
        QVERIFY2(seen.insert(name).second, name.c_str());
        const bool embedding = name.starts_with("tok_emb") || name.starts_with("pos_emb");
        const bool head = name.starts_with("head") || name.starts_with("ln_f");
        if (embedding) QCOMPARE(i, 0);
        if (head) QCOMPARE(i, 3);
        if (!embedding && !head) QVERIFY2(name.starts_with("block" + std::to_string(i) + "."), name.c_str());
      }
    }
    SingleProcessTrainer whole({tiny_model(), tiny_train(), "cpu", test_threads});
    std::int64_t whole_count = 0;
    for (const auto& [name, values] : whole.named_parameters()) whole_count += static_cast<std::int64_t>(values.size());
    QCOMPARE(total, whole_count);
    QCOMPARE(total, stage_parameters(tiny_model(), plan_stage(tiny_model(), 1, 0)));
  }

  void refusesToStartOverTheMemoryLimit() {
    auto options = stage_options(1, 4);
    const auto estimate = estimate_stage_memory(options.model, plan_stage(options.model, 4, 1),
                                                options.train.micro_batch_size, options.train.micro_batches);
    QVERIFY(estimate.parameters > 0 && estimate.optimizer == 2 * estimate.parameters && estimate.activations > 0);
    options.memory_limit_bytes = estimate.total() - 1;
    try {
      Stage stage(options);
      QFAIL("the stage started over its memory limit");
    } catch (const std::runtime_error& error) {
      QVERIFY2(QString(error.what()).contains("memory limit"), error.what());
    }
    options.memory_limit_bytes = estimate.total();
    Stage fits(options);
    QCOMPARE(fits.memory_estimate().total(), estimate.total());
    // More micro-batches in flight means more stashed activations.
    QVERIFY(estimate_stage_memory(options.model, fits.plan(), 4, 8).activations > estimate.activations);
  }

  void callsReportMetrics() {
    const auto data = DataSource::arithmetic(tiny_model().context, 1);
    Stage first(stage_options(0, 2)), last(stage_options(1, 2));
    auto forward = first.forward(first_message(data, 0));
    QCOMPARE(forward.metrics.at("tokens"), double(4 * 32));
    const double expected_flops = stage_training_flops_per_token(tiny_model(), first.plan()) / 3.0 * 4 * 32;
    QCOMPARE(forward.metrics.at("flops"), expected_flops);
    QVERIFY(forward.metrics.at("device_seconds") > 0.0);
    QCOMPARE(forward.output.activations.bytes.size(), std::size_t(4 * 32 * 64 * 4));
    auto end = last.forward(forward.output);
    QVERIFY(std::abs(end.metrics.at("loss") - std::log(256.0)) < 0.5);  // near uniform at start
    QVERIFY(end.output.activations.bytes.empty());
    auto back = last.backward(0, {});
    QCOMPARE(back.metrics.at("flops"), 2.0 * stage_training_flops_per_token(tiny_model(), last.plan()) / 3.0 * 4 * 32);
    auto back_first = first.backward(0, back.grad_input);
    QVERIFY(back_first.grad_input.bytes.empty());
    const double norm = std::sqrt(first.grad_norm_squared() + last.grad_norm_squared());
    QVERIFY(norm > 0.0);
    const auto step = first.step(norm);
    QCOMPARE(step.at("lr"), learning_rate(tiny_train(), 0));
    QCOMPARE(first.step_count(), std::int64_t(1));
  }

  void rejectsBadInputAndKeepsWeights() {
    const auto data = DataSource::arithmetic(tiny_model().context, 1);
    Stage first(stage_options(0, 2)), second(stage_options(1, 2));
    const auto before = by_name(second.named_parameters());
    const auto good = first.forward(first_message(data, 0)).output;

    auto expect_rejected = [&](ForwardMessage message, const char* what) {
      try {
        second.forward(message);
        QFAIL(what);
      } catch (const std::invalid_argument& error) {
        QVERIFY2(QString(error.what()).contains("rejected"), error.what());
      }
    };
    auto nan = good;
    const float not_a_number = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(nan.activations.bytes.data() + 40, &not_a_number, 4);
    expect_rejected(nan, "NaN accepted");
    auto wrong_shape = good;
    wrong_shape.activations.shape = {4, 32, 32};
    wrong_shape.activations.bytes.resize(4 * 32 * 32 * 4);
    expect_rejected(wrong_shape, "wrong shape accepted");
    auto wrong_codec = good;
    wrong_codec.activations = encode(CodecKind::fp16, decode(good.activations));
    expect_rejected(wrong_codec, "wrong codec accepted");
    auto bad_token = good;
    bad_token.tokens[5] = 300;
    expect_rejected(bad_token, "token outside the vocabulary accepted");
    QCOMPARE(second.in_flight(), 0);

    // A good forward, then a poisoned gradient: refused, nothing back-propagated.
    second.forward(good);
    auto gradient = encode(CodecKind::none, HostTensor::from_floats({4, 32, 64}, std::vector<float>(4 * 32 * 64, 0.0f)));
    const float infinity = std::numeric_limits<float>::infinity();
    std::memcpy(gradient.bytes.data(), &infinity, 4);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, first.backward(0, gradient));
    QCOMPARE(first.grad_norm_squared(), 0.0);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, second.step(std::numeric_limits<double>::quiet_NaN()));
    QCOMPARE(by_name(second.named_parameters()), before);
  }

  void subspaceCodecNeedsTheConstrainedModel() {
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, Stage(stage_options(0, 2, CodecKind::subspace)));
    auto options = stage_options(0, 2, CodecKind::subspace);
    options.model.subspace_rank = 8;
    Stage first(options);
    const auto data = DataSource::arithmetic(tiny_model().context, 1);
    const auto out = first.forward(first_message(data, 0)).output;
    // Only r coefficients per token cross the boundary.
    QCOMPARE(out.activations.shape, (std::vector<std::int64_t>{4, 32, 8}));
    QCOMPARE(out.activations.bytes.size(), std::size_t(4 * 32) * payload_bytes_per_token(CodecKind::subspace, 8));
    // Every stage holds the full-width learned token and position embeddings.
    auto last_options = options;
    last_options.stage_index = 1;
    Stage last(last_options);
    for (const Stage* stage : {&first, &last}) {
      const auto named = by_name(stage->named_parameters());
      QCOMPARE(named.at("tok_emb.weight").size(), std::size_t(256 * 64));
      QCOMPARE(named.at("pos_emb").size(), std::size_t(32 * 64));
      QCOMPARE(stage->parameter_count(), stage_parameters(options.model, stage->plan()));
      QCOMPARE(stage->shared_embedding_size(), std::int64_t((256 + 32) * 64));
    }
    QCOMPARE(by_name(first.named_parameters()).at("tok_emb.weight"), by_name(last.named_parameters()).at("tok_emb.weight"));
    // Blocks whose writes cross a boundary are constrained; the last stage's are not.
    const auto last_plan = plan_stage(options.model, 2, 1);
    QVERIFY(block_constrained(options.model, first.plan(), 0) && block_constrained(options.model, first.plan(), 1));
    QVERIFY(!block_constrained(options.model, last_plan, 2) && !block_constrained(options.model, last_plan, 3));
    QVERIFY(block_parameters(options.model, true) < block_parameters(options.model, false));
    QCOMPARE(block_parameters(options.model, false), non_embedding_parameters(options.model) / options.model.layers);
    // Nothing is shared without the constraint, or in a single stage.
    QCOMPARE(Stage(stage_options(0, 2)).shared_embedding_size(), std::int64_t(0));
    auto single = options;
    single.stage_count = 1;
    QCOMPARE(Stage(single).shared_embedding_size(), std::int64_t(0));
  }

  // The shared embeddings' gradient: each stage's part, summed, handed back to every stage; step()
  // refuses without it, a bad sum is rejected without changing anything, and the copies stay equal.
  void sharedEmbeddingGradientIsSummed() {
    auto options = stage_options(0, 2, CodecKind::subspace);
    options.model.subspace_rank = 8;
    auto last_options = options;
    last_options.stage_index = 1;
    Stage first(options), last(last_options);
    const auto data = DataSource::arithmetic(tiny_model().context, 1);
    for (int step = 0; step < 3; ++step) {
      auto message = first_message(data, step);
      last.forward(first.forward(message).output);
      first.backward(step, last.backward(step, {}).grad_input);
      auto sum = first.shared_embedding_gradient();
      const auto part = last.shared_embedding_gradient();
      QCOMPARE(sum.size(), part.size());
      double first_norm = 0.0, last_norm = 0.0;
      for (std::size_t k = 0; k < sum.size(); ++k) {
        first_norm += double(sum[k]) * sum[k];
        last_norm += double(part[k]) * part[k];
        sum[k] += part[k];
      }
      QVERIFY(first_norm > 0.0 && last_norm > 0.0);  // both stages contribute
      QVERIFY_THROWS_EXCEPTION(std::logic_error, first.step(1.0));
      QVERIFY_THROWS_EXCEPTION(std::invalid_argument, first.set_shared_embedding_gradient({1.0f, 2.0f}));
      auto bad = sum;
      bad[5] = std::numeric_limits<float>::quiet_NaN();
      QVERIFY_THROWS_EXCEPTION(std::invalid_argument, last.set_shared_embedding_gradient(bad));
      QVERIFY_THROWS_EXCEPTION(std::logic_error, last.step(1.0));
      first.set_shared_embedding_gradient(sum);
      last.set_shared_embedding_gradient(sum);
      QCOMPARE(first.shared_embedding_gradient(), sum);
      // The shared part is counted once, on stage 0.
      double shared = 0.0;
      for (float v : sum) shared += double(v) * v;
      QVERIFY(first.grad_norm_squared() >= shared * (1 - 1e-6));
      const double norm = std::sqrt(first.grad_norm_squared() + last.grad_norm_squared());
      first.step(norm);
      last.step(norm);
    }
    const auto a = by_name(first.named_parameters()), b = by_name(last.named_parameters());
    QCOMPARE(a.at("tok_emb.weight"), b.at("tok_emb.weight"));
    QCOMPARE(a.at("pos_emb"), b.at("pos_emb"));
    QVERIFY_THROWS_EXCEPTION(std::logic_error, Stage(stage_options(0, 2)).set_shared_embedding_gradient({}));
  }

  // An abandoned step (the swarm's Abort) leaves no shared gradient owed: the next step can
  // commit without a sum for the discarded one, and weights stay equal across stages.
  void discardedStepOwesNoSharedGradient() {
    auto options = stage_options(0, 2, CodecKind::subspace);
    options.model.subspace_rank = 8;
    auto last_options = options;
    last_options.stage_index = 1;
    Stage first(options), last(last_options);
    const auto data = DataSource::arithmetic(tiny_model().context, 1);
    auto message = first_message(data, 0);
    last.forward(first.forward(message).output);
    first.backward(0, last.backward(0, {}).grad_input);
    QVERIFY_THROWS_EXCEPTION(std::logic_error, first.step(1.0));
    first.discard_step();
    last.discard_step();
    QCOMPARE(first.grad_norm_squared(), 0.0);
    first.step(0.0);  // nothing owed any more
    last.step(0.0);
    QCOMPARE(first.step_count(), 1);
  }

  // A stage that missed steps the run committed skips to the run's step: its weights stay as they
  // are, its pending micro-batch is dropped, and it never goes back.
  void skipToMovesOnlyForward() {
    Stage stage(stage_options(0, 2));
    const auto data = DataSource::arithmetic(tiny_model().context, 1);
    stage.forward(first_message(data, 0));
    const auto weights = stage.parameter_vector();
    stage.skip_to(5);
    QCOMPARE(stage.step_count(), 5);
    QCOMPARE(stage.in_flight(), 0);
    QVERIFY(stage.parameter_vector() == weights);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, stage.skip_to(5));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, stage.skip_to(2));
    QCOMPARE(stage.step_count(), 5);
  }

  // A spot checker's scratch stage: another stage's parameter vector installed reproduces its
  // forward and backward bit for bit; a wrong length or a NaN is refused and changes nothing.
  void parameterVectorRoundTrip() {
    Stage trained(stage_options(1, 2)), scratch(stage_options(1, 2));
    Stage first(stage_options(0, 2));
    const auto data = DataSource::arithmetic(tiny_model().context, 1);
    auto message = first_message(data, 0);
    const auto boundary = first.forward(message).output;
    trained.forward(boundary);
    trained.backward(0, {});
    trained.step(std::sqrt(trained.grad_norm_squared()));  // now unlike a fresh stage's
    const auto weights = trained.parameter_vector();
    QCOMPARE(static_cast<std::int64_t>(weights.size()), trained.parameter_count());
    std::vector<float> flat;
    for (const auto& [name, values] : trained.named_parameters()) flat.insert(flat.end(), values.begin(), values.end());
    QVERIFY(flat == weights);  // named_parameters() order
    QVERIFY(scratch.parameter_vector() != weights);

    scratch.set_parameter_vector(weights);
    QVERIFY(scratch.parameter_vector() == weights);
    auto mine = boundary;
    mine.micro_batch = 1;
    const auto a = trained.forward(boundary), b = scratch.forward(mine);
    QCOMPARE(a.metrics.at("loss"), b.metrics.at("loss"));
    const auto ga = trained.backward(0, {}), gb = scratch.backward(1, {});
    QVERIFY(ga.grad_input.bytes == gb.grad_input.bytes);
    QVERIFY(ga.grad_input.shape == gb.grad_input.shape);

    auto short_vector = weights;
    short_vector.pop_back();
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, scratch.set_parameter_vector(short_vector));
    auto poisoned = weights;
    poisoned[3] = std::numeric_limits<float>::quiet_NaN();
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, scratch.set_parameter_vector(poisoned));
    QVERIFY(scratch.parameter_vector() == weights);
  }

  void unknownDeviceIsRefused() {
    auto options = stage_options(0, 1);
    options.device = "tpu";
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, Stage{options});
  }
};

QTEST_APPLESS_MAIN(TestStage)
#include "test_stage.moc"
