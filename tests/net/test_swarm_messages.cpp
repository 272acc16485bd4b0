// The swarm's typed messages: each kind survives encode → pack → unpack → decode, and a malformed
// or hostile field is refused with a message (or, for answers that are only read, taken as absent)
// instead of crashing the reader.
#include <QtTest>

#include <cmath>

#include "core/net/swarm_messages.h"
#include "core/wallet/encoding.h"

using namespace tessera;
using namespace tessera::net;
using json = nlohmann::json;

namespace {

Envelope through_the_wire(const Envelope& envelope) {
  auto back = unpack(pack(envelope.meta, envelope.blob));
  if (!back) throw std::runtime_error("the envelope did not unpack");
  return std::move(*back);
}

ForwardRequest sample_forward() {
  ForwardRequest request;
  request.attempt = 77;
  request.from = wallet::KeyPair::generate().public_key();
  request.queue = 2;
  request.ticket = "abcd";
  request.input.batch = 2;
  request.input.sequence = 3;
  request.input.route = {{wallet::KeyPair::generate().public_key(), "tcp://127.0.0.1:7001"}};
  request.input.activations = {1, 2, 3, 4, 5, 6, 7, 8};
  request.input.tokens = {10, 11, 12, 13, -1, 70000, 16, 17};  // batch × (sequence + 1)
  return request;
}

}  // namespace

class TestSwarmMessages : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void forwardRoundTrips() {
    const auto sent = sample_forward();
    const auto got = ForwardRequest::decode(through_the_wire(sent.encode()));
    QCOMPARE(got.attempt, sent.attempt);
    QVERIFY(got.from == sent.from);
    QCOMPARE(got.queue, sent.queue);
    QCOMPARE(got.ticket, sent.ticket);
    QCOMPARE(got.input.batch, 2);
    QCOMPARE(got.input.sequence, 3);
    QCOMPARE(got.input.route.size(), std::size_t(1));
    QVERIFY(got.input.route[0].key == sent.input.route[0].key);
    QCOMPARE(got.input.route[0].endpoint, sent.input.route[0].endpoint);
    QVERIFY(got.input.activations == sent.input.activations);
    QVERIFY(got.input.tokens == sent.input.tokens);
    // The moving encode writes the same bytes as the copying one.
    auto moved = sample_forward();
    moved.from = sent.from;
    moved.input.route = sent.input.route;
    QVERIFY(pack(sent.encode().meta, sent.encode().blob) ==
            pack(ForwardRequest(moved).encode().meta, std::move(moved).encode().blob));
  }

  // What authorising a Forward needs, without copying its payload.
  void forwardHeadLeavesThePayloadOut() {
    const auto sent = sample_forward();
    const auto head = ForwardRequest::decode_head(through_the_wire(sent.encode()));
    QCOMPARE(head.attempt, sent.attempt);
    QVERIFY(head.from == sent.from);
    QCOMPARE(head.queue, 2);
    QCOMPARE(head.ticket, std::string("abcd"));
    QCOMPARE(head.input.batch, 2);
    QCOMPARE(head.input.route.size(), std::size_t(1));
    QVERIFY(head.input.route[0].key == sent.input.route[0].key);
    QVERIFY(head.input.activations.empty());
    QVERIFY(head.input.tokens.empty());
  }

  void forwardRefusesMalformedFields_data() {
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("value");
    QTest::addColumn<QString>("message");
    QTest::newRow("attempt missing") << "attempt" << "" << "missing attempt";
    QTest::newRow("attempt negative") << "attempt" << "-3" << "missing attempt";
    QTest::newRow("sender not hex") << "from" << "\"zz\"" << "forward without a sender key";
    QTest::newRow("queue negative") << "queue" << "-1" << "queue out of range";
    QTest::newRow("batch too large") << "batch" << "1000" << "forward payload is smaller than its token ids";
    QTest::newRow("route not a list") << "route" << "{}" << "malformed route";
    QTest::newRow("route entry short") << "route" << "[[\"00\"]]" << "malformed route entry";
    QTest::newRow("ticket not text") << "ticket" << "[1]" << "malformed ticket";
  }

  void forwardRefusesMalformedFields() {
    QFETCH(QString, field);
    QFETCH(QString, value);
    QFETCH(QString, message);
    auto envelope = sample_forward().encode();
    if (value.isEmpty()) envelope.meta.erase(field.toStdString());
    else envelope.meta[field.toStdString()] = json::parse(value.toStdString());
    try {
      ForwardRequest::decode(through_the_wire(envelope));
      QFAIL("a malformed Forward was accepted");
    } catch (const std::invalid_argument& error) {
      QCOMPARE(QString(error.what()), message);
    }
  }

  void queueOfTheWrongTypeIsRefused() {
    auto envelope = sample_forward().encode();
    envelope.meta["queue"] = "soon";
    QVERIFY_THROWS_EXCEPTION(std::exception, ForwardRequest::decode(envelope));
  }

  void backwardReplyRoundTripsAndReadsANanLoss() {
    BackwardReply sent;
    sent.attempt = 5;
    sent.loss = 2.5;
    sent.forward_bytes = 1024;
    sent.receipt = "abcd";
    sent.receipts = {"01", "02"};
    sent.gradient = {9, 8, 7, 6};
    const auto got = BackwardReply::decode(through_the_wire(sent.encode()));
    QCOMPARE(got.loss, 2.5);
    QCOMPARE(got.forward_bytes, 1024.0);
    QCOMPARE(*got.receipt, std::string("abcd"));
    QVERIFY(got.receipts == sent.receipts);
    QVERIFY(got.gradient == sent.gradient);
    auto diverged = sent.encode();
    diverged.meta["loss"] = nullptr;  // how JSON carries a NaN
    QVERIFY(std::isnan(BackwardReply::decode(diverged).loss));
    auto hostile = sent.encode();
    hostile.meta["receipts"] = json::array({1, 2});
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, BackwardReply::decode(hostile));
  }

  void reduceAndStepRoundTrip() {
    ReduceRequest reduce{9, {{wallet::KeyPair::generate().public_key(), "tcp://a:1"}}, true, {"aa"}};
    const auto reduce_back = ReduceRequest::decode(through_the_wire(reduce.encode()));
    QCOMPARE(reduce_back.attempt, std::uint64_t(9));
    QVERIFY(reduce_back.send_shared);
    QCOMPARE(reduce_back.contributors.size(), std::size_t(1));
    QVERIFY(reduce_back.receipts == reduce.receipts);
    QCOMPARE(reduce_back.installers, std::uint32_t(1));
    reduce.installers = 3;
    QCOMPARE(ReduceRequest::decode(through_the_wire(reduce.encode())).installers, std::uint32_t(3));
    ReduceRequest empty{9, {}, false, {}};
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, ReduceRequest::decode(empty.encode()));

    StepRequest step{4, 1.5, 3.25, std::nullopt, 256};
    const auto step_back = StepRequest::decode(through_the_wire(step.encode()));
    QCOMPARE(step_back.norm, 1.5);
    QCOMPARE(*step_back.loss, 3.25);
    QVERIFY(!step_back.bytes_per_token);
    QCOMPARE(step_back.step_tokens, 256.0);
  }

  void answersThatAreOnlyReadNeverThrow() {
    Envelope pong{{{"step", "x"}, {"paused", 3}}, {}};
    const auto read = PongReply::decode(pong);
    QCOMPARE(read.step, std::uint64_t(0));
    QVERIFY(!read.paused);
    Envelope error{{{"message", 42}, {"failed_peer", "not hex"}}, {}};
    const auto failure = ErrorReply::decode(error);
    QCOMPARE(failure.message, std::string("error"));
    QVERIFY(!failure.failed_peer);
  }

  void stateChunkAndInferRoundTrip() {
    StateChunk chunk{3, 4, 10, {1, 2, 3}};
    const auto chunk_back = StateChunk::decode(through_the_wire(chunk.encode()));
    QCOMPARE(chunk_back.total, std::uint64_t(10));
    QVERIFY(chunk_back.bytes == chunk.bytes);
    InferRequest infer;
    infer.input.batch = 1;
    infer.input.sequence = 2;
    infer.input.tokens = {65, 66, 0};
    infer.ticket = "00ff";
    const auto infer_back = InferRequest::decode(through_the_wire(infer.encode()));
    QVERIFY(infer_back.input.tokens == infer.input.tokens);
    QVERIFY(infer_back.input.activations.empty());
    QCOMPARE(infer_back.ticket, std::string("00ff"));
  }

  // A batched Infer: the sequences' new positions one after the other in one row, their
  // activations in the same order; sequences that do not add up to the input are refused.
  void batchedInferAndLogitsRoundTrip() {
    InferRequest infer;
    infer.ticket = "00ff";
    infer.input.batch = 1;
    infer.input.sequence = 4;
    infer.input.tokens = {65, 66, 67, 68, 0};
    infer.input.activations = {1, 2, 3, 4, 5, 6};
    infer.sequences = {{0xFFFFFFFFFFFFFFFFULL, 0, 3, 4}, {7, 12, 1, 2}};
    const auto back = InferRequest::decode(through_the_wire(infer.encode()));
    QVERIFY(back.sequences == infer.sequences);
    QVERIFY(back.input.activations == infer.input.activations);
    const auto refused = [&](auto change) {
      auto copy = infer;
      change(copy);
      try {
        (void)InferRequest::decode(through_the_wire(copy.encode()));
      } catch (const std::invalid_argument&) {
        return true;
      }
      return false;
    };
    QVERIFY(refused([](InferRequest& r) { r.sequences[1].length = 2; }));            // 5 positions for 4
    QVERIFY(refused([](InferRequest& r) { r.sequences[1].activation_bytes = 3; }));  // 7 bytes for 6
    QVERIFY(refused([](InferRequest& r) {  // sizes that add up to 6 only by wrapping around 2^64
      r.sequences[0].activation_bytes = 0xFFFFFFFFFFFFFFF0ULL;
      r.sequences[1].activation_bytes = 22;
    }));
    QVERIFY(refused([](InferRequest& r) { r.input.sequence = 0x7FFFFFFF; }));
    // The ticket binds each sequence's session, start and length, not the activation sizes.
    auto moved = infer;
    std::swap(moved.sequences[0].session, moved.sequences[1].session);
    QVERIFY(moved.layout_bytes() != infer.layout_bytes());
    auto resized = infer;
    resized.sequences[0].activation_bytes = 5;
    QVERIFY(resized.layout_bytes() == infer.layout_bytes());
    QVERIFY(InferRequest{}.layout_bytes().empty());
    QVERIFY(refused([](InferRequest& r) {
      r.sequences = {{1, 0, 4, 6}, {2, 0, 0, 0}};  // a sequence without tokens
    }));
    QVERIFY(refused([](InferRequest& r) {
      r.input.batch = 2;  // sequences come as one row
      r.input.tokens.resize(10);
      r.input.sequence = 4;
    }));
    Envelope hostile = infer.encode();
    hostile.meta["sequences"] = json::array({json::array({-1, 0, 4, 6})});
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, InferRequest::decode(hostile));
    hostile.meta["sequences"] = json::array({json::array({1, 0, 4.5, 6})});
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, InferRequest::decode(hostile));
    hostile.meta["sequences"] = json::array();
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, InferRequest::decode(hostile));

    LogitsReply logits{{1, 3}, {0, 0, 128, 63}};
    const auto logits_back = LogitsReply::decode(through_the_wire(logits.encode()));
    QVERIFY(logits_back.missing == logits.missing);
    QVERIFY(logits_back.logits == logits.logits);
    QVERIFY(LogitsReply::decode(Envelope{json::object(), {1, 2}}).missing.empty());
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, LogitsReply::decode(Envelope{{{"missing", json::array({-2})}}, {}}));
  }

  // StateRequest and GradFetch carry the requester's stage assignment under one key, which the
  // replica reads before either request's handler runs.
  void replicaRequestsCarryTheirAssignment() {
    const StateRequest state{0, 4, "aa11"};
    const auto state_back = StateRequest::decode(through_the_wire(state.encode()));
    QCOMPARE(state_back.offset, std::uint64_t(4));
    QCOMPARE(state_back.assignment, std::string("aa11"));
    QCOMPARE(ReplicaCredentials::decode(state.encode()).assignment, std::string("aa11"));
    const GradFetchRequest fetch{12, "bb22"};
    const auto fetch_back = GradFetchRequest::decode(through_the_wire(fetch.encode()));
    QCOMPARE(fetch_back.attempt, std::uint64_t(12));
    QCOMPARE(fetch_back.assignment, std::string("bb22"));
    QCOMPARE(ReplicaCredentials::decode(fetch.encode()).assignment, std::string("bb22"));
    QVERIFY(ReplicaCredentials::decode(AttemptRequest{3}.encode()).assignment.empty());
    Envelope hostile{{{"attempt", 1}, {"assignment", json::object()}}, {}};
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, ReplicaCredentials::decode(hostile));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, GradFetchRequest::decode(Envelope{{{"assignment", "aa"}}, {}}));
  }

  // PowerSGD parts (core/model/power_sgd.h): the basis and low-rank values travel as bfloat16,
  // the sums of a low-rank install as float32; unknown parts and odd byte counts are refused.
  void powerSgdPartsRoundTrip() {
    const std::vector<float> basis{0.5f, -0.25f, 1.0f, 0.0f};
    const GradFetchRequest second{12, "bb22", GradPart::second, basis};
    const auto encoded = second.encode();
    QCOMPARE(encoded.blob.size(), basis.size() * 2);
    const auto back = GradFetchRequest::decode(through_the_wire(encoded));
    QCOMPARE(back.part, GradPart::second);
    QVERIFY(back.basis == basis);
    QCOMPARE(GradFetchRequest::decode(GradFetchRequest{12, "", GradPart::first, {}}.encode()).part, GradPart::first);
    auto unknown = encoded;
    unknown.meta["part"] = 7;
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, GradFetchRequest::decode(unknown));
    auto odd = encoded;
    odd.blob.push_back(1);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, GradFetchRequest::decode(odd));

    const SharedGradientRequest install{5, {0.5f, 0.25f, 1.0f / 3, 2.0f / 3}, SharedPart::low_rank, 2};
    const auto install_encoded = install.encode();
    QCOMPARE(install_encoded.blob.size(), std::size_t(2 * 2 + 2 * 4));
    const auto install_back = SharedGradientRequest::decode(through_the_wire(install_encoded));
    QCOMPARE(install_back.part, SharedPart::low_rank);
    QVERIFY(install_back.gradient == install.gradient);  // the float32 tail exactly
    auto too_long = install_encoded;
    too_long.meta["basis"] = 100;
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, SharedGradientRequest::decode(too_long));
    const SharedGradientRequest sum{5, {1.0f / 3}};
    QVERIFY(SharedGradientRequest::decode(sum.encode()).gradient == sum.gradient);
  }
};

QTEST_APPLESS_MAIN(TestSwarmMessages)
#include "test_swarm_messages.moc"
