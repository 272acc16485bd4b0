// A Forward's or Infer's route must name exactly the stages after this node's, and never this
// node itself: a handler's request to itself would wait on the stage mutex the handler holds, so a
// peer could hang the node with one request. Refused before any work.
#include <QtTest>

#include "core/node/swarm/forward_work.h"
#include "core/node/swarm/local_stage.h"
#include "core/node/swarm/run_context.h"

using namespace tessera;
using namespace tessera::node::swarm;

class TestForwardRoute : public QObject {
  Q_OBJECT

  wallet::KeyPair key_ = wallet::KeyPair::generate();
  node::SwarmNodeOptions options_;

  static Hop stranger() { return {wallet::KeyPair::generate().public_key(), "tcp://127.0.0.1:9"}; }

 private Q_SLOTS:
  void routeMustReachTheLastStageWithoutThisNode() {
    RunContext run(key_, options_);
    run.manifest.stages = 3;
    LocalStage local;
    local.index = 0;
    ForwardWork work(run, local);
    work.check_route({stranger(), stranger()});
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, work.check_route({stranger()}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, work.check_route({stranger(), stranger(), stranger()}));
    const Hop self{key_.public_key(), "tcp://127.0.0.1:1"};
    try {
      work.check_route({self, stranger()});
      QFAIL("a route through this node was accepted");
    } catch (const std::invalid_argument& error) {
      QCOMPARE(QString(error.what()), QString("the route names this node"));
    }
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, work.check_route({stranger(), self}));
    local.index = 2;  // the last stage: no route at all
    work.check_route({});
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, work.check_route({self}));
  }
};

QTEST_APPLESS_MAIN(TestForwardRoute)
#include "test_forward_route.moc"
