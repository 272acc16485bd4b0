// Conversions go through each type's own tree, not text, so numbers keep their kind.
#include "ui/json_convert.h"

#include <QVariantList>

namespace tessera::ui {

QVariant toVariant(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null: return {};
    case nlohmann::json::value_t::boolean: return value.get<bool>();
    case nlohmann::json::value_t::number_integer: return QVariant::fromValue<qint64>(value.get<std::int64_t>());
    case nlohmann::json::value_t::number_unsigned: return QVariant::fromValue<qint64>(value.get<std::int64_t>());
    case nlohmann::json::value_t::number_float: return value.get<double>();
    case nlohmann::json::value_t::string: return QString::fromStdString(value.get<std::string>());
    case nlohmann::json::value_t::array: {
      QVariantList list;
      for (const auto& item : value) list.push_back(toVariant(item));
      return list;
    }
    case nlohmann::json::value_t::object: {
      QVariantMap map;
      for (auto it = value.begin(); it != value.end(); ++it) map.insert(QString::fromStdString(it.key()), toVariant(*it));
      return map;
    }
    default: return {};
  }
}

nlohmann::json toJson(const QVariant& value) {
  switch (value.typeId()) {
    case QMetaType::UnknownType: return nullptr;
    case QMetaType::Bool: return value.toBool();
    case QMetaType::Int:
    case QMetaType::LongLong:
    case QMetaType::UInt:
    case QMetaType::ULongLong: return value.toLongLong();
    case QMetaType::Double:
    case QMetaType::Float: return value.toDouble();
    case QMetaType::QString: return value.toString().toStdString();
    case QMetaType::QVariantList:
    case QMetaType::QStringList: {
      auto array = nlohmann::json::array();
      for (const auto& item : value.toList()) array.push_back(toJson(item));
      return array;
    }
    case QMetaType::QVariantMap: {
      auto object = nlohmann::json::object();
      const auto map = value.toMap();
      for (auto it = map.begin(); it != map.end(); ++it) object[it.key().toStdString()] = toJson(it.value());
      return object;
    }
    default: return value.toString().toStdString();
  }
}

}  // namespace tessera::ui
