// Corpora: the arithmetic generator, held-out separation, files and folders, deterministic
// shuffling, and answer accuracy.
#include <QtTest>

#include <fstream>
#include <set>
#include <QRegularExpression>

#include "core/model/data.h"

using namespace tessera::model;

class TestData : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void arithmeticIsExactAndDeterministic() {
    ArithmeticOptions options;
    options.expressions = 2000;
    const auto a = DataSource::arithmetic(32, 9, options), b = DataSource::arithmetic(32, 9, options);
    QCOMPARE(a.micro_batch(3, 1, 4, 8), b.micro_batch(3, 1, 4, 8));
    QVERIFY(a.micro_batch(3, 1, 4, 8) != a.micro_batch(3, 2, 4, 8));
    QVERIFY(a.micro_batch(0, 0, 4, 8) != DataSource::arithmetic(32, 10, options).micro_batch(0, 0, 4, 8));
    QCOMPARE(a.micro_batch(0, 0, 1, 2).size(), std::size_t(2 * 33));
  }

  void everyLineIsACorrectSum() {
    ArithmeticOptions options;
    options.expressions = 500;
    const auto data = DataSource::arithmetic(64, 4, options);
    QStringList lines;
    for (std::int64_t step = 0; step < 16; ++step) {
      std::string window;
      for (auto t : data.micro_batch(step, 0, 1, 1)) window += static_cast<char>(t);
      auto parts = QString::fromStdString(window).split('\n');
      // A window cuts the lines at its two ends.
      for (qsizetype i = 1; i + 1 < parts.size(); ++i) lines << parts[i];
    }
    int checked = 0;
    for (const auto& line : lines) {
      const QRegularExpression full("^(\\d+)([+-])(\\d+)=(-?\\d+)$");
      const auto match = full.match(line);
      if (!match.hasMatch()) continue;  // a window cuts lines at its ends
      const long long x = match.captured(1).toLongLong(), y = match.captured(3).toLongLong();
      const long long result = match.captured(2) == "+" ? x + y : x - y;
      QCOMPARE(match.captured(4).toLongLong(), result);
      QVERIFY(result >= 0);
      ++checked;
    }
    QVERIFY(checked > 10);
  }

  void heldOutExpressionsNeverAppearInTraining() {
    ArithmeticOptions options;
    options.max_operand = 30;
    options.expressions = 5000;
    const auto data = DataSource::arithmetic(40, 2, options);
    const auto eval = arithmetic_eval_set(40, 2, 50, options);
    QCOMPARE(eval.tokens.size(), std::size_t(50 * 41));
    std::string training;
    for (std::int64_t step = 0; step * 16 < static_cast<std::int64_t>(data.sequences()); ++step)
      for (auto t : data.micro_batch(step, 0, 1, 16)) training += static_cast<char>(t);
    for (const auto& problem : eval.problems) {
      QVERIFY(!training.empty());
      QVERIFY2(training.find("\n" + problem.expression + problem.answer) == std::string::npos, problem.expression.c_str());
    }
    // About the configured fraction is held out.
    int held = 0;
    for (int a = 0; a <= 99; ++a)
      for (int b = 0; b <= 99; ++b) held += arithmetic_held_out(a, '+', b, 2, 10);
    QVERIFY(held > 800 && held < 1200);
  }

  void answerAccuracyScoresTheAnswerTokens() {
    ArithmeticOptions options;
    options.max_operand = 99;
    const auto set = arithmetic_eval_set(16, 3, 4, options);
    // Perfect predictions: the next token everywhere.
    std::vector<std::int32_t> perfect;
    for (int row = 0; row < 4; ++row)
      for (int i = 1; i <= 16; ++i) perfect.push_back(set.tokens[static_cast<std::size_t>(row * 17 + i)]);
    QCOMPARE(answer_accuracy(set, perfect).exact, 1.0);
    QCOMPARE(answer_accuracy(set, perfect).digits, 1.0);
    auto wrong_last = perfect;
    wrong_last[15] = 'x';  // row 0's final newline
    QCOMPARE(answer_accuracy(set, wrong_last).exact, 0.75);
    QVERIFY(answer_accuracy(set, wrong_last).digits < 1.0);
    QCOMPARE(set.problems[0].answer.back(), '\n');
  }

  void readsFilesAndFolders() {
    QTemporaryDir folder;
    const std::filesystem::path root = folder.path().toStdString();
    std::filesystem::create_directories(root / "sub");
    std::ofstream(root / "b.txt") << "second file\n";
    std::ofstream(root / "a.txt") << "first file";
    std::ofstream(root / "sub" / "c.txt") << "third file in a subfolder\n";
    const auto all = DataSource::from_path(root, 8, 1);
    QCOMPARE(all.bytes(), std::string("first file\nsecond file\nthird file in a subfolder\n").size());
    const auto one = DataSource::from_spec((root / "b.txt").string(), 4, 1);
    QCOMPARE(one.bytes(), std::size_t(12));
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, DataSource::from_path(root / "missing", 8, 1));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, DataSource::from_path(root / "b.txt", 64, 1));
  }

  void shuffleCoversEveryWindowOncePerEpoch() {
    std::string text;
    for (int i = 0; i < 40; ++i) text += static_cast<char>('a' + i % 26);
    const DataSource data(text, 4, 5, "letters");
    QCOMPARE(data.sequences(), std::size_t(9));
    std::multiset<std::int32_t> firsts;
    for (int i = 0; i < 9; ++i) firsts.insert(data.micro_batch(i, 0, 1, 1).front());
    std::multiset<std::int32_t> expected;
    for (int i = 0; i < 9; ++i) expected.insert(text[static_cast<std::size_t>(i * 4)]);
    QCOMPARE(firsts, expected);
  }
};

QTEST_APPLESS_MAIN(TestData)
#include "test_data.moc"
