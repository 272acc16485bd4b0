// Corpora: the arithmetic generator, held-out separation, files and folders, deterministic
// shuffling, shards and their attribution, and answer accuracy.
#include <QtTest>

#include <fstream>
#include <set>
#include <QRegularExpression>

#include "core/model/data.h"
#include "core/model/splitmix.h"

using namespace tessera::model;

namespace {

// DataSource::micro_batch as it was before shards (one text, its own permutation), kept verbatim
// to prove that single-text runs train on the same batches as before.
std::vector<std::int32_t> previous_micro_batch(const std::string& text, int context, std::uint64_t seed,
                                               std::int64_t step, int micro, int micro_batches, int batch) {
  const std::size_t count = (text.size() - 1) / static_cast<std::size_t>(context);
  std::vector<std::int32_t> tokens;
  std::uint64_t cached_epoch = ~0ULL;
  std::vector<std::uint32_t> permutation;
  for (int row = 0; row < batch; ++row) {
    const auto index = static_cast<std::uint64_t>((step * micro_batches + micro) * batch + row);
    const auto epoch = index / count;
    if (epoch != cached_epoch) {
      permutation.resize(count);
      for (std::size_t i = 0; i < count; ++i) permutation[i] = static_cast<std::uint32_t>(i);
      std::mt19937_64 rng(splitmix(seed ^ splitmix(epoch + 1)));
      std::shuffle(permutation.begin(), permutation.end(), rng);
      cached_epoch = epoch;
    }
    const std::size_t start = static_cast<std::size_t>(permutation[index % count]) * context;
    for (int i = 0; i <= context; ++i) tokens.push_back(static_cast<unsigned char>(text[start + i]));
  }
  return tokens;
}

// Shard i is filled with the letter 'a' + i, so a row's letter names the shard it came from.
std::vector<std::string> lettered_shards(const std::vector<std::uint64_t>& sizes) {
  std::vector<std::string> shards;
  for (std::size_t i = 0; i < sizes.size(); ++i) shards.emplace_back(sizes[i], static_cast<char>('a' + i));
  return shards;
}

}  // namespace

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

  void singleTextBatchesAreUnchanged() {
    // The arithmetic corpus's batches, hashed (FNV-1a) by the implementation before shards.
    const auto data = DataSource::arithmetic(64, 1234);
    QCOMPARE(data.sequences(), std::size_t(11173));
    QCOMPARE(data.layout().shards(), std::size_t(1));
    std::uint64_t hash = 1469598103934665603ULL;
    for (std::int64_t step : {0, 7, 500, 3000})  // 3000 is past the first epochs
      for (int micro = 0; micro < 4; ++micro)
        for (auto t : data.micro_batch(step, micro, 4, 8)) {
          hash ^= static_cast<std::uint64_t>(t);
          hash *= 1099511628211ULL;
        }
    QCOMPARE(hash, std::uint64_t(1022476098463048600ULL));
    // A plain text compared with the reference across epochs (steps past one epoch).
    std::string plain;
    for (int i = 0; i < 5000; ++i) plain += static_cast<char>(' ' + (i * 7919 + i / 13) % 90);
    const DataSource source(plain, 16, 42, "plain");
    const auto per_epoch = static_cast<std::int64_t>(source.sequences()) / (3 * 4) + 1;
    for (std::int64_t step : {std::int64_t(0), std::int64_t(1), per_epoch - 1, per_epoch, 3 * per_epoch + 2})
      for (int micro = 0; micro < 3; ++micro)
        QCOMPARE(source.micro_batch(step, micro, 3, 4), previous_micro_batch(plain, 16, 42, step, micro, 3, 4));
  }

  void shardsAreCutApartAndAttributedExactly() {
    struct Layout {
      std::vector<std::uint64_t> sizes;
      int context, micro_batches, batch;
    };
    const std::vector<Layout> layouts = {
        {{200}, 8, 2, 3},                   // one shard
        {{100, 5, 257, 64}, 8, 2, 4},       // a shard too short for any sequence
        {{9, 9, 9, 9, 9}, 8, 1, 3},         // one sequence each: a step crosses epochs
        {{1000, 17, 33, 400, 2}, 16, 3, 5}, // uneven, last shard empty
    };
    for (const auto& layout : layouts) {
      const auto shards = lettered_shards(layout.sizes);
      const auto data = DataSource::from_shards(shards, layout.context, 7, "letters");
      const ShardAttribution attribution(layout.sizes, layout.context, 7);
      QCOMPARE(attribution.layout().sequences(), static_cast<std::uint64_t>(data.sequences()));
      std::vector<std::uint64_t> total(layout.sizes.size(), 0);
      for (std::int64_t step = 0; step < 40; ++step) {
        std::vector<std::uint64_t> seen(layout.sizes.size(), 0);
        for (int micro = 0; micro < layout.micro_batches; ++micro) {
          const auto tokens = data.micro_batch(step, micro, layout.micro_batches, layout.batch);
          const auto width = static_cast<std::size_t>(layout.context + 1);
          QCOMPARE(tokens.size(), width * static_cast<std::size_t>(layout.batch));
          for (std::size_t row = 0; row * width < tokens.size(); ++row) {
            const auto letter = tokens[row * width];
            for (std::size_t i = 0; i < width; ++i) QCOMPARE(tokens[row * width + i], letter);  // no row crosses shards
            seen[static_cast<std::size_t>(letter - 'a')] += static_cast<std::uint64_t>(layout.context);
          }
        }
        QCOMPARE(attribution.step_tokens(step, layout.micro_batches, layout.batch), seen);
        QCOMPARE(shard_step_tokens(layout.sizes, layout.context, 7, step, layout.micro_batches, layout.batch), seen);
        for (std::size_t i = 0; i < seen.size(); ++i) total[i] += seen[i];
      }
      // Shards without a sequence are never credited; the others are, in proportion over epochs.
      for (std::size_t i = 0; i < layout.sizes.size(); ++i)
        QCOMPARE(total[i] == 0, attribution.layout().shard_sequences(i) == 0);
    }
  }

  void layoutNumbersSequencesShardByShard() {
    const CorpusLayout layout({3, 20, 0, 9}, 4);  // 0, 4, 0, 2 sequences
    QCOMPARE(layout.sequences(), std::uint64_t(6));
    QCOMPARE(layout.shard_of(0), std::size_t(1));
    QCOMPARE(layout.start_of(0), std::uint64_t(3));
    QCOMPARE(layout.start_of(3), std::uint64_t(15));
    QCOMPARE(layout.shard_of(4), std::size_t(3));
    QCOMPARE(layout.start_of(4), std::uint64_t(23));
    QCOMPARE(layout.start_of(5), std::uint64_t(27));
    QVERIFY_THROWS_EXCEPTION(std::out_of_range, layout.shard_of(6));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, CorpusLayout({4, 3}, 4));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, CorpusLayout({}, 4));
  }
};

QTEST_APPLESS_MAIN(TestData)
#include "test_data.moc"
