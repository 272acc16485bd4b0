// The main window: the shell the app's pages live in.
#include "ui/main_window.h"

#include <QLabel>
#include <QStatusBar>
#include <QVBoxLayout>

#include "tessera/version.h"

namespace tessera::ui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(QStringLiteral("Tessera"));
  setObjectName(QStringLiteral("MainWindow"));
  resize(960, 640);

  auto* central = new QWidget(this);
  auto* layout = new QVBoxLayout(central);
  auto* heading = new QLabel(tr("Tessera"), central);
  heading->setObjectName(QStringLiteral("heading"));
  QFont font = heading->font();
  font.setPointSizeF(font.pointSizeF() * 2.0);
  font.setBold(true);
  heading->setFont(font);
  auto* blurb = new QLabel(tr("Train open AI models together: donate your GPU, earn a verifiable share."), central);
  blurb->setWordWrap(true);
  layout->addStretch();
  layout->addWidget(heading, 0, Qt::AlignHCenter);
  layout->addWidget(blurb, 0, Qt::AlignHCenter);
  layout->addStretch();
  setCentralWidget(central);
  statusBar()->showMessage(tr("Version %1").arg(QString::fromLatin1(kVersion)));
}

}  // namespace tessera::ui
