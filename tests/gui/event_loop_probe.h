// Measures how long the GUI thread goes without serving its event loop: a 5 ms timer records, at
// each tick, the wall-clock lateness (what a user feels, but on a loaded machine also the
// scheduler's doing) and the GUI thread's own CPU time since the last tick (the work that blocked
// the loop, whatever the machine's load). Tests hold the second to 50 ms and print both.
#pragma once

#include <QElapsedTimer>
#include <QTimer>

#include <algorithm>
#include <ctime>

namespace tessera::test {

class EventLoopProbe {
 public:
  EventLoopProbe() {
    timer_.setInterval(5);
    QObject::connect(&timer_, &QTimer::timeout, [this] {
      const qint64 t = clock_.elapsed();
      const double cpu = threadCpuMs();
      if (last_ >= 0) worst_wall_ms_ = std::max(worst_wall_ms_, t - last_ - 5);
      if (last_cpu_ >= 0) worst_busy_ms_ = std::max(worst_busy_ms_, cpu - last_cpu_);
      last_ = t;
      last_cpu_ = cpu;
      ++ticks_;
    });
  }

  void start() {
    clock_.start();
    timer_.start();
  }
  void stop() { timer_.stop(); }

  double worstBusyMs() const { return worst_busy_ms_; }
  qint64 worstLateMs() const { return worst_wall_ms_; }
  int ticks() const { return ticks_; }

 private:
  static double threadCpuMs() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
  }

  QTimer timer_;
  QElapsedTimer clock_;
  qint64 last_ = -1, worst_wall_ms_ = 0;
  double last_cpu_ = -1, worst_busy_ms_ = 0;
  int ticks_ = 0;
};

}  // namespace tessera::test
