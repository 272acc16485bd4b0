// "Start Tessera when I log in" on each desktop OS, started in the tray (`--hidden`: no window,
// the node started as the settings say):
//   Linux    an XDG autostart entry, <config home>/autostart/tessera.desktop
//   macOS    a per-user LaunchAgent, ~/Library/LaunchAgents/org.tessera.Tessera.plist
//   Windows  the value "Tessera" under HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run
// Each OS's writer takes the place it writes to (a folder, or the QSettings of the Run key), so
// tests exercise all three on Linux with temporary folders and an INI file; startsAtLogin() and
// setStartAtLogin() apply this OS's writer to the real places and the running executable.
#pragma once

#include <QString>

class QSettings;

namespace tessera::ui {

// The app's option the login entry passes (--hidden): start in the tray without opening the window.
inline constexpr const char* kStartHiddenOption = "hidden";

// The application id shared with the desktop file, the metainfo and the macOS bundle.
inline constexpr const char* kLoginItemLabel = "org.tessera.Tessera";

// Linux: the desktop entry (Exec quoted and escaped as the Desktop Entry spec asks).
QString xdgAutostartFile(const QString& config_home);
QString xdgAutostartEntry(const QString& program);

// macOS: the LaunchAgent property list (Label, ProgramArguments, RunAtLoad; GUI sessions only).
QString launchAgentFile(const QString& home);
QString launchAgentPlist(const QString& program);

// Windows: the Run value, the quoted program path with native separators and the flag.
inline constexpr const char* kRunValueName = "Tessera";
QString windowsRunCommand(const QString& program);

// Writers: true on success; false with `error` set to a sentence naming the file or key. Files are
// written atomically (a crash leaves the old entry or the new one). Disabling removes the entry.
bool setXdgAutostart(const QString& config_home, const QString& program, bool enabled, QString* error);
bool hasXdgAutostart(const QString& config_home);
bool setLaunchAgent(const QString& home, const QString& program, bool enabled, QString* error);
bool hasLaunchAgent(const QString& home);
bool setWindowsRunValue(QSettings& run_key, const QString& program, bool enabled, QString* error);
bool hasWindowsRunValue(const QSettings& run_key);

// This OS: what the Settings page's "Start at login" box reads and writes. `program` is the
// running executable (QCoreApplication::applicationFilePath(), read on the GUI thread); the write
// may run on any thread.
bool setStartAtLogin(const QString& program, bool enabled, QString* error);
bool startsAtLogin();

}  // namespace tessera::ui
