// The event bus: ordered fan-out, bounded queues that drop the oldest, close wakes waiters.
#include <QtTest>

#include <thread>

#include "core/control/event_bus.h"

using namespace tessera::control;
using namespace std::chrono_literals;

class TestEventBus : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void fansOutInOrder() {
    EventBus bus;
    auto a = bus.subscribe();
    auto b = bus.subscribe();
    bus.publish("joined", {{"stage", 1}});
    bus.publish("paused", nlohmann::json::object());
    for (auto* subscription : {a.get(), b.get()}) {
      const auto first = subscription->next(100ms);
      const auto second = subscription->next(100ms);
      QVERIFY(first && second);
      QCOMPARE(QString::fromStdString(first->type), QStringLiteral("joined"));
      QCOMPARE(first->data["stage"].get<int>(), 1);
      QCOMPARE(second->id, first->id + 1);
      QVERIFY(!subscription->next(10ms));
    }
  }

  void slowSubscriberLosesOldestOnly() {
    EventBus bus(3);
    auto slow = bus.subscribe();
    for (int i = 0; i < 10; ++i) bus.publish("tick", i);
    QCOMPARE(slow->next(10ms)->data.get<int>(), 7);
    QCOMPARE(slow->next(10ms)->data.get<int>(), 8);
    QCOMPARE(slow->next(10ms)->data.get<int>(), 9);
    QVERIFY(!slow->next(10ms));
  }

  void closeWakesWaitersAndDropsLaterEvents() {
    EventBus bus;
    auto subscription = bus.subscribe();
    std::thread closer([&] {
      std::this_thread::sleep_for(50ms);
      bus.close();
    });
    const auto start = std::chrono::steady_clock::now();
    QVERIFY(!subscription->next(10s));
    QVERIFY(std::chrono::steady_clock::now() - start < 5s);
    closer.join();
    QCOMPARE(bus.publish("late", nullptr), std::uint64_t(0));
  }

  void droppedSubscriptionsAreForgotten() {
    EventBus bus;
    { auto gone = bus.subscribe(); }
    auto kept = bus.subscribe();
    bus.publish("x", 1);
    QVERIFY(kept->next(10ms).has_value());
  }
};

QTEST_APPLESS_MAIN(TestEventBus)
#include "test_event_bus.moc"
