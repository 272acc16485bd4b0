// The gateway's continuous batching (core/hub/decode_batcher.h): sequences asked for while a round
// is in the swarm go together into the next round; each sequence's error stays its own; finished
// sequences are handed to the source before the next round; a stopping batcher answers everyone.
#include <QtTest>

#include <atomic>
#include <condition_variable>
#include <future>
#include <thread>
#include <mutex>
#include <set>

#include "core/hub/decode_batcher.h"

using namespace tessera;
using namespace std::chrono_literals;

namespace {

// A source whose rounds the test holds: records each round's sessions, fails token 13's sequence.
class RecordingSource : public hub::NextTokenSource {
 public:
  std::vector<float> next_token_logits(const std::vector<std::int32_t>&, std::chrono::milliseconds) override {
    throw std::logic_error("the batcher asks for rounds");
  }
  std::vector<hub::NextLogits> next_logits(const std::vector<hub::SequenceWindow>& round,
                                           std::chrono::milliseconds) override {
    std::unique_lock lock(mutex_);
    std::vector<std::uint64_t> sessions;
    for (const auto& window : round) sessions.push_back(window.session);
    rounds_.push_back(sessions);
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    std::vector<hub::NextLogits> out;
    for (const auto& window : round) {
      if (window.tokens.back() == 13) out.push_back({{}, "stage 1 did not answer"});
      else out.push_back({std::vector<float>(4, static_cast<float>(window.session)), {}});
    }
    return out;
  }
  void end_sequence(std::uint64_t session) override {
    std::lock_guard lock(mutex_);
    ended_.insert(session);
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  bool wait_rounds(std::size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return rounds_.size() >= count; });
  }
  std::vector<std::vector<std::uint64_t>> rounds() {
    std::lock_guard lock(mutex_);
    return rounds_;
  }
  std::set<std::uint64_t> ended() {
    std::lock_guard lock(mutex_);
    return ended_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
  std::vector<std::vector<std::uint64_t>> rounds_;
  std::set<std::uint64_t> ended_;
};

}  // namespace

class TestDecodeBatcher : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void sequencesAskedDuringARoundGoTogetherIntoTheNext() {
    RecordingSource source;
    hub::DecodeBatcher batcher(source, 32, 1s);
    auto first = std::async(std::launch::async, [&] { return batcher.next(1, {5}); });
    QVERIFY(source.wait_rounds(1));  // round 1 holds sequence 1 in the swarm
    std::vector<std::future<hub::NextLogits>> more;
    for (std::uint64_t session = 2; session <= 6; ++session)
      more.push_back(std::async(std::launch::async, [&, session] { return batcher.next(session, {5, 6}); }));
    std::this_thread::sleep_for(200ms);  // all five are queued behind round 1
    source.open();
    QCOMPARE(first.get().logits, std::vector<float>(4, 1.0f));
    for (std::size_t i = 0; i < more.size(); ++i) QCOMPARE(more[i].get().logits, std::vector<float>(4, 2.0f + i));
    const auto rounds = source.rounds();
    QCOMPARE(rounds.size(), std::size_t{2});
    QCOMPARE(rounds[1].size(), std::size_t{5});
    QCOMPARE(batcher.stats().rounds, std::uint64_t{2});
    QCOMPARE(batcher.stats().sequences, std::uint64_t{6});
  }

  void aRoundIsNoLargerThanItsLimit() {
    RecordingSource source;
    hub::DecodeBatcher batcher(source, 3, 1s);
    auto first = std::async(std::launch::async, [&] { return batcher.next(100, {1}); });
    QVERIFY(source.wait_rounds(1));
    std::vector<std::future<hub::NextLogits>> more;
    for (std::uint64_t session = 1; session <= 7; ++session)
      more.push_back(std::async(std::launch::async, [&, session] { return batcher.next(session, {1}); }));
    std::this_thread::sleep_for(200ms);
    source.open();
    for (auto& answer : more) QVERIFY(answer.get().error.empty());
    for (const auto& round : source.rounds()) QVERIFY(round.size() <= 3);
    QCOMPARE(source.rounds().size(), std::size_t{4});  // 1, then 7 in rounds of 3, 3, 1
  }

  void oneSequencesErrorIsItsOwn() {
    RecordingSource source;
    source.open();
    hub::DecodeBatcher batcher(source, 32, 1s);
    auto failing = std::async(std::launch::async, [&] { return batcher.next(1, {13}); });
    auto fine = std::async(std::launch::async, [&] { return batcher.next(2, {14}); });
    QCOMPARE(failing.get().error, std::string("stage 1 did not answer"));
    const auto answer = fine.get();
    QVERIFY(answer.error.empty());
    QCOMPARE(answer.logits.size(), std::size_t{4});
  }

  // The round thread tells the source, soon and without a round of its own.
  void finishedSequencesReachTheSourceWithoutARound() {
    RecordingSource source;
    source.open();
    hub::DecodeBatcher batcher(source, 32, 1s);
    QVERIFY(batcher.next(7, {1}).error.empty());
    batcher.end(7);
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    while (source.ended().empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    QCOMPARE(source.ended(), std::set<std::uint64_t>{7});
    QCOMPARE(source.rounds().size(), std::size_t{1});
    QVERIFY(batcher.next(8, {1}).error.empty());
    QCOMPARE(source.rounds().size(), std::size_t{2});
  }

  void aSourceThatThrowsFailsItsRoundOnly() {
    class Throwing : public hub::NextTokenSource {
     public:
      std::vector<float> next_token_logits(const std::vector<std::int32_t>& tokens, std::chrono::milliseconds) override {
        if (tokens.front() == 0) throw std::runtime_error("stage 0 has no live replica");
        return {1.0f};
      }
    } source;  // the default next_logits asks next_token_logits per sequence
    hub::DecodeBatcher batcher(source, 32, 1s);
    QCOMPARE(batcher.next(1, {0}).error, std::string("stage 0 has no live replica"));
    QCOMPARE(batcher.next(2, {1}).logits, std::vector<float>{1.0f});
  }

  void destroyingTheBatcherAnswersWhoeverWaits() {
    RecordingSource source;  // never opened until the end: the round stays in the swarm
    std::future<hub::NextLogits> queued;
    {
      auto batcher = std::make_unique<hub::DecodeBatcher>(source, 32, 1s);
      auto held = std::async(std::launch::async, [&] { return batcher->next(1, {1}); });
      QVERIFY(source.wait_rounds(1));
      queued = std::async(std::launch::async, [&] { return batcher->next(2, {1}); });
      std::this_thread::sleep_for(100ms);
      std::thread opener([&] {
        std::this_thread::sleep_for(200ms);
        source.open();
      });
      batcher.reset();  // waits for the round in flight, answers the queued one with an error
      opener.join();
      QVERIFY(held.get().error.empty());
    }
    QCOMPARE(queued.get().error, std::string("the gateway is stopping"));
  }
};

QTEST_GUILESS_MAIN(TestDecodeBatcher)
#include "test_decode_batcher.moc"
