// Settlement arithmetic: exact splits, rounding remainders, carry-over, many owners, and runs whose
// totals reach 2^64 - 1 (withheld and reported, never thrown, later epochs still settle); data
// units are units that earn revenue shares, counted apart, and share the cap with compute.
#include <QtTest>

#include <limits>
#include <numeric>
#include <random>

#include "core/protocol/settlement.h"

using namespace tessera::protocol;

class TestSettlement : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void splitIsExactWithLargestRemainder() {
    // 100 split 1:1:1 → 33.33 each; one remainder unit to the lowest index among equal remainders.
    QCOMPARE(split_proportional(100, {1, 1, 1}), (std::vector<std::uint64_t>{34, 33, 33}));
    // 10 split 1:2:3 → 1.67, 3.33, 5: the largest fraction (0.67) gets the unit.
    QCOMPARE(split_proportional(10, {1, 2, 3}), (std::vector<std::uint64_t>{2, 3, 5}));
    QCOMPARE(split_proportional(0, {5, 7}), (std::vector<std::uint64_t>{0, 0}));
    QCOMPARE(split_proportional(7, {0, 0}), (std::vector<std::uint64_t>{0, 0}));
    QCOMPARE(split_proportional(7, {0, 3}), (std::vector<std::uint64_t>{0, 7}));
    QCOMPARE(split_proportional(7, {}), std::vector<std::uint64_t>{});
  }

  void splitHandlesHugeNumbers() {
    const std::uint64_t big = std::numeric_limits<std::uint64_t>::max() / 2;
    const auto parts = split_proportional(big, {big, big / 3, 1});
    QCOMPARE(std::accumulate(parts.begin(), parts.end(), std::uint64_t(0)), big);
    // Weights whose sum passes 2^64 are summed in 128 bits: 3 split 1:1 over two huge weights.
    QCOMPARE(split_proportional(3, {big + 10, big + 10}), (std::vector<std::uint64_t>{2, 1}));
    const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    const auto full = split_proportional(max, {max, max, max});
    QCOMPARE(full, (std::vector<std::uint64_t>{max / 3, max / 3, max / 3}));  // 2^64 - 1 is divisible by 3
  }

  void randomSplitsAlwaysSumExactly() {
    std::mt19937_64 random(7);
    for (int round = 0; round < 2000; ++round) {
      std::vector<std::uint64_t> weights(1 + random() % 50);
      for (auto& weight : weights) weight = random() % 4 == 0 ? 0 : random() % 1'000'000'007;
      const std::uint64_t amount = random() % 10'000'000'000ull;
      const auto parts = split_proportional(amount, weights);
      const bool any = std::any_of(weights.begin(), weights.end(), [](auto w) { return w != 0; });
      QCOMPARE(std::accumulate(parts.begin(), parts.end(), std::uint64_t(0)), any ? amount : 0);
      for (std::size_t i = 0; i < weights.size(); ++i) {
        if (weights[i] == 0) QCOMPARE(parts[i], std::uint64_t(0));
      }
    }
  }

  void firstEpochRevenueIsCarriedNotLost() {
    SettlementState empty;
    const auto first = settle_epoch(empty, {{"alice", 300}, {"bob", 100}}, 1000);
    QCOMPARE(first.state.epoch, std::uint64_t(1));
    QCOMPARE(first.distributed, std::uint64_t(0));
    QCOMPARE(first.state.carried_revenue, std::uint64_t(1000));
    QCOMPARE(first.state.owners.at("alice").units, std::uint64_t(300));
    // Epoch 2: revenue 2000 plus the carried 1000, split 3:1 by the shares at the end of epoch 1.
    const auto second = settle_epoch(first.state, {{"carol", 400}}, 2000);
    QCOMPARE(second.state.carried_revenue, std::uint64_t(0));
    QCOMPARE(second.revenue_parts.at("alice"), std::uint64_t(2250));
    QCOMPARE(second.revenue_parts.at("bob"), std::uint64_t(750));
    QVERIFY(!second.revenue_parts.count("carol"));  // carol's units count from the next epoch
    QCOMPARE(second.state.owners.at("carol").units, std::uint64_t(400));
    QCOMPARE(second.state.total_revenue(), std::uint64_t(3000));
    QCOMPARE(second.state.total_units(), std::uint64_t(800));
    QCOMPARE(share_ppb(second.state, "carol"), std::uint64_t(500'000'000));
  }

  void zeroRevenueAndOneOwner() {
    SettlementState state;
    state.epoch = 4;
    state.owners["solo"] = {10, 5};
    const auto quiet = settle_epoch(state, {}, 0);
    QCOMPARE(quiet.state.epoch, std::uint64_t(5));
    QCOMPARE(quiet.state.owners.at("solo"), (OwnerBalance{10, 5}));
    const auto paid = settle_epoch(quiet.state, {{"solo", 1}}, 999);
    QCOMPARE(paid.state.owners.at("solo"), (OwnerBalance{11, 1004}));
    QCOMPARE(share_ppb(paid.state, "solo"), std::uint64_t(1'000'000'000));
    QCOMPARE(share_ppb(paid.state, "nobody"), std::uint64_t(0));
  }

  void manyOwnersConserveRevenue() {
    SettlementState state;
    std::mt19937_64 random(11);
    std::uint64_t earned = 0;
    for (int epoch = 0; epoch < 20; ++epoch) {
      std::map<std::string, std::uint64_t> units;
      for (int i = 0; i < 300; ++i) units["owner" + std::to_string(random() % 1000)] += random() % 100000;
      const std::uint64_t revenue = random() % 1'000'000;
      earned += revenue;
      state = settle_epoch(state, units, revenue).state;
      QCOMPARE(state.total_revenue() + state.carried_revenue, earned);
    }
  }

  void unitsPastTwoToThe64AreWithheldNotThrown() {
    const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    SettlementState state;
    state.epoch = 7;
    state.owners["alice"] = {max - 1000, 0};
    // 3,000 units earned 2:1 with room for 1,000: credited 667 and 333 (largest remainder), 2,000 withheld.
    const auto full = settle_epoch(state, {{"alice", 2000}, {"bob", 1000}}, 0);
    QCOMPARE(full.state.epoch, std::uint64_t(8));
    QCOMPARE(full.state.total_units(), max);
    QCOMPARE(full.state.owners.at("alice").units, max - 1000 + 667);
    QCOMPARE(full.state.owners.at("bob").units, std::uint64_t(333));
    QCOMPARE(full.units_withheld, std::uint64_t(2000));
    QVERIFY(full.overflowed());
    // The run is full: later epochs settle, credit nothing more, and still pay revenue by shares.
    const auto later = settle_epoch(full.state, {{"carol", 5}}, 1000);
    QCOMPARE(later.state.epoch, std::uint64_t(9));
    QCOMPARE(later.units_withheld, std::uint64_t(5));
    QVERIFY(!later.state.owners.count("carol"));
    QCOMPARE(later.distributed, std::uint64_t(1000));
    QCOMPARE(later.revenue_withheld, std::uint64_t(0));
    // An epoch whose own units pass 2^64 (summed in 128 bits) into an empty run fills it exactly.
    const auto huge = settle_epoch({}, {{"a", max}, {"b", max}, {"c", 3}}, 0);
    QCOMPARE(huge.state.total_units(), max);
    QCOMPARE(huge.units_withheld, max);  // max + 3 withheld, reported saturated
    QVERIFY(huge.state.owners.at("a").units >= max / 2 - 1);
    QVERIFY(huge.state.owners.at("c").units <= 3);
    // Nothing overflows below the cap.
    QVERIFY(!settle_epoch(state, {{"alice", 1000}}, 0).overflowed());
    QCOMPARE(settle_epoch(state, {{"alice", 1000}}, 0).state.total_units(), max);
  }

  void revenuePastTwoToThe64IsWithheldNotThrown() {
    const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    SettlementState state;
    state.owners["alice"] = {10, max - 50};
    state.owners["bob"] = {10, 0};
    // Room for 50 more micro-units of cumulative revenue: 50 paid 1:1, 950 withheld.
    const auto paid = settle_epoch(state, {}, 1000);
    QCOMPARE(paid.distributed, std::uint64_t(50));
    QCOMPARE(paid.revenue_withheld, std::uint64_t(950));
    QCOMPARE(paid.state.total_revenue(), max);
    QCOMPARE(paid.state.owners.at("bob").revenue, std::uint64_t(25));
    // Revenue carried before anyone owns units saturates instead of wrapping.
    SettlementState empty;
    empty.carried_revenue = max - 5;
    const auto carried = settle_epoch(empty, {}, 10);
    QCOMPARE(carried.state.carried_revenue, max);
    QCOMPARE(carried.revenue_withheld, std::uint64_t(5));
    QCOMPARE(saturating_add(max - 1, 5), max);
    QCOMPARE(saturating_add(2, 5), std::uint64_t(7));
  }

  void dataUnitsAreUnitsCountedApart() {
    // Epoch 1: alice computes 300, carol's shard earns her 100 data units, alice also 50 for hers.
    const auto first = settle_epoch({}, {{"alice", 300}}, 0, {{"carol", 100}, {"alice", 50}});
    QCOMPARE(first.state.owners.at("alice"), (OwnerBalance{350, 0, 50}));
    QCOMPARE(first.state.owners.at("carol"), (OwnerBalance{100, 0, 100}));
    QCOMPARE(first.state.total_units(), std::uint64_t(450));
    QCOMPARE(first.state.total_data_units(), std::uint64_t(150));
    // Epoch 2: 900 of revenue split by the units at the end of epoch 1, data included (350:100).
    const auto second = settle_epoch(first.state, {{"carol", 10}}, 900, {{"carol", 5}});
    QCOMPARE(second.revenue_parts.at("alice"), std::uint64_t(700));
    QCOMPARE(second.revenue_parts.at("carol"), std::uint64_t(200));
    QCOMPARE(second.state.owners.at("carol"), (OwnerBalance{115, 200, 105}));
    // The statement's leaves carry both.
    const auto leaves = statement_leaves(second.state);
    QCOMPARE(leaves.size(), std::size_t(2));
    QCOMPARE(leaves[1].owner, std::string("carol"));
    QCOMPARE(leaves[1].units, std::uint64_t(115));
    QCOMPARE(leaves[1].data_units, std::uint64_t(105));
    // No data: nothing changes from before data existed.
    QCOMPARE(settle_epoch(first.state, {{"alice", 1}}, 0).state.total_data_units(), std::uint64_t(150));
  }

  void dataUnitsShareTheCapWithCompute() {
    const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    SettlementState state;
    state.owners["alice"] = {max - 1000, 0};
    // 2,000 compute (alice) and 1,000 data (dave) with room for 1,000: 667 and 333 credited.
    const auto full = settle_epoch(state, {{"alice", 2000}}, 0, {{"dave", 1000}});
    QCOMPARE(full.state.total_units(), max);
    QCOMPARE(full.units_withheld, std::uint64_t(2000));
    QCOMPARE(full.state.owners.at("dave"), (OwnerBalance{333, 0, 333}));
    QCOMPARE(full.state.owners.at("alice").data_units, std::uint64_t(0));
    QVERIFY(full.overflowed());
    // An owner with both kinds gets each part counted where it belongs.
    const auto both = settle_epoch(state, {{"bob", 1000}}, 0, {{"bob", 1000}});
    QCOMPARE(both.state.owners.at("bob"), (OwnerBalance{1000, 0, 500}));
    QCOMPARE(both.units_withheld, std::uint64_t(1000));
  }
};

QTEST_APPLESS_MAIN(TestSettlement)
#include "test_settlement.moc"
