// nlohmann::json ⇄ QVariant, for data crossing from core (JSON) into Qt views and back.
#pragma once

#include <QVariant>
#include <QVariantMap>

#include <nlohmann/json.hpp>

namespace tessera::ui {

QVariant toVariant(const nlohmann::json& value);
nlohmann::json toJson(const QVariant& value);

}  // namespace tessera::ui
