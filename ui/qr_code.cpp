// libqrencode → QImage (see qr_code.h).
#include "ui/qr_code.h"

#include <QPainter>

#include <qrencode.h>

namespace tessera::ui {

QImage qrCodeImage(const QString& text, int module_px) {
  const QByteArray utf8 = text.toUtf8();
  QRcode* code = QRcode_encodeString(utf8.constData(), 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  if (code == nullptr) return {};
  constexpr int kQuiet = 4;  // modules of white border the standard asks for
  const int size = (code->width + 2 * kQuiet) * module_px;
  QImage image(size, size, QImage::Format_RGB32);
  image.fill(Qt::white);
  QPainter painter(&image);
  painter.setPen(Qt::NoPen);
  painter.setBrush(Qt::black);
  for (int y = 0; y < code->width; ++y)
    for (int x = 0; x < code->width; ++x)
      if (code->data[y * code->width + x] & 1)
        painter.drawRect((x + kQuiet) * module_px, (y + kQuiet) * module_px, module_px, module_px);
  painter.end();
  QRcode_free(code);
  return image;
}

}  // namespace tessera::ui
