// The desktop app quits cleanly when the session asks it to: SIGTERM (a logout or shutdown),
// SIGINT (Ctrl+C in a terminal) and SIGHUP (the terminal went away) each become an ordinary
// QCoreApplication::quit() on the GUI thread, so the app stops the node it started exactly as when
// the user quits from the tray. A signal handler may do almost nothing, so it only writes the
// signal's number to a socket pair; a QSocketNotifier reads it in the event loop (the self-pipe
// trick). A second signal while quitting is ignored: the first one's quit is already under way.
// A signal ignored when the app started (nohup) stays ignored.
// On platforms without these signals (Windows) it does nothing.
#pragma once

#include <QObject>

class QSocketNotifier;

namespace tessera::ui {

class QuitOnSignals : public QObject {
  Q_OBJECT

 public:
  // Installs the handlers; at most one instance may exist at a time.
  explicit QuitOnSignals(QObject* parent = nullptr);
  ~QuitOnSignals() override;  // restores the default actions

 Q_SIGNALS:
  // Emitted on the GUI thread, just before quit() (for a log line).
  void received(int signal_number);

 private:
  void onReadable();

  QSocketNotifier* notifier_ = nullptr;
};

}  // namespace tessera::ui
