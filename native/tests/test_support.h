// A tiny test harness for the native suite: TEST registers a case, CHECK and
// CHECK_EQ record failures (and let the case go on), EXPECT_FAILURE checks the
// ErrorCode of a SnapshotFailure. A case passes when none of its checks fail
// and it throws nothing; runAllTests prints "N passed, M failed" last.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "snapshot_failure.h"

namespace framesnap::testing {

struct TestCase {
  const char* name;
  std::function<void()> body;
};

inline std::vector<TestCase>& registry() {
  static std::vector<TestCase> cases;
  return cases;
}

inline int& currentCaseFailures() {
  static int failures = 0;
  return failures;
}

struct Registrar {
  Registrar(const char* name, std::function<void()> body) {
    registry().push_back({name, std::move(body)});
  }
};

inline void reportFailure(const char* file, int line, const std::string& what) {
  ++currentCaseFailures();
  std::fprintf(stderr, "    %s:%d: %s\n", file, line, what.c_str());
}

template <typename T>
std::string show(const T& value) {
  std::ostringstream out;
  out << value;
  return out.str();
}
inline std::string show(const std::string& value) { return '"' + value + '"'; }
inline std::string show(const char* value) { return show(std::string(value)); }
inline std::string show(bool value) { return value ? "true" : "false"; }
template <typename T>
std::string show(const std::vector<T>& values) {
  std::string text = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    text += (i == 0 ? "" : ", ") + show(values[i]);
  }
  return text + "]";
}

template <typename A, typename B>
bool checkEqual(const A& actual, const B& expected, const char* actualText,
                const char* expectedText, const char* file, int line) {
  if (actual == expected) {
    return true;
  }
  reportFailure(file, line,
                std::string(actualText) + " == " + expectedText +
                    "\n      actual:   " + show(actual) + "\n      expected: " + show(expected));
  return false;
}

inline bool expectFailure(const std::function<void()>& body, ErrorCode expected,
                          const char* bodyText, const char* file, int line) {
  try {
    body();
  } catch (const SnapshotFailure& failure) {
    if (failure.code() == expected) {
      return true;
    }
    reportFailure(file, line,
                  std::string(bodyText) + "\n      threw " + errorCodeName(failure.code()) + " (" +
                      failure.what() + "), expected " + errorCodeName(expected));
    return false;
  } catch (const std::exception& other) {
    reportFailure(file, line,
                  std::string(bodyText) + "\n      threw a non-SnapshotFailure: " + other.what());
    return false;
  }
  reportFailure(
      file, line,
      std::string(bodyText) + "\n      threw nothing, expected " + errorCodeName(expected));
  return false;
}

// Runs the cases whose name contains `filter` (all when empty). Returns the
// number of failed cases.
inline int runAllTests(const std::string& filter) {
  int passed = 0;
  int failed = 0;
  for (const TestCase& test : registry()) {
    if (!filter.empty() && std::string(test.name).find(filter) == std::string::npos) {
      continue;
    }
    currentCaseFailures() = 0;
    const auto start = std::chrono::steady_clock::now();
    try {
      test.body();
    } catch (const SnapshotFailure& failure) {
      reportFailure(__FILE__, __LINE__,
                    std::string("unexpected SnapshotFailure ") + errorCodeName(failure.code()) +
                        ": " + failure.what());
    } catch (const std::exception& error) {
      reportFailure(__FILE__, __LINE__, std::string("unexpected exception: ") + error.what());
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - start)
                             .count();
    const bool ok = currentCaseFailures() == 0;
    std::fprintf(stderr, "%s %s (%lld ms)\n", ok ? "ok  " : "FAIL", test.name,
                 static_cast<long long>(elapsed));
    (ok ? passed : failed)++;
  }
  std::fflush(stderr);
  std::printf("%d passed, %d failed\n", passed, failed);
  std::fflush(stdout);
  return failed;
}

}  // namespace framesnap::testing

#define FS_CONCAT_INNER(a, b) a##b
#define FS_CONCAT(a, b) FS_CONCAT_INNER(a, b)

#define TEST(name)                                                              \
  static void FS_CONCAT(test_, __LINE__)();                                     \
  static const ::framesnap::testing::Registrar FS_CONCAT(registrar_, __LINE__)( \
      name, &FS_CONCAT(test_, __LINE__));                                       \
  static void FS_CONCAT(test_, __LINE__)()

#define CHECK(condition)                                                                           \
  ((condition)                                                                                     \
       ? true                                                                                      \
       : (::framesnap::testing::reportFailure(__FILE__, __LINE__, "CHECK(" #condition ") failed"), \
          false))

#define CHECK_EQ(actual, expected) \
  ::framesnap::testing::checkEqual((actual), (expected), #actual, #expected, __FILE__, __LINE__)

// EXPECT_FAILURE(ErrorCode::X, statement;) : the statement throws SnapshotFailure X.
#define EXPECT_FAILURE(code, ...)                                                             \
  ::framesnap::testing::expectFailure([&]() { __VA_ARGS__; }, (code), #__VA_ARGS__, __FILE__, \
                                      __LINE__)
