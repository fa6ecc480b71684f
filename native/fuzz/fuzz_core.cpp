// libFuzzer harness for framesnap's native core (built and run by
// scripts/fuzz.sh; see native/fuzz/README.md).
//
// Each input is written to one unlinked temporary file of the process, then
// goes the way an upload goes: probeFile, then one FrameExtractor for
// keyframe (Intra) snapshots and exact (Normal) snapshots at a few times,
// at a small output width to keep each run fast, then one keyframe at the
// video's own display size. SnapshotFailure is the
// core's answer to bad input and is expected; anything else is a finding:
// a sanitizer report, another exception, a broken result invariant, or the
// core giving up at its own deadline (a small file that keeps the core busy
// for seconds is a denial of service waiting to happen).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <string>
#include <vector>

#include "frame_extractor.h"
#include "interruption.h"
#include "probe.h"
#include "snapshot_failure.h"

namespace {

using framesnap::ErrorCode;
using framesnap::SnapshotFailure;

// The input file: created unlinked (nothing is left behind, even when the
// process dies), reached by the core through /proc/self/fd/N.
int inputFd = -1;
std::string inputPath;
double deadlineMs = 5000;
bool timeoutIsFinding = true;
bool verbose = false;  // FRAMESNAP_FUZZ_VERBOSE=1: say what each step gave

void say(const std::string& text) {
  if (verbose) {
    std::fprintf(stderr, "framesnap-fuzz: %s\n", text.c_str());
  }
}
constexpr int kWidth = 64;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "framesnap-fuzz: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

void writeInput(const uint8_t* data, size_t size) {
  if (ftruncate(inputFd, 0) != 0) {
    finding("cannot empty the input file: " + std::string(std::strerror(errno)));
  }
  size_t written = 0;
  while (written < size) {
    const ssize_t result =
        pwrite(inputFd, data + written, size - written, static_cast<off_t>(written));
    if (result < 0 && errno == EINTR) {
      continue;
    }
    if (result <= 0) {
      finding("cannot write the input file: " + std::string(std::strerror(errno)));
    }
    written += static_cast<size_t>(result);
  }
}

double processCpuMs() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1000.0 + static_cast<double>(now.tv_nsec) / 1e6;
}

double inputStartCpuMs = 0;

// A SnapshotFailure is the expected answer to bad input, except a timeout:
// the core's deadline is wall-clock time, so a timeout counts only when this
// input also used at least half the deadline in CPU time (on a loaded
// machine, waiting for a core is no finding).
void expected(const SnapshotFailure& failure, const char* step) {
  say(std::string(step) + ": " + framesnap::errorCodeName(failure.code()) + ": " + failure.what());
  if (failure.code() != ErrorCode::TimedOut || !timeoutIsFinding) {
    return;
  }
  const double cpuMs = processCpuMs() - inputStartCpuMs;
  if (cpuMs < deadlineMs / 2) {
    std::fprintf(stderr,
                 "framesnap-fuzz: %s timed out after %.0f ms of CPU time (a loaded machine)\n",
                 step, cpuMs);
    return;
  }
  finding(std::string(step) + " ran past the core's deadline of " +
          std::to_string(static_cast<long>(deadlineMs)) + " ms, using " +
          std::to_string(static_cast<long>(cpuMs)) + " ms of CPU time: " + failure.what());
}

void checkFrames(const std::vector<framesnap::ExtractedFrame>& frames,
                 const framesnap::FrameSelection& selection, const char* step) {
  const std::string where(step);
  if (verbose) {
    say(where + ": " + std::to_string(frames.size()) + " frames" +
        (frames.empty() || !frames[0].image
             ? std::string()
             : ", the first " + std::to_string(frames[0].image->width) + "x" +
                   std::to_string(frames[0].image->height) + " at " +
                   std::to_string(frames[0].timeMs) + " ms"));
  }
  if (frames.size() > selection.timesMs.size()) {
    finding(where + ": more frames than times");
  }
  if (selection.frameType == framesnap::FrameType::Intra && !selection.stopAtEnd &&
      frames.size() != selection.timesMs.size()) {
    finding(where + ": keyframe mode returned " + std::to_string(frames.size()) + " frames for " +
            std::to_string(selection.timesMs.size()) + " times");
  }
  for (size_t i = 0; i < frames.size(); ++i) {
    const auto& frame = frames[i];
    if (frame.requestedMs != selection.timesMs[i]) {
      finding(where + ": frame " + std::to_string(i) + " answers another time");
    }
    const auto& image = frame.image;
    if (!image) {
      finding(where + ": frame " + std::to_string(i) + " has no image");
    }
    const int64_t width = image->width;
    const int64_t height = image->height;
    const bool wrongWidth = selection.width > 0 && width != selection.width;
    const bool overLimits = width > framesnap::kMaxImageSide || height > framesnap::kMaxImageSide ||
                            width * height > selection.limits.outputPixels;
    if (wrongWidth || overLimits || width < 1 || height < 1 ||
        image->pixels.size() != static_cast<size_t>(width * height * 3)) {
      finding(where + ": frame " + std::to_string(i) + " is " + std::to_string(width) + "x" +
              std::to_string(height) + " with " + std::to_string(image->pixels.size()) +
              " bytes (asked for width " + std::to_string(selection.width) + ", at most " +
              std::to_string(selection.limits.outputPixels) + " pixels and " +
              std::to_string(framesnap::kMaxImageSide) + " a side)");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  const char* base = std::getenv("TMPDIR");
  const std::string folder = base != nullptr && *base != '\0' ? base : "/tmp";
  inputFd = open(folder.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (inputFd < 0) {
    // A file system without O_TMPFILE: a named file, unlinked at once.
    std::string pattern = folder + "/framesnap-fuzz-XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    inputFd = mkostemp(name.data(), O_CLOEXEC);
    if (inputFd < 0) {
      finding("cannot make a temporary file: " + std::string(std::strerror(errno)));
    }
    unlink(name.data());
  }
  inputPath = "/proc/self/fd/" + std::to_string(inputFd);
  if (const char* value = std::getenv("FRAMESNAP_FUZZ_DEADLINE_MS")) {
    deadlineMs = std::atof(value);
  }
  if (const char* value = std::getenv("FRAMESNAP_FUZZ_VERBOSE")) {
    verbose = std::strcmp(value, "1") == 0;
  }
  if (const char* value = std::getenv("FRAMESNAP_FUZZ_ALLOW_TIMEOUTS")) {
    timeoutIsFinding = std::strcmp(value, "1") != 0;
  }
  // FFmpeg's log goes to the core's per-thread capture, not to stderr.
  framesnap::installFfmpegLogCapture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  writeInput(data, size);
  inputStartCpuMs = processCpuMs();
  // One deadline for the whole input, as one request would have.
  const framesnap::Interruption interruption(nullptr, nullptr, deadlineMs);
  try {
    const framesnap::ProbeResult probe = framesnap::probeFile(inputPath, interruption);
    say("probeFile: " + probe.formatName + ", " + probe.codecName + ", " +
        std::to_string(probe.width) + "x" + std::to_string(probe.height));
  } catch (const SnapshotFailure& failure) {
    expected(failure, "probeFile");
  } catch (const std::exception& other) {
    finding(std::string("probeFile threw an exception other than SnapshotFailure: ") +
            other.what());
  }
  try {
    framesnap::FrameExtractor extractor(framesnap::identifyFile(inputPath, 1), interruption);
    (void)extractor.durationMs();

    framesnap::FrameSelection intra;
    intra.timesMs = {0, 500, 1e9};
    intra.frameType = framesnap::FrameType::Intra;
    intra.width = kWidth;
    intra.blackFirstFrame.enabled = true;
    checkFrames(extractor.extract(intra, interruption), intra, "keyframe snapshots");

    // The same extractor decodes on from where it stands, then seeks back.
    framesnap::FrameSelection exact;
    exact.timesMs = {0, 40, 500, 1e9};
    exact.frameType = framesnap::FrameType::Normal;
    exact.width = kWidth;
    checkFrames(extractor.extract(exact, interruption), exact, "exact snapshots");

    // At the size the video claims to have (no width asked): only the core's
    // pixel limits stand between a crafted header and a giant buffer.
    framesnap::FrameSelection natural;
    natural.timesMs = {0};
    natural.frameType = framesnap::FrameType::Intra;
    checkFrames(extractor.extract(natural, interruption), natural, "a keyframe at its own size");
  } catch (const SnapshotFailure& failure) {
    expected(failure, "extraction");
  } catch (const std::exception& other) {
    finding(std::string("extraction threw an exception other than SnapshotFailure: ") +
            other.what());
  }
  return 0;
}
