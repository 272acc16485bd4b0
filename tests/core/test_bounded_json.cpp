// Bounded JSON parsing (core/sys/bounded_json): what is refused (too long, too deep, not JSON)
// is refused without building the document, and what is inside the limits parses as usual.
#include <QtTest>

#include <string>

#include "core/sys/bounded_json.h"

using namespace tessera::sys;

class TestBoundedJson : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void parses_documents_inside_the_limits() {
    const auto parsed = parse_bounded_json(R"({"a": [1, {"b": "c"}], "d": null})");
    QVERIFY(parsed.value);
    QCOMPARE((*parsed.value)["a"][1]["b"].get<std::string>(), std::string("c"));
    QVERIFY(parse_bounded_object("{}"));
  }

  void refuses_a_deep_document_without_recursing() {
    const std::string deep(400000, '[');  // the review's stack-overflow body, unterminated
    const auto parsed = parse_bounded_json(deep, {1 << 20, 16});
    QVERIFY(!parsed.value);
    QVERIFY(parsed.error.find("nested deeper") != std::string::npos);
    std::string closed = std::string(17, '[') + std::string(17, ']');
    QVERIFY(!parse_bounded_json(closed, {1 << 20, 16}).value);
    closed = std::string(16, '[') + std::string(16, ']');
    QVERIFY(parse_bounded_json(closed, {1 << 20, 16}).value);
  }

  void refuses_a_long_document_before_reading_it() {
    const auto parsed = parse_bounded_json(std::string(2048, ' ') + "{}", {1024, 16});
    QVERIFY(!parsed.value);
    QVERIFY(parsed.error.find("longer than 1024") != std::string::npos);
  }

  void refuses_what_is_not_json_or_not_an_object() {
    QVERIFY(!parse_bounded_json("{\"a\": ").value);
    QVERIFY(!parse_bounded_json("{} trailing").value);
    QVERIFY(!parse_bounded_object("[1, 2]"));
    QVERIFY(!parse_bounded_object(""));
    QVERIFY(!parse_bounded_json("").error.empty());
  }
};

QTEST_APPLESS_MAIN(TestBoundedJson)
#include "test_bounded_json.moc"
