// QR codes for addresses (libqrencode), drawn as a crisp image with a quiet zone.
#pragma once

#include <QImage>
#include <QString>

namespace tessera::ui {

// A square black-on-white image of `text`, `module_px` pixels per module; null on failure.
QImage qrCodeImage(const QString& text, int module_px = 6);

}  // namespace tessera::ui
