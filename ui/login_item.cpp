// Start at login on Linux, macOS and Windows (see login_item.h).
#include "ui/login_item.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSettings>
#include <QStandardPaths>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <span>

#include "core/wallet/secure_file.h"

namespace tessera::ui {

namespace {

// Atomic, owner-only (launchd refuses a LaunchAgent that others can write).
bool writeEntry(const QString& path, const QString& text, QString* error) {
  if (!QDir().mkpath(QFileInfo(path).absolutePath())) {
    if (error != nullptr) *error = QObject::tr("could not create the folder %1").arg(QFileInfo(path).absolutePath());
    return false;
  }
  const QByteArray bytes = text.toUtf8();
  try {
    wallet::write_file_atomic(QFile::encodeName(path).toStdString(),
                              std::span(reinterpret_cast<const std::uint8_t*>(bytes.constData()),
                                        static_cast<std::size_t>(bytes.size())));
  } catch (const std::exception& failure) {
    if (error != nullptr) *error = QObject::tr("could not write %1: %2").arg(path, QString::fromUtf8(failure.what()));
    return false;
  }
  return true;
}

bool removeEntry(const QString& path, QString* error) {
  if (QFile::exists(path) && !QFile::remove(path)) {
    if (error != nullptr) *error = QObject::tr("could not remove %1").arg(path);
    return false;
  }
  return true;
}

// One Exec argument, quoted by the Desktop Entry spec: inside double quotes, `"`, `` ` ``, `$` and
// `\` take a backslash; then the string-value escapes apply (so a backslash is written as four),
// and `%` (field codes) is doubled.
QString desktopExecArgument(const QString& argument) {
  QString quoted;
  for (const QChar c : argument) {
    if (c == u'"' || c == u'`' || c == u'$' || c == u'\\') quoted += u'\\';
    quoted += c;
  }
  QString value;
  for (const QChar c : quoted) {
    if (c == u'\\')
      value += QStringLiteral("\\\\");
    else if (c == u'\n')
      value += QStringLiteral("\\n");
    else if (c == u'%')
      value += QStringLiteral("%%");
    else
      value += c;
  }
  return QStringLiteral("\"%1\"").arg(value);
}

QString xmlEscaped(const QString& text) { return text.toHtmlEscaped(); }

QString hiddenFlag() { return QStringLiteral("--%1").arg(QLatin1String(kStartHiddenOption)); }

}  // namespace

QString xdgAutostartFile(const QString& config_home) {
  return QDir(config_home).filePath(QStringLiteral("autostart/tessera.desktop"));
}

QString xdgAutostartEntry(const QString& program) {
  return QStringLiteral(
             "[Desktop Entry]\n"
             "Type=Application\n"
             "Name=Tessera\n"
             "Comment=Contribute to open model training from the tray\n"
             "Exec=%1 %2\n"
             "Icon=org.tessera.Tessera\n"
             "Terminal=false\n"
             "X-GNOME-Autostart-enabled=true\n")
      .arg(desktopExecArgument(program), hiddenFlag());
}

QString launchAgentFile(const QString& home) {
  return QDir(home).filePath(QStringLiteral("Library/LaunchAgents/%1.plist").arg(QLatin1String(kLoginItemLabel)));
}

QString launchAgentPlist(const QString& program) {
  return QStringLiteral(
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
             "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
             "<plist version=\"1.0\">\n"
             "<dict>\n"
             "  <key>Label</key>\n"
             "  <string>%1</string>\n"
             "  <key>ProgramArguments</key>\n"
             "  <array>\n"
             "    <string>%2</string>\n"
             "    <string>%3</string>\n"
             "  </array>\n"
             "  <key>RunAtLoad</key>\n"
             "  <true/>\n"
             "  <key>LimitLoadToSessionType</key>\n"
             "  <string>Aqua</string>\n"
             "  <key>ProcessType</key>\n"
             "  <string>Interactive</string>\n"
             "</dict>\n"
             "</plist>\n")
      .arg(QLatin1String(kLoginItemLabel), xmlEscaped(program), hiddenFlag());
}

QString windowsRunCommand(const QString& program) {
  // Backslashes whatever OS builds the line (QDir::toNativeSeparators would leave '/' on Linux).
  QString path = program;
  path.replace(u'/', u'\\');
  return QStringLiteral("\"%1\" %2").arg(path, hiddenFlag());
}

bool setXdgAutostart(const QString& config_home, const QString& program, bool enabled, QString* error) {
  const QString path = xdgAutostartFile(config_home);
  return enabled ? writeEntry(path, xdgAutostartEntry(program), error) : removeEntry(path, error);
}

bool hasXdgAutostart(const QString& config_home) { return QFile::exists(xdgAutostartFile(config_home)); }

bool setLaunchAgent(const QString& home, const QString& program, bool enabled, QString* error) {
  const QString path = launchAgentFile(home);
  return enabled ? writeEntry(path, launchAgentPlist(program), error) : removeEntry(path, error);
}

bool hasLaunchAgent(const QString& home) { return QFile::exists(launchAgentFile(home)); }

bool setWindowsRunValue(QSettings& run_key, const QString& program, bool enabled, QString* error) {
  const QString name = QLatin1String(kRunValueName);
  if (enabled)
    run_key.setValue(name, windowsRunCommand(program));
  else
    run_key.remove(name);
  run_key.sync();
  if (run_key.status() != QSettings::NoError) {
    if (error != nullptr)
      *error = QObject::tr("could not %1 the value %2 in %3")
                   .arg(enabled ? QObject::tr("write") : QObject::tr("remove"), name, run_key.fileName());
    return false;
  }
  return true;
}

bool hasWindowsRunValue(const QSettings& run_key) { return run_key.contains(QLatin1String(kRunValueName)); }

namespace {

#if defined(Q_OS_WIN)
const QString kRunKey = QStringLiteral("HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run");
#elif !defined(Q_OS_MACOS)
QString configHome() { return QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation); }
#endif

}  // namespace

bool setStartAtLogin(const QString& program, bool enabled, QString* error) {
#if defined(Q_OS_WIN)
  QSettings run_key(kRunKey, QSettings::NativeFormat);
  return setWindowsRunValue(run_key, program, enabled, error);
#elif defined(Q_OS_MACOS)
  return setLaunchAgent(QDir::homePath(), program, enabled, error);
#else
  return setXdgAutostart(configHome(), program, enabled, error);
#endif
}

bool startsAtLogin() {
#if defined(Q_OS_WIN)
  return hasWindowsRunValue(QSettings(kRunKey, QSettings::NativeFormat));
#elif defined(Q_OS_MACOS)
  return hasLaunchAgent(QDir::homePath());
#else
  return hasXdgAutostart(configHome());
#endif
}

}  // namespace tessera::ui
