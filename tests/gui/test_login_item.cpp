// Start at login for all three OSes, on Linux: the XDG autostart entry in a temporary config home
// (directly and through XDG_CONFIG_HOME), the macOS LaunchAgent in a temporary home (parsed back
// as a property list), and the Windows Run value in an INI-backed QSettings standing in for the
// registry key. Each entry must start the app with --hidden and the exact program path, however
// odd its characters.
#include <QtTest>

#include <QDir>
#include <QFile>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QXmlStreamReader>

#include <sys/stat.h>

#include "ui/login_item.h"

using namespace tessera::ui;

namespace {

QString readAll(const QString& path) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) return {};
  return QString::fromUtf8(file.readAll());
}

unsigned permissions(const QString& path) {
  struct stat info {};
  if (::stat(QFile::encodeName(path).constData(), &info) != 0) return 0xFFFF;
  return info.st_mode & 0777;
}

QString entryValue(const QString& entry, const QString& key) {
  for (const QString& line : entry.split(u'\n'))
    if (line.startsWith(key + u'=')) return line.mid(key.size() + 1);
  return {};
}

// The Exec value's arguments, read back by the Desktop Entry spec's rules: first the string
// escapes (\\ \n \s \t \r), then %% for %, and double-quoted arguments with \" \` \$ \\ inside.
QStringList execArguments(const QString& exec) {
  QString value;
  for (qsizetype i = 0; i < exec.size(); ++i) {
    if (exec[i] == u'\\' && i + 1 < exec.size()) {
      const QChar next = exec[++i];
      value += next == u'n' ? QChar(u'\n') : next == u's' ? QChar(u' ') : next == u't' ? QChar(u'\t') : next;
    } else {
      value += exec[i];
    }
  }
  QStringList arguments;
  QString current;
  bool quoted = false, any = false;
  for (qsizetype i = 0; i < value.size(); ++i) {
    const QChar c = value[i];
    if (c == u'%' && i + 1 < value.size() && value[i + 1] == u'%') {  // quoted or not, as GLib and KIO expand
      current += u'%';
      ++i;
      any = true;
    } else if (quoted) {
      if (c == u'\\' && i + 1 < value.size()) {
        current += value[++i];
      } else if (c == u'"') {
        quoted = false;
      } else {
        current += c;
      }
    } else if (c == u'"') {
      quoted = any = true;
    } else if (c == u' ') {
      if (any) arguments << current;
      current.clear();
      any = false;
    } else {
      current += c;
      any = true;
    }
  }
  if (any) arguments << current;
  return arguments;
}

// A property list's top-level dictionary, as key → string / bool / string list.
QVariantMap readPlist(const QString& path, QString* error) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) {
    *error = QStringLiteral("cannot open");
    return {};
  }
  QXmlStreamReader xml(&file);
  QVariantMap map;
  QString key;
  QStringList array;
  bool in_array = false;
  while (!xml.atEnd()) {
    xml.readNext();
    if (xml.isStartElement()) {
      const auto name = xml.name();
      if (name == u"key") {
        key = xml.readElementText();
      } else if (name == u"string") {
        const QString text = xml.readElementText();
        if (in_array)
          array << text;
        else
          map.insert(key, text);
      } else if (name == u"true" || name == u"false") {
        map.insert(key, name == u"true");
      } else if (name == u"array") {
        in_array = true;
        array.clear();
      }
    } else if (xml.isEndElement() && xml.name() == u"array") {
      in_array = false;
      map.insert(key, array);
    }
  }
  if (xml.hasError()) *error = xml.errorString();
  return map;
}

// Characters that need quoting in one format or another.
const QString kOddProgram = QStringLiteral("/opt/Tessera & \"Co\" <2>/50% $HOME `x` back\\slash/tessera");

}  // namespace

class TestLoginItem : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void xdgEntryStartsTheProgramHidden() {
    QTemporaryDir config;
    QVERIFY(!hasXdgAutostart(config.path()));
    QString error;
    QVERIFY2(setXdgAutostart(config.path(), kOddProgram, true, &error), qPrintable(error));
    const QString file = config.filePath(QStringLiteral("autostart/tessera.desktop"));
    QCOMPARE(xdgAutostartFile(config.path()), file);
    QVERIFY(hasXdgAutostart(config.path()));
    QCOMPARE(permissions(file), 0600u);
    const QString entry = readAll(file);
    QVERIFY(entry.startsWith(QStringLiteral("[Desktop Entry]\n")));
    QCOMPARE(entryValue(entry, QStringLiteral("Type")), QStringLiteral("Application"));
    QCOMPARE(execArguments(entryValue(entry, QStringLiteral("Exec"))), (QStringList{kOddProgram, "--hidden"}));

    const QString validator = QStandardPaths::findExecutable(QStringLiteral("desktop-file-validate"));
    if (!validator.isEmpty()) {
      QProcess validate;
      validate.start(validator, {file});
      QVERIFY(validate.waitForFinished(30000));
      QVERIFY2(validate.exitCode() == 0, validate.readAllStandardOutput().constData());
    }

    QVERIFY2(setXdgAutostart(config.path(), kOddProgram, false, &error), qPrintable(error));
    QVERIFY(!QFile::exists(file));
    QVERIFY(setXdgAutostart(config.path(), kOddProgram, false, &error));  // already off: nothing to do
  }

  void xdgFailureNamesTheFolder() {
    QTemporaryDir dir;
    const QString not_a_folder = dir.filePath(QStringLiteral("file"));
    QFile file(not_a_folder);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.close();
    QString error;
    QVERIFY(!setXdgAutostart(not_a_folder, QStringLiteral("/usr/bin/tessera"), true, &error));
    QVERIFY2(error.contains(not_a_folder), qPrintable(error));
  }

  void thisOsUsesXdgConfigHome() {
    QTemporaryDir config;
    const QByteArray saved = qgetenv("XDG_CONFIG_HOME");
    qputenv("XDG_CONFIG_HOME", QFile::encodeName(config.path()));
    const auto restore = qScopeGuard([&] {
      if (saved.isNull())
        qunsetenv("XDG_CONFIG_HOME");
      else
        qputenv("XDG_CONFIG_HOME", saved);
    });
    QVERIFY(!startsAtLogin());
    QString error;
    QVERIFY2(setStartAtLogin(QStringLiteral("/usr/bin/tessera"), true, &error), qPrintable(error));
    QVERIFY(startsAtLogin());
    QCOMPARE(execArguments(entryValue(readAll(config.filePath(QStringLiteral("autostart/tessera.desktop"))),
                                      QStringLiteral("Exec"))),
             (QStringList{"/usr/bin/tessera", "--hidden"}));
    QVERIFY(setStartAtLogin(QStringLiteral("/usr/bin/tessera"), false, &error));
    QVERIFY(!startsAtLogin());
  }

  void launchAgentIsAValidPlist() {
    QTemporaryDir home;
    QVERIFY(!hasLaunchAgent(home.path()));
    QString error;
    const QString program = QStringLiteral("/Applications/Tessera & <Co>.app/Contents/MacOS/Tessera");
    QVERIFY2(setLaunchAgent(home.path(), program, true, &error), qPrintable(error));
    const QString file = home.filePath(QStringLiteral("Library/LaunchAgents/org.tessera.Tessera.plist"));
    QCOMPARE(launchAgentFile(home.path()), file);
    QVERIFY(hasLaunchAgent(home.path()));
    QCOMPARE(permissions(file), 0600u);  // launchd refuses an agent others can write

    QString parse_error;
    const QVariantMap plist = readPlist(file, &parse_error);
    QVERIFY2(parse_error.isEmpty(), qPrintable(parse_error));
    QCOMPARE(plist.value(QStringLiteral("Label")).toString(), QStringLiteral("org.tessera.Tessera"));
    QCOMPARE(plist.value(QStringLiteral("ProgramArguments")).toStringList(), (QStringList{program, "--hidden"}));
    QCOMPARE(plist.value(QStringLiteral("RunAtLoad")), QVariant(true));
    QCOMPARE(plist.value(QStringLiteral("LimitLoadToSessionType")).toString(), QStringLiteral("Aqua"));

    // Rewritten in place (another program path), then removed.
    QVERIFY(setLaunchAgent(home.path(), QStringLiteral("/Applications/Tessera.app/Contents/MacOS/Tessera"), true, &error));
    QCOMPARE(readPlist(file, &parse_error).value(QStringLiteral("ProgramArguments")).toStringList().value(0),
             QStringLiteral("/Applications/Tessera.app/Contents/MacOS/Tessera"));
    QCOMPARE(QDir(home.filePath(QStringLiteral("Library/LaunchAgents"))).entryList(QDir::Files),
             QStringList{QStringLiteral("org.tessera.Tessera.plist")});  // no temp file left behind
    QVERIFY2(setLaunchAgent(home.path(), program, false, &error), qPrintable(error));
    QVERIFY(!QFile::exists(file));
    QVERIFY(!hasLaunchAgent(home.path()));
  }

  void windowsRunValueIsQuotedWithBackslashes() {
    QTemporaryDir dir;
    const QString ini = dir.filePath(QStringLiteral("run.ini"));
    {
      QSettings run(ini, QSettings::IniFormat);
      run.setValue(QStringLiteral("OneDrive"), QStringLiteral("\"C:\\OneDrive.exe\" /background"));
      QVERIFY(!hasWindowsRunValue(run));
      QString error;
      QVERIFY2(setWindowsRunValue(run, QStringLiteral("C:/Program Files/Tessera/bin/tessera.exe"), true, &error),
               qPrintable(error));
    }
    QSettings reread(ini, QSettings::IniFormat);  // what was persisted
    QVERIFY(hasWindowsRunValue(reread));
    QCOMPARE(reread.value(QStringLiteral("Tessera")).toString(),
             QStringLiteral("\"C:\\Program Files\\Tessera\\bin\\tessera.exe\" --hidden"));
    QCOMPARE(windowsRunCommand(QStringLiteral("C:\\Users\\Ann\\AppData\\Local\\Tessera\\tessera.exe")),
             QStringLiteral("\"C:\\Users\\Ann\\AppData\\Local\\Tessera\\tessera.exe\" --hidden"));
    QString error;
    QVERIFY(setWindowsRunValue(reread, QStringLiteral("C:/x/tessera.exe"), false, &error));
    QSettings after(ini, QSettings::IniFormat);
    QVERIFY(!hasWindowsRunValue(after));
    QCOMPARE(after.value(QStringLiteral("OneDrive")).toString(), QStringLiteral("\"C:\\OneDrive.exe\" /background"));
  }

  void windowsFailureIsReported() {
    QTemporaryDir dir;  // a folder where the INI file should be: it cannot be written
    QSettings run(dir.path(), QSettings::IniFormat);
    QString error;
    QVERIFY(!setWindowsRunValue(run, QStringLiteral("C:/Tessera/tessera.exe"), true, &error));
    QVERIFY2(error.contains(QStringLiteral("Tessera")) && error.contains(dir.path()), qPrintable(error));
  }
};

QTEST_GUILESS_MAIN(TestLoginItem)
#include "test_login_item.moc"
