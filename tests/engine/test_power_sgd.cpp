// PowerSGD replica averaging (core/model/power_sgd.h): which parameters are compressed, exact
// recovery of low-rank sums, bit-identical results for every reducer, and error feedback that
// loses nothing: what was installed plus what the replicas still hold is what they computed.
#include <QtTest>

#include <cmath>
#include <random>

#include "core/model/power_sgd.h"

using namespace tessera::model;

namespace {

std::vector<float> random_values(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> out(n);
  for (auto& v : out) v = normal(rng);
  return out;
}

// u·vᵀ (rows × cols) written at `offset` of `out`.
void put_rank_one(std::vector<float>& out, std::int64_t offset, std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
  const auto u = random_values(static_cast<std::size_t>(rows), seed);
  const auto v = random_values(static_cast<std::size_t>(cols), seed + 1);
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) out[static_cast<std::size_t>(offset + i * cols + j)] = u[i] * v[j];
}

// One round as the swarm runs it: every replica's first part summed in order, the basis, every
// second part summed, the update; then each replica finishes.
std::vector<float> round(std::vector<PowerSgdReplica*> replicas, const std::vector<std::vector<float>>& gradients) {
  const auto& layout = replicas.front()->layout();
  for (std::size_t c = 0; c < replicas.size(); ++c) replicas[c]->begin(gradients[c]);
  auto first = replicas[0]->first_part();
  for (std::size_t c = 1; c < replicas.size(); ++c) power_sgd::add_into(first, replicas[c]->first_part());
  const auto basis = power_sgd::orthonormal_basis(layout, first);
  std::vector<std::vector<float>> seconds;
  for (auto* replica : replicas) seconds.push_back(replica->second_part(basis));
  auto q_sum = seconds[0];
  for (std::size_t c = 1; c < seconds.size(); ++c) power_sgd::add_into(q_sum, seconds[c]);
  const std::vector<float> raw(first.begin() + layout.p_size(), first.end());
  for (std::size_t c = 0; c < replicas.size(); ++c) replicas[c]->finish(basis, seconds[c], q_sum);
  return power_sgd::reconstruct(layout, basis, q_sum, raw);
}

const std::vector<std::vector<std::int64_t>> kShapes{{48, 32}, {32}, {8, 4}, {64, 16}, {16}};

}  // namespace

class TestPowerSgd : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void layoutCompressesOnlyMatricesWorthIt() {
    const auto layout = GradientLayout::of(kShapes, 2);
    QCOMPARE(layout.size, std::int64_t(48 * 32 + 32 + 32 + 64 * 16 + 16));
    QCOMPARE(layout.matrices.size(), std::size_t(2));  // 8×4 would save less than half
    QCOMPARE(layout.matrices[0].offset, std::int64_t(0));
    QCOMPARE(layout.matrices[1].offset, std::int64_t(48 * 32 + 32 + 32));
    QCOMPARE(layout.raw.size(), std::size_t(2));  // {32} and {8, 4} are one span
    QCOMPARE(layout.raw[0].size, std::int64_t(64));
    QCOMPARE(layout.p_size(), std::int64_t((48 + 64) * 2));
    QCOMPARE(layout.q_size(), std::int64_t((32 + 16) * 2));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, GradientLayout::of(kShapes, 0));
    QCOMPARE(parse_averaging("powersgd"), AveragingConfig::Scheme::powersgd);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, parse_averaging("diloco"));
  }

  void recoversASumOfLowRankGradientsAndRawValuesExactly() {
    const auto layout = GradientLayout::of(kShapes, 2);
    PowerSgdReplica a(layout, 1), b(layout, 2);
    std::vector<std::vector<float>> gradients(2, std::vector<float>(static_cast<std::size_t>(layout.size)));
    for (int c = 0; c < 2; ++c) {
      gradients[c] = random_values(gradients[c].size(), 10 + c);  // raw spans: anything
      for (const auto& m : layout.matrices) put_rank_one(gradients[c], m.offset, m.rows, m.cols, 100 + 7 * c + m.offset);
    }
    const auto update = round({&a, &b}, gradients);
    // Exact but for the bfloat16 rounding of what travels (8 significant bits): within 2 % of the
    // largest value.
    float largest = 0;
    for (std::size_t x = 0; x < update.size(); ++x) largest = std::max(largest, std::abs(gradients[0][x] + gradients[1][x]));
    for (std::size_t x = 0; x < update.size(); ++x) {
      const float expected = gradients[0][x] + gradients[1][x];
      QVERIFY2(std::abs(update[x] - expected) < 0.02f * largest, qPrintable(QString::number(x)));
    }
  }

  void everyReducerGetsTheSameBitsWhateverItsOwnState() {
    const auto layout = GradientLayout::of(kShapes, 3);
    PowerSgdReplica a(layout, 1), b(layout, 99);  // different first Q: only the replica's own parts differ
    const auto ga = random_values(static_cast<std::size_t>(layout.size), 5);
    const auto gb = random_values(static_cast<std::size_t>(layout.size), 6);
    a.begin(ga);
    b.begin(gb);
    // Reducer A and reducer B each sum the parts in contributor order: the same bytes, the same bits.
    auto sum_at_a = a.first_part(), sum_at_b = a.first_part();
    power_sgd::add_into(sum_at_a, b.first_part());
    power_sgd::add_into(sum_at_b, b.first_part());
    const auto basis_a = power_sgd::orthonormal_basis(layout, sum_at_a);
    const auto basis_b = power_sgd::orthonormal_basis(layout, sum_at_b);
    QVERIFY(basis_a == basis_b);
    auto q_a = a.second_part(basis_a), q_b = a.second_part(basis_b);
    power_sgd::add_into(q_a, b.second_part(basis_a));
    power_sgd::add_into(q_b, b.second_part(basis_b));
    const std::vector<float> raw(sum_at_a.begin() + layout.p_size(), sum_at_a.end());
    const auto update_a = power_sgd::reconstruct(layout, basis_a, q_a, raw);
    const auto update_b = power_sgd::reconstruct(layout, basis_b, q_b, raw);
    QCOMPARE(std::memcmp(update_a.data(), update_b.data(), update_a.size() * sizeof(float)), 0);
  }

  void basisColumnsAreOrthonormalOrZero() {
    const auto layout = GradientLayout::of({{40, 30}}, 4);
    auto p = random_values(static_cast<std::size_t>(layout.p_size()), 3);
    for (int i = 0; i < 40; ++i) p[static_cast<std::size_t>(i * 4 + 3)] = p[static_cast<std::size_t>(i * 4 + 1)];  // dependent column
    const auto basis = power_sgd::orthonormal_basis(layout, p);
    for (int k = 0; k < 4; ++k)
      for (int l = 0; l < 4; ++l) {
        double dot = 0;
        for (int i = 0; i < 40; ++i) dot += double(basis[i * 4 + k]) * basis[i * 4 + l];
        const double expected = (k == l && k != 3) ? 1.0 : 0.0;
        QVERIFY2(std::abs(dot - expected) < 1e-2 /* bfloat16 */, qPrintable(QString("%1,%2: %3").arg(k).arg(l).arg(dot)));
      }
  }

  void errorFeedbackLosesNothing() {
    // Full-rank gradients a rank-1 update cannot carry: what was installed over the rounds plus
    // what the replicas' error buffers still hold equals everything they computed.
    const auto layout = GradientLayout::of({{24, 20}, {20}}, 1);
    PowerSgdReplica a(layout, 1), b(layout, 2);
    std::vector<double> computed(static_cast<std::size_t>(layout.size), 0.0), installed(computed);
    std::vector<std::vector<float>> last;
    for (int t = 0; t < 30; ++t) {
      last = {random_values(static_cast<std::size_t>(layout.size), 1000 + t),
              random_values(static_cast<std::size_t>(layout.size), 2000 + t)};
      for (const auto& g : last)
        for (std::size_t x = 0; x < g.size(); ++x) computed[x] += g[x];
      const auto update = round({&a, &b}, last);
      for (std::size_t x = 0; x < update.size(); ++x) installed[x] += update[x];
    }
    double worst = 0, scale = 0, left = 0;
    for (std::size_t x = 0; x < computed.size(); ++x) {
      const double held = double(a.error()[x]) + b.error()[x];
      worst = std::max(worst, std::abs(computed[x] - installed[x] - held));
      scale = std::max(scale, std::abs(computed[x]));
      left = std::max(left, std::abs(held));
    }
    QVERIFY2(worst < 1e-3 * scale, qPrintable(QString("%1 of %2").arg(worst).arg(scale)));
    QVERIFY(left > 0.01 * scale);  // a rank-1 update did leave something behind
  }

  void bfloat16RoundsToNearestEvenAndTravelsInTwoBytes() {
    QCOMPARE(power_sgd::round_bf16(1.0f), 1.0f);
    QCOMPARE(power_sgd::round_bf16(1.0f + 1.0f / 256), 1.0f);                 // a tie: to even
    QCOMPARE(power_sgd::round_bf16(1.0f + 3.0f / 256), 1.0f + 4.0f / 256);    // a tie: to even
    QCOMPARE(power_sgd::round_bf16(1.0f + 1.5f / 256), 1.0f + 2.0f / 256);
    QVERIFY(std::isnan(power_sgd::round_bf16(std::nanf(""))));
    std::vector<float> values{0.0f, -2.5f, 1e-30f, 3e38f, 0.1f};
    power_sgd::round_bf16(values);
    const auto bytes = power_sgd::to_bf16_bytes(values);
    QCOMPARE(bytes.size(), values.size() * 2);
    QVERIFY(*power_sgd::from_bf16_bytes(bytes) == values);
    QVERIFY(!power_sgd::from_bf16_bytes(std::vector<std::uint8_t>(3)));
  }

  // What peers hand a replica cannot break its own state: a round it did not contribute to keeps
  // its error, a huge Q sum does not make the next round overflow, sizes never throw at commit.
  void peersCannotSpoilAReplicasState() {
    const auto layout = GradientLayout::of(kShapes, 2);
    PowerSgdReplica a(layout, 1);
    const auto g = random_values(static_cast<std::size_t>(layout.size), 4);
    a.begin(g);
    const auto basis = power_sgd::orthonormal_basis(layout, a.first_part());
    const auto own = a.second_part(basis);
    a.finish(basis, own, own);
    const auto error = a.error();
    a.begin(g);  // served a first part, then installed without a second part of its own
    a.finish(basis, {}, std::vector<float>(static_cast<std::size_t>(layout.q_size()), 3e38f));
    QVERIFY(a.error() == error);
    a.begin(g);
    for (const float value : a.first_part()) QVERIFY(std::isfinite(value));
    a.finish({}, {}, {1.0f});  // every size wrong: nothing changes, nothing throws
    QVERIFY(a.error() == error);
    a.reset();
    for (const float value : a.error()) QCOMPARE(value, 0.0f);
  }

  void badSizesAreRefused() {
    const auto layout = GradientLayout::of(kShapes, 2);
    PowerSgdReplica a(layout, 1);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, a.begin(std::vector<float>(3)));
    QVERIFY_THROWS_EXCEPTION(std::logic_error, a.first_part());
    a.begin(std::vector<float>(static_cast<std::size_t>(layout.size), 1.0f));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, a.second_part(std::vector<float>(5)));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, power_sgd::reconstruct(layout, {}, {}, {}));
  }
};

QTEST_GUILESS_MAIN(TestPowerSgd)
#include "test_power_sgd.moc"
