// The self-pipe signal handler (see quit_on_signals.h).
#include "ui/quit_on_signals.h"

#include <QCoreApplication>
#include <QSocketNotifier>

#include <stdexcept>

#ifdef Q_OS_UNIX
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#endif

namespace tessera::ui {

#ifdef Q_OS_UNIX

namespace {

int g_pipe[2] = {-1, -1};  // [0] read by the notifier, [1] written by the handler
constexpr std::array kSignals{SIGTERM, SIGINT, SIGHUP};
std::array<struct sigaction, kSignals.size()> g_previous{};  // restored by the destructor

void on_signal(int signal_number) {
  const int saved = errno;  // a handler must leave errno as it found it
  const unsigned char byte = static_cast<unsigned char>(signal_number);
  [[maybe_unused]] const auto written = ::write(g_pipe[1], &byte, 1);
  errno = saved;
}

}  // namespace

QuitOnSignals::QuitOnSignals(QObject* parent) : QObject(parent) {
  if (g_pipe[0] >= 0) throw std::logic_error("QuitOnSignals is already installed");
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, g_pipe) != 0)
    throw std::runtime_error("cannot create the socket pair for signal handling");
  notifier_ = new QSocketNotifier(g_pipe[0], QSocketNotifier::Read, this);
  connect(notifier_, &QSocketNotifier::activated, this, &QuitOnSignals::onReadable);
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (std::size_t i = 0; i < kSignals.size(); ++i) {
    sigaction(kSignals[i], nullptr, &g_previous[i]);
    // A signal ignored when the app started (`nohup tessera`, a job started in the background by
    // a script) stays ignored, as the one who started it asked.
    if (g_previous[i].sa_handler != SIG_IGN) sigaction(kSignals[i], &action, nullptr);
  }
}

QuitOnSignals::~QuitOnSignals() {
  for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &g_previous[i], nullptr);
  delete notifier_;
  ::close(g_pipe[0]);
  ::close(g_pipe[1]);
  g_pipe[0] = g_pipe[1] = -1;
}

void QuitOnSignals::onReadable() {
  unsigned char byte = 0;
  while (::read(g_pipe[0], &byte, 1) == 1) Q_EMIT received(byte);
  QCoreApplication::quit();
}

#else

QuitOnSignals::QuitOnSignals(QObject* parent) : QObject(parent) {}
QuitOnSignals::~QuitOnSignals() = default;
void QuitOnSignals::onReadable() {}

#endif

}  // namespace tessera::ui
