// The native test suite of framesnap: probeFile, extractFrames and
// FrameExtractor against clips made by the ffmpeg CLI (scripts/native-tests.sh
// makes them), with exact expected values. No Node, no test framework; runs
// as is, under valgrind, or built with AddressSanitizer.
//
//   framesnap_native_tests [CLIPS_DIR [NAME_FILTER]]
//   (CLIPS_DIR defaults to $FRAMESNAP_TEST_CLIPS)
//
// The clips: h264.mp4 (320x240, 25 fps, 4 s, B-frames, keyframes at 0, 1, 2,
// 3 s), mpeg2.ts (the same picture as MPEG-2 in MPEG-TS, GOP of 12), long-360p.mp4
// (640x360, 40 s, for deadlines and aborts). Files that are not videos are
// written by this program into CLIPS_DIR/bad.

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern "C" {
#include <libavutil/error.h>
}

#include "demuxer.h"
#include "display_geometry.h"
#include "ffmpeg_compat.h"
#include "frame_extractor.h"
#include "interruption.h"
#include "probe.h"
#include "remote_reader.h"
#include "snapshot_failure.h"
#include "test_support.h"

using namespace framesnap;

namespace {

std::string clipsDir;

std::string clip(const std::string& name) { return clipsDir + "/" + name; }
std::string badFile(const std::string& name) { return clipsDir + "/bad/" + name; }

FrameSelection pick(std::vector<double> timesMs, FrameType type, int width = 0, int height = 0) {
  FrameSelection selection;
  selection.timesMs = std::move(timesMs);
  selection.frameType = type;
  selection.width = width;
  selection.height = height;
  return selection;
}

std::vector<ExtractedFrame> extract(const std::string& path, const FrameSelection& selection,
                                    const Interruption& interruption = Interruption(),
                                    int threads = 0) {
  ExtractRequest request;
  request.path = path;
  request.threads = threads;
  request.selection = selection;
  return extractFrames(request, interruption);
}

std::vector<double> timesOf(const std::vector<ExtractedFrame>& frames) {
  std::vector<double> times;
  for (const ExtractedFrame& frame : frames) {
    times.push_back(frame.timeMs);
  }
  return times;
}

std::vector<double> requestedOf(const std::vector<ExtractedFrame>& frames) {
  std::vector<double> times;
  for (const ExtractedFrame& frame : frames) {
    times.push_back(frame.requestedMs);
  }
  return times;
}

std::vector<bool> keyframesOf(const std::vector<ExtractedFrame>& frames) {
  std::vector<bool> keyframes;
  for (const ExtractedFrame& frame : frames) {
    keyframes.push_back(frame.keyframe);
  }
  return keyframes;
}

// Every frame has a well-formed image of the given size.
bool checkImages(const std::vector<ExtractedFrame>& frames, int width, int height) {
  bool ok = true;
  for (const ExtractedFrame& frame : frames) {
    if (!CHECK(frame.image != nullptr)) {
      ok = false;
      continue;
    }
    ok &= CHECK_EQ(frame.image->width, width);
    ok &= CHECK_EQ(frame.image->height, height);
    ok &= CHECK_EQ(frame.image->pixels.size(), static_cast<size_t>(width) * height * 3);
  }
  return ok;
}

// Same times, keyframe flags and pixels.
void checkSameFrames(const std::vector<ExtractedFrame>& actual,
                     const std::vector<ExtractedFrame>& expected) {
  CHECK_EQ(timesOf(actual), timesOf(expected));
  CHECK_EQ(requestedOf(actual), requestedOf(expected));
  CHECK_EQ(keyframesOf(actual), keyframesOf(expected));
  const size_t count = std::min(actual.size(), expected.size());
  for (size_t i = 0; i < count; ++i) {
    if (CHECK(actual[i].image && expected[i].image)) {
      if (!CHECK(actual[i].image->pixels == expected[i].image->pixels)) {
        std::fprintf(stderr, "      pixels differ at %g ms\n", actual[i].requestedMs);
      }
    }
  }
}

// An image that is not a single flat colour (testsrc2 never is).
bool hasPicture(const RgbImage& image) {
  const auto [low, high] = std::minmax_element(image.pixels.begin(), image.pixels.end());
  return low != image.pixels.end() && *high - *low > 100;
}

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The files that are not videos; rewritten on every run (they are tiny).
void writeBadFiles() {
  mkdir(badFile("").c_str(), 0755);
  writeFile(badFile("empty.mp4"), "");
  std::string noise(64 * 1024, '\0');
  uint32_t state = 12345;
  for (char& byte : noise) {
    state = state * 1103515245u + 12345u;
    byte = static_cast<char>(state >> 24);
  }
  writeFile(badFile("random.mp4"), noise);
  std::string text;
  for (int i = 0; i < 200; ++i) {
    text += "These are not the frames you are looking for.\n";
  }
  writeFile(badFile("notes.txt"), text);
  // The first 40% of the H.264 clip: its moov atom (at the end) is missing.
  const std::string whole = readFile(clip("h264.mp4"));
  writeFile(badFile("truncated.mp4"), whole.substr(0, whole.size() * 2 / 5));
  mkdir(badFile("folder.mp4").c_str(), 0755);
  // The first bytes of a PNG (signature and IHDR): a picture format not on the list.
  writeFile(badFile("picture.png"),
            std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x02\0\0\0"
                        "\x90\x91\x68\x36",
                        33) +
                std::string(64, '\0'));
}

// "Code: message" of the SnapshotFailure `call` throws; "" when none.
std::string failureOf(const std::function<void()>& call) {
  try {
    call();
  } catch (const SnapshotFailure& failure) {
    return std::string(errorCodeName(failure.code())) + ": " + failure.what();
  }
  return "";
}

// The first JPEG of `bytes` with the size in its SOF0/SOF2 header replaced,
// and its scan data padded to what a picture that large could hold (FFmpeg
// refuses a JPEG far too short for its size before looking at the limit).
std::string withJpegSize(std::string bytes, int width, int height) {
  const size_t end = bytes.find("\xff\xd9");
  if (end != std::string::npos) {
    bytes = bytes.substr(0, end) +
            std::string(static_cast<size_t>(width / 8 + 1) * (height / 8 + 1) / 4 + 1024, '\0') +
            "\xff\xd9";
  }
  for (size_t at = 0; at + 9 < bytes.size(); ++at) {
    if (static_cast<uint8_t>(bytes[at]) == 0xFF && (static_cast<uint8_t>(bytes[at + 1]) == 0xC0 ||
                                                    static_cast<uint8_t>(bytes[at + 1]) == 0xC2)) {
      bytes[at + 5] = static_cast<char>(height >> 8);
      bytes[at + 6] = static_cast<char>(height & 0xFF);
      bytes[at + 7] = static_cast<char>(width >> 8);
      bytes[at + 8] = static_cast<char>(width & 0xFF);
    }
  }
  return bytes;
}

double millisecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// Every frame of the long clip, in Normal mode: far more work than any
// deadline or abort below allows.
FrameSelection everyFrameOfLongClip() {
  std::vector<double> times;
  for (int i = 0; i < 1000; ++i) {
    times.push_back(i * 40.0);
  }
  return pick(times, FrameType::Normal);
}

}  // namespace

// ---- probeFile ----------------------------------------------------------

TEST("probe: H.264 in MP4") {
  const ProbeResult probe = probeFile(clip("h264.mp4"), Interruption());
  CHECK_EQ(probe.codecName, "h264");
  CHECK(probe.formatName.find("mp4") != std::string::npos);
  CHECK_EQ(probe.durationMs, 4000.0);
  CHECK_EQ(probe.startTimeMs, 0.0);
  CHECK_EQ(probe.width, 320);
  CHECK_EQ(probe.height, 240);
  CHECK_EQ(probe.displayWidth, 320);
  CHECK_EQ(probe.displayHeight, 240);
  CHECK_EQ(probe.rotation, 0);
  CHECK_EQ(probe.frameRate, 25.0);
  CHECK_EQ(probe.pixelFormat, "yuv420p");
  CHECK_EQ(probe.bitDepth, 8);
  CHECK_EQ(probe.keyframeCount, 4L);
}

TEST("probe: MPEG-2 in MPEG-TS") {
  const ProbeResult probe = probeFile(clip("mpeg2.ts"), Interruption());
  CHECK_EQ(probe.codecName, "mpeg2video");
  CHECK_EQ(probe.formatName, "mpegts");
  CHECK_EQ(probe.width, 320);
  CHECK_EQ(probe.height, 240);
  CHECK_EQ(probe.frameRate, 25.0);
  CHECK(probe.durationMs > 3900 && probe.durationMs < 4100);
}

// ---- extractFrames, Normal mode -----------------------------------------

TEST("normal: the first frame at or after each time") {
  const auto frames = extract(clip("h264.mp4"), pick({0, 500, 1010, 3960}, FrameType::Normal));
  CHECK_EQ(timesOf(frames), (std::vector<double>{0, 520, 1040, 3960}));
  CHECK_EQ(requestedOf(frames), (std::vector<double>{0, 500, 1010, 3960}));
  CHECK_EQ(keyframesOf(frames), (std::vector<bool>{true, false, false, false}));
  if (checkImages(frames, 320, 240)) {
    CHECK(hasPicture(*frames[0].image));
    // testsrc2 moves: neighbouring answers are different pictures.
    CHECK(frames[0].image->pixels != frames[1].image->pixels);
    CHECK(frames[1].image->pixels != frames[2].image->pixels);
  }
}

TEST("normal: exact frame times and keyframes") {
  const auto frames =
      extract(clip("h264.mp4"), pick({1000, 1040, 2000, 2999.999, 3000}, FrameType::Normal));
  CHECK_EQ(timesOf(frames), (std::vector<double>{1000, 1040, 2000, 3000, 3000}));
  CHECK_EQ(keyframesOf(frames), (std::vector<bool>{true, false, true, true, true}));
  if (CHECK_EQ(frames.size(), 5u)) {
    // Two times answered by one frame share its image.
    CHECK(frames[3].image == frames[4].image);
  }
}

TEST("normal: times past the end give a shorter result") {
  const auto frames =
      extract(clip("h264.mp4"), pick({0, 3960, 3961, 4000, 5000}, FrameType::Normal));
  CHECK_EQ(timesOf(frames), (std::vector<double>{0, 3960}));
  const auto none = extract(clip("h264.mp4"), pick({4500}, FrameType::Normal));
  CHECK_EQ(none.size(), 0u);
  const auto empty = extract(clip("h264.mp4"), pick({}, FrameType::Normal));
  CHECK_EQ(empty.size(), 0u);
}

TEST("normal: one decoder thread gives the same pixels") {
  const auto selection = pick({0, 500, 1010, 2480, 3960}, FrameType::Normal);
  checkSameFrames(extract(clip("h264.mp4"), selection, Interruption(), 1),
                  extract(clip("h264.mp4"), selection));
}

// ---- extractFrames, Intra mode ------------------------------------------

TEST("intra: the keyframe at or before each time") {
  const auto frames = extract(clip("h264.mp4"), pick({0, 999.5, 2500}, FrameType::Intra));
  CHECK_EQ(timesOf(frames), (std::vector<double>{0, 0, 2000}));
  CHECK_EQ(requestedOf(frames), (std::vector<double>{0, 999.5, 2500}));
  CHECK_EQ(keyframesOf(frames), (std::vector<bool>{true, true, true}));
  if (checkImages(frames, 320, 240)) {
    CHECK(frames[0].image == frames[1].image);
    CHECK(hasPicture(*frames[2].image));
  }
}

TEST("intra: a keyframe decodes to the same pixels as in normal mode") {
  const auto intra = extract(clip("h264.mp4"), pick({1000, 2000, 3500}, FrameType::Intra));
  const auto normal = extract(clip("h264.mp4"), pick({1000, 2000, 3000}, FrameType::Normal));
  CHECK_EQ(timesOf(intra), (std::vector<double>{1000, 2000, 3000}));
  CHECK_EQ(timesOf(normal), (std::vector<double>{1000, 2000, 3000}));
  if (checkImages(intra, 320, 240) && checkImages(normal, 320, 240) && intra.size() == 3 &&
      normal.size() == 3) {
    for (size_t i = 0; i < 3; ++i) {
      CHECK(intra[i].image->pixels == normal[i].image->pixels);
    }
  }
}

TEST("intra: past the end, the last keyframe unless stopAtEnd") {
  const auto frames = extract(clip("h264.mp4"), pick({3500, 4000, 10000}, FrameType::Intra));
  CHECK_EQ(timesOf(frames), (std::vector<double>{3000, 3000, 3000}));
  auto selection = pick({3500, 3999, 4000, 10000}, FrameType::Intra);
  selection.stopAtEnd = true;
  const auto stopped = extract(clip("h264.mp4"), selection);
  CHECK_EQ(timesOf(stopped), (std::vector<double>{3000, 3000}));
}

// ---- Output size --------------------------------------------------------

TEST("size: width only keeps the aspect ratio") {
  const auto frames = extract(clip("h264.mp4"), pick({0, 1010}, FrameType::Normal, 160, 0));
  CHECK_EQ(timesOf(frames), (std::vector<double>{0, 1040}));
  checkImages(frames, 160, 120);
}

TEST("size: height only keeps the aspect ratio") {
  const auto frames = extract(clip("h264.mp4"), pick({2000}, FrameType::Intra, 0, 60));
  CHECK_EQ(frames.size(), 1u);
  checkImages(frames, 80, 60);
}

TEST("size: width and height are taken as given") {
  const auto frames = extract(clip("h264.mp4"), pick({0}, FrameType::Normal, 100, 100));
  CHECK_EQ(frames.size(), 1u);
  checkImages(frames, 100, 100);
}

// ---- A reused FrameExtractor --------------------------------------------

TEST("reuse: a second call, for earlier times, answers as a fresh extractor") {
  const std::string path = clip("h264.mp4");
  FrameExtractor extractor(identifyFile(path, 0), Interruption());
  CHECK_EQ(extractor.durationMs(), 4000.0);
  CHECK_EQ(extractor.identity().path, path);
  CHECK(extractor.identity() == identifyFile(path, 0));

  const auto later = pick({1000, 2500, 3000, 3960}, FrameType::Normal);
  const auto earlier = pick({0, 500, 1010}, FrameType::Normal);
  const auto firstCall = extractor.extract(later, Interruption());
  const auto secondCall = extractor.extract(earlier, Interruption());
  CHECK_EQ(timesOf(firstCall), (std::vector<double>{1000, 2520, 3000, 3960}));
  CHECK_EQ(timesOf(secondCall), (std::vector<double>{0, 520, 1040}));
  checkSameFrames(firstCall, extract(path, later));
  checkSameFrames(secondCall, extract(path, earlier));

  // Later again (decodes on), then Intra, then Normal at another size.
  const auto onwards = pick({1500, 1520, 3100}, FrameType::Normal);
  checkSameFrames(extractor.extract(onwards, Interruption()), extract(path, onwards));
  const auto intra = pick({0, 999.5, 2500}, FrameType::Intra);
  checkSameFrames(extractor.extract(intra, Interruption()), extract(path, intra));
  const auto small = pick({40, 2000}, FrameType::Normal, 160, 0);
  const auto smallFrames = extractor.extract(small, Interruption());
  checkImages(smallFrames, 160, 120);
  checkSameFrames(smallFrames, extract(path, small));
}

TEST("reuse: MPEG-TS, later then earlier times") {
  const std::string path = clip("mpeg2.ts");
  FrameExtractor extractor(identifyFile(path, 0), Interruption());
  const auto later = pick({2000, 3000}, FrameType::Normal);
  const auto earlier = pick({0, 480, 1000}, FrameType::Normal);
  checkSameFrames(extractor.extract(later, Interruption()), extract(path, later));
  checkSameFrames(extractor.extract(earlier, Interruption()), extract(path, earlier));
}

// ---- MPEG-TS ------------------------------------------------------------

TEST("mpeg-ts: time 0 is the first frame") {
  const auto frames = extract(clip("mpeg2.ts"), pick({0}, FrameType::Normal));
  CHECK_EQ(timesOf(frames), (std::vector<double>{0}));
  CHECK_EQ(keyframesOf(frames), (std::vector<bool>{true}));
  checkImages(frames, 320, 240);
  const auto intra = extract(clip("mpeg2.ts"), pick({0}, FrameType::Intra));
  CHECK_EQ(timesOf(intra), (std::vector<double>{0}));
  checkSameFrames(intra, frames);
}

TEST("mpeg-ts: seeks land on the exact frame") {
  const auto frames = extract(clip("mpeg2.ts"), pick({1000, 2020, 3960}, FrameType::Normal));
  CHECK_EQ(timesOf(frames), (std::vector<double>{1000, 2040, 3960}));
  checkImages(frames, 320, 240);
  // The same frames reached by decoding on from the start.
  std::vector<double> all;
  for (int i = 0; i < 100; ++i) {
    all.push_back(i * 40.0);
  }
  const auto sequential = extract(clip("mpeg2.ts"), pick(all, FrameType::Normal));
  CHECK_EQ(sequential.size(), 100u);
  if (sequential.size() == 100 && frames.size() == 3) {
    CHECK(frames[0].image->pixels == sequential[25].image->pixels);
    CHECK(frames[1].image->pixels == sequential[51].image->pixels);
    CHECK(frames[2].image->pixels == sequential[99].image->pixels);
  }
}

TEST("mpeg-ts: intra mode finds the keyframe at or before each time") {
  // A GOP of 12 frames: keyframes every 480 ms.
  const auto frames = extract(clip("mpeg2.ts"), pick({0, 999.5, 2500, 3999}, FrameType::Intra));
  CHECK_EQ(timesOf(frames), (std::vector<double>{0, 960, 2400, 3840}));
  CHECK_EQ(keyframesOf(frames), (std::vector<bool>{true, true, true, true}));
  checkImages(frames, 320, 240);
}

TEST("times: past 1e12 ms are past the end, in both modes, for any finite time") {
  // The core takes any finite time (the binding holds requests to 1e12).
  for (const double far : {1e12, 2e12, 1e15, 1e300}) {
    const auto intra = extract(clip("h264.mp4"), pick({0, far}, FrameType::Intra));
    CHECK_EQ(timesOf(intra), (std::vector<double>{0, 3000}));
    CHECK_EQ(requestedOf(intra), (std::vector<double>{0, far}));
    CHECK_EQ(timesOf(extract(clip("h264.mp4"), pick({0, far}, FrameType::Normal))),
             (std::vector<double>{0}));
  }
}

// ---- Errors -------------------------------------------------------------

TEST("errors: a missing file is ResourceNotFound") {
  const std::string missing = clip("no-such-clip.mp4");
  EXPECT_FAILURE(ErrorCode::ResourceNotFound, probeFile(missing, Interruption()));
  EXPECT_FAILURE(ErrorCode::ResourceNotFound, extract(missing, pick({0}, FrameType::Normal)));
  EXPECT_FAILURE(ErrorCode::ResourceNotFound, identifyFile(missing, 0));
  // A path through a regular file (ENOTDIR).
  EXPECT_FAILURE(ErrorCode::ResourceNotFound,
                 extract(clip("h264.mp4") + "/frame.mp4", pick({0}, FrameType::Intra)));
}

TEST("errors: files that are not videos are ResourceContentBad") {
  for (const char* name : {"empty.mp4", "random.mp4", "notes.txt", "truncated.mp4"}) {
    const std::string path = badFile(name);
    std::fprintf(stderr, "    (%s)\n", name);
    EXPECT_FAILURE(ErrorCode::ResourceContentBad, probeFile(path, Interruption()));
    EXPECT_FAILURE(ErrorCode::ResourceContentBad, extract(path, pick({0}, FrameType::Normal)));
    EXPECT_FAILURE(ErrorCode::ResourceContentBad, extract(path, pick({0}, FrameType::Intra)));
  }
}

TEST("errors: a FIFO is InvalidParameter, without blocking on open") {
  const std::string path = badFile("pipe.mp4");
  unlink(path.c_str());
  if (!CHECK_EQ(mkfifo(path.c_str(), 0600), 0)) {
    return;
  }
  const std::vector<std::pair<const char*, std::function<void()>>> calls = {
      {"probeFile", [&] { probeFile(path, Interruption()); }},
      {"extractFrames", [&] { extract(path, pick({0}, FrameType::Normal)); }},
  };
  for (const auto& [name, call] : calls) {
    // Opening a FIFO for reading blocks until a writer comes, beyond the reach
    // of any deadline: should that happen, this thread plays the writer after
    // 2 s so that the suite reports the hang instead of hanging.
    std::atomic<bool> done{false};
    std::thread unblocker([&] {
      for (int i = 0; i < 200 && !done.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (!done.load()) {
        const int descriptor = open(path.c_str(), O_RDWR | O_NONBLOCK);
        if (descriptor >= 0) {
          close(descriptor);
        }
      }
    });
    const auto start = std::chrono::steady_clock::now();
    CHECK_EQ(failureOf(call), std::string("InvalidParameter: is not a regular file"));
    done = true;
    unblocker.join();
    if (!CHECK(millisecondsSince(start) < 1500)) {
      std::fprintf(stderr, "      %s blocked opening a FIFO\n", name);
    }
  }
  unlink(path.c_str());
}

TEST("errors: a folder, a long name and a link loop get a parameter or permission code") {
  const std::string folder = badFile("folder.mp4");
  CHECK_EQ(failureOf([&] { probeFile(folder, Interruption()); }),
           std::string("InvalidParameter: is a folder, not a file"));
  CHECK_EQ(failureOf([&] { extract(folder, pick({0}, FrameType::Normal)); }),
           std::string("InvalidParameter: is a folder, not a file"));
  const std::string longName = badFile(std::string(300, 'n') + ".mp4");
  CHECK_EQ(failureOf([&] { extract(longName, pick({0}, FrameType::Intra)); }),
           std::string("InvalidParameter: the name is too long"));
  CHECK_EQ(failureOf([&] { probeFile(longName, Interruption()); }),
           std::string("InvalidParameter: the name is too long"));
  const std::string loop = badFile("loop.mp4");
  unlink(loop.c_str());
  CHECK_EQ(symlink("loop.mp4", loop.c_str()), 0);
  CHECK_EQ(failureOf([&] { extract(loop, pick({0}, FrameType::Intra)); }),
           std::string("PermissionDenied.ResourceAccess: cannot open the file: Too many levels of "
                       "symbolic links"));
  unlink(loop.c_str());
  // No message names the path.
  CHECK_EQ(failureOf([&] { probeFile(clip("no-such-clip.mp4"), Interruption()); }),
           std::string("InvalidParameter.ResourceNotFound: cannot open the file: No such file or "
                       "directory"));
}

TEST("errors: one errno table for stat and FFmpeg") {
  const std::vector<std::pair<int, ErrorCode>> table = {
      {ENOENT, ErrorCode::ResourceNotFound},
      {ENOTDIR, ErrorCode::ResourceNotFound},
      {EACCES, ErrorCode::PermissionDenied},
      {EPERM, ErrorCode::PermissionDenied},
      {ELOOP, ErrorCode::PermissionDenied},
      {EROFS, ErrorCode::PermissionDenied},
      {ENAMETOOLONG, ErrorCode::InvalidParameter},
      {ENOMEM, ErrorCode::Internal},
      {EMFILE, ErrorCode::Internal},
      {ENFILE, ErrorCode::Internal},
      {ENOSPC, ErrorCode::Internal},
      {EINVAL, ErrorCode::ResourceContentBad},
      {EIO, ErrorCode::ResourceContentBad},
      {EOVERFLOW, ErrorCode::ResourceContentBad},
  };
  for (const auto& [error, code] : table) {
    CHECK_EQ(std::string(errorCodeName(errorCodeForErrno(error))),
             std::string(errorCodeName(code)));
    CHECK_EQ(std::string(errorCodeName(errorCodeForAvError(AVERROR(error)))),
             std::string(errorCodeName(code)));
  }
  // FFmpeg's own errors are about the content.
  for (const int averror :
       {AVERROR_INVALIDDATA, AVERROR_EOF, AVERROR_DECODER_NOT_FOUND, AVERROR_PATCHWELCOME}) {
    CHECK_EQ(std::string(errorCodeName(errorCodeForAvError(averror))),
             std::string("InvalidParameter.ResourceContentBad"));
  }
}

TEST("errors: messages carry no path, heap address or format list") {
  // FFmpeg's own line is quoted without its "@ 0x..." context address.
  const std::string truncated =
      failureOf([&] { probeFile(badFile("truncated.mp4"), Interruption()); });
  CHECK_EQ(truncated,
           std::string("InvalidParameter.ResourceContentBad: cannot open the file as a video: "
                       "Invalid data found when processing input ([mov,mp4,m4a,3gp,3g2,mj2] moov "
                       "atom not found)"));
  // A PNG is a picture format that is not on the list: the list is not quoted.
  const std::string png = failureOf([&] { probeFile(badFile("picture.png"), Interruption()); });
  CHECK(png.rfind("InvalidParameter.ResourceContentBad: cannot open the file as a video: ", 0) ==
        0);
  CHECK(png.find("whitelist") == std::string::npos);
  CHECK(png.find("matroska") == std::string::npos);
  CHECK(png.find("@ 0x") == std::string::npos);
  CHECK(png.find(clipsDir) == std::string::npos);
  CHECK(png.size() < 400);
}

TEST("errors: huge MP4 sample tables are ResourceContentBad, not InternalError") {
  const std::string tooLarge =
      "InvalidParameter.ResourceContentBad: cannot open the file as a video: its tables are too "
      "large ([mov,mp4,m4a,3gp,3g2,mj2] error reading header)";
  const std::string invalid =
      "InvalidParameter.ResourceContentBad: cannot open the file as a video: Invalid data found "
      "when processing input ([mov,mp4,m4a,3gp,3g2,mj2] error reading header)";
  for (const auto& [box, expected] : std::vector<std::pair<std::string, std::string>>{
           {"stco", tooLarge}, {"stts", tooLarge}, {"stsz", invalid}}) {
    std::string bytes = readFile(clip("h264.mp4"));
    const size_t at = bytes.find(box);
    if (!CHECK(at != std::string::npos)) {
      continue;
    }
    // The entry count (0x3ffffff0) after version and flags (stsz: and the sample size).
    const size_t count = at + 4 + 4 + (box == "stsz" ? 4 : 0);
    bytes.replace(count, 4, std::string("\x3f\xff\xff\xf0", 4));
    const std::string path = badFile("huge-" + box + ".mp4");
    writeFile(path, bytes);
#if LIBAVFORMAT_VERSION_MAJOR >= 61
    // Later FFmpeg (seen on 7.1 and 9.0) bounds the stco count by the box's
    // size and opens the file: then it must simply work.
    if (box == "stco") {
      CHECK_EQ(probeFile(path, Interruption()).width, 320);
      continue;
    }
#endif
    CHECK_EQ(failureOf([&] { extract(path, pick({0, 1000}, FrameType::Normal)); }), expected);
    CHECK_EQ(failureOf([&] { probeFile(path, Interruption()); }), expected);
  }
}

// ---- Limits -------------------------------------------------------------

TEST("limits: a 500:1 pasp box is ignored: square pixels, no giant picture") {
  std::string bytes = readFile(clip("vp9-1080p-sar2.mp4"));
  const size_t at = bytes.find("pasp");
  if (!CHECK(at != std::string::npos)) {
    return;
  }
  bytes.replace(at + 4, 8, std::string("\0\0\x01\xf4\0\0\0\x01", 8));  // 500:1
  const std::string path = badFile("pasp-500.mp4");
  writeFile(path, bytes);
  const ProbeResult probe = probeFile(path, Interruption());
  CHECK_EQ(probe.width, 1920);
  CHECK_EQ(probe.displayWidth, 1920);
  CHECK_EQ(probe.displayHeight, 1080);
  CHECK_EQ(probe.sampleAspectNum, 1);
  CHECK_EQ(probe.sampleAspectDen, 1);
  for (const FrameType type : {FrameType::Normal, FrameType::Intra}) {
    const auto frames = extract(path, pick({0, 120}, type));
    CHECK_EQ(frames.size(), 2u);
    checkImages(frames, 1920, 1080);
  }
  // The clip's own 2:1 stays: within 1:16 .. 16:1.
  const ProbeResult anamorphic = probeFile(clip("vp9-1080p-sar2.mp4"), Interruption());
  CHECK_EQ(anamorphic.displayWidth, 3840);
  CHECK_EQ(anamorphic.sampleAspectNum, 2);
  checkImages(extract(clip("vp9-1080p-sar2.mp4"), pick({0}, FrameType::Intra)), 3840, 1080);
}

TEST("limits: frames over limitInputPixels are refused before decoding") {
  FrameSelection selection = pick({0}, FrameType::Normal);
  selection.limits.inputPixels = 320 * 240 - 1;
  CHECK_EQ(failureOf([&] { extract(clip("h264.mp4"), selection); }),
           std::string("InvalidParameter.ResourceContentBad: the video's frames are 320x240 (76800 "
                       "pixels), over limitInputPixels (76799)"));
  PixelLimits tight;
  tight.inputPixels = 320 * 240 - 1;
  CHECK_EQ(failureOf([&] { probeFile(clip("h264.mp4"), Interruption(), tight); }),
           std::string("InvalidParameter.ResourceContentBad: the video's frames are 320x240 (76800 "
                       "pixels), over limitInputPixels (76799)"));
  selection.limits.inputPixels = 320 * 240;
  CHECK_EQ(extract(clip("h264.mp4"), selection).size(), 1u);
  tight.inputPixels = 320 * 240;
  CHECK_EQ(probeFile(clip("h264.mp4"), Interruption(), tight).width, 320);
  // A side over 16383 is refused whatever the pixel count.
  CHECK_EQ(failureOf([] { checkInputSize(16384, 2, PixelLimits()); }),
           std::string("InvalidParameter.ResourceContentBad: the video's frames are 16384x2, over "
                       "the largest side of 16383 pixels"));
}

TEST("limits: a 16000x16000 MJPEG is refused naming limitInputPixels") {
  const std::string path = badFile("16000.mjpeg");
  writeFile(path, withJpegSize(readFile(clip("raw.mjpeg")), 16000, 16000));
  const std::string expected =
      "InvalidParameter.ResourceContentBad: the video's frames are 16000x16000 (256000000 "
      "pixels), over limitInputPixels (67108864)";
  CHECK_EQ(failureOf([&] { extract(path, pick({0}, FrameType::Normal)); }), expected);
  CHECK_EQ(failureOf([&] { extract(path, pick({0}, FrameType::Intra)); }), expected);
  CHECK_EQ(failureOf([&] { probeFile(path, Interruption()); }), expected);
  // A frame that grows past the limit mid-stream: FFmpeg refuses it (max_pixels).
  const std::string small = readFile(clip("raw.mjpeg"));
  const std::string first = small.substr(0, small.find("\xff\xd9") + 2);
  std::string growing;
  for (int i = 0; i < 10; ++i) {
    growing += first;
  }
  growing += withJpegSize(small, 16000, 16000) + first;
  writeFile(badFile("growing.mjpeg"), growing);
  CHECK_EQ(timesOf(extract(badFile("growing.mjpeg"), pick({0, 360}, FrameType::Normal))),
           (std::vector<double>{0, 360}));
  CHECK_EQ(failureOf([&] {
             extract(badFile("growing.mjpeg"), pick({0, 400}, FrameType::Normal));
           }),
           std::string("InvalidParameter.ResourceContentBad: a frame of the video is 16000x16000, "
                       "over limitInputPixels (67108864)"));
  // In Matroska, whose header states the size: refused at open, before decoding.
  const std::string mkv = readFile(clip("mjpeg.mkv"));
  const size_t widthAt = mkv.find(std::string("\xb0\x82\x01\x40", 4));  // PixelWidth 320
  if (!CHECK(widthAt != std::string::npos)) {
    return;
  }
  std::string wide = mkv;
  wide.replace(widthAt + 2, 2, "\x3e\x80");  // 16000x240
  writeFile(badFile("16000x240.mkv"), wide);
  FrameSelection selection = pick({0}, FrameType::Normal);
  selection.limits.inputPixels = 1000000;
  const std::string overLimit =
      "InvalidParameter.ResourceContentBad: the video's frames are 16000x240 (3840000 pixels), "
      "over limitInputPixels (1000000)";
  CHECK_EQ(failureOf([&] { extract(badFile("16000x240.mkv"), selection); }), overLimit);
  selection.frameType = FrameType::Intra;
  CHECK_EQ(failureOf([&] { extract(badFile("16000x240.mkv"), selection); }), overLimit);
  // probe() decodes no such picture: it reports the size of the frames it decoded.
  CHECK_EQ(probeFile(badFile("16000x240.mkv"), Interruption()).width, 320);
  wide.replace(widthAt + 2, 2, "\x4e\x20");  // 20000x240
  writeFile(badFile("20000x240.mkv"), wide);
  CHECK_EQ(failureOf([&] { extract(badFile("20000x240.mkv"), pick({0}, FrameType::Intra)); }),
           std::string("InvalidParameter.ResourceContentBad: the video's frames are 20000x240, "
                       "over the largest side of 16383 pixels"));
}

TEST("limits: an output over limitOutputPixels or 16383 a side is OutOfRange") {
  CHECK_EQ(failureOf([&] { extract(clip("h264.mp4"), pick({0}, FrameType::Normal, 16000)); }),
           std::string("InvalidParameter.OutOfRange: the requested image would be 16000x12000 "
                       "(192000000 pixels), over limitOutputPixels (67108864)"));
  CHECK_EQ(failureOf([&] { extract(clip("h264.mp4"), pick({0}, FrameType::Intra, 10, 16384)); }),
           std::string("InvalidParameter.OutOfRange: the requested image would be 10x16384, over "
                       "the largest side of 16383 pixels"));
  FrameSelection small = pick({0}, FrameType::Normal);
  small.limits.outputPixels = 1000;
  CHECK_EQ(failureOf([&] { extract(clip("h264.mp4"), small); }),
           std::string("InvalidParameter.ResourceContentBad: the video's pictures display at "
                       "320x240 (76800 pixels), over limitOutputPixels (1000)"));
  small.width = 20;  // 20x15
  checkImages(extract(clip("h264.mp4"), small), 20, 15);
}

TEST("limits: display size follows the SAR rule") {
  CHECK_EQ(displaySize(1920, 1080, AVRational{500, 1}, 0).width, 1920);
  CHECK_EQ(displaySize(1920, 1080, AVRational{16, 1}, 0).width, 30720);
  CHECK_EQ(displaySize(1920, 1080, AVRational{17, 1}, 0).width, 1920);
  CHECK_EQ(displaySize(1920, 1080, AVRational{1, 16}, 0).width, 120);
  CHECK_EQ(displaySize(1920, 1080, AVRational{1, 17}, 0).width, 1920);
  CHECK_EQ(displaySize(1920, 1080, AVRational{0, 1}, 90).width, 1080);
  CHECK_EQ(displaySize(1920, 1080, AVRational{-2, 1}, 90).height, 1920);
}

// ---- Containers and elementary streams ------------------------------------

TEST("matroska: times count from a start at 10 s") {
  const std::string mkv = clip("h264-at-10s.mkv");
  CHECK_EQ(probeFile(mkv, Interruption()).startTimeMs, 10000.0);
  const auto selection = pick({0, 1000, 2000, 3000, 3960}, FrameType::Normal);
  const auto frames = extract(mkv, selection);
  checkSameFrames(frames, extract(clip("h264.mp4"), selection));
  CHECK(frames.size() == 5 && frames[1].image->pixels != frames[0].image->pixels);
  // Past the last frame (3960 ms): no frame.
  CHECK_EQ(extract(mkv, pick({3961}, FrameType::Normal)).size(), 0u);
  CHECK_EQ(extract(mkv, pick({3000, 5000}, FrameType::Normal)).size(), 1u);
  const auto intra = pick({0, 1500, 3999}, FrameType::Intra);
  checkSameFrames(extract(mkv, intra), extract(clip("h264.mp4"), intra));
}

TEST("elementary streams: H.264, HEVC and MPEG-2 give the container's frames") {
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"raw.h264", "h264.mp4"}, {"raw.hevc", "hevc.mkv"}, {"raw.m2v", "mpeg2.ts"}};
  for (const auto& [raw, contained] : pairs) {
    std::fprintf(stderr, "    (%s)\n", raw.c_str());
    const auto normal = pick({0, 40, 1000, 1010, 2520, 3960}, FrameType::Normal);
    const auto frames = extract(clip(raw), normal);
    checkSameFrames(frames, extract(clip(contained), normal));
    CHECK_EQ(extract(clip(raw), pick({3961}, FrameType::Normal)).size(), 0u);
    // Earlier times after later ones: back to the start.
    FrameExtractor extractor(identifyFile(clip(raw), 0), Interruption());
    extractor.extract(pick({3000}, FrameType::Normal), Interruption());
    checkSameFrames(extractor.extract(pick({40, 1010}, FrameType::Normal), Interruption()),
                    extract(clip(contained), pick({40, 1010}, FrameType::Normal)));
    const auto intra = pick({0, 500, 1000, 2999, 9000}, FrameType::Intra);
    checkSameFrames(extract(clip(raw), intra), extract(clip(contained), intra));
  }
}

TEST("elementary streams: a raw MJPEG file opens") {
  const ProbeResult probe = probeFile(clip("raw.mjpeg"), Interruption());
  CHECK_EQ(probe.codecName, std::string("mjpeg"));
  CHECK_EQ(probe.width, 320);
  const auto frames = extract(clip("raw.mjpeg"), pick({0, 1000, 1960}, FrameType::Normal));
  CHECK_EQ(timesOf(frames), (std::vector<double>{0, 1000, 1960}));
  checkImages(frames, 320, 240);
  CHECK(frames.size() == 3 && hasPicture(*frames[2].image) &&
        frames[2].image->pixels != frames[0].image->pixels);
}

// ---- Streams ----------------------------------------------------------------

TEST("streams: only the chosen stream is probed (a 64-stream MPEG-TS)") {
  // Each probed H.264 stream would cost a decoder; the answer must not
  // depend on the other streams either.
  const ProbeResult probe = probeFile(clip("streams-64.ts"), Interruption());
  CHECK_EQ(probe.width, 64);
  CHECK_EQ(probe.codecName, std::string("h264"));
  const auto frames = extract(clip("streams-64.ts"), pick({0, 1000}, FrameType::Normal));
  CHECK_EQ(timesOf(frames), (std::vector<double>{0, 1000}));
}

// ---- Fuzzer findings ----------------------------------------------------------

TEST("fuzz regressions: every input fails cleanly or gives frames at sane times") {
  DIR* folder = opendir(FRAMESNAP_FUZZ_REGRESSIONS);
  if (folder == nullptr) {
    std::fprintf(stderr, "    (no %s)\n", FRAMESNAP_FUZZ_REGRESSIONS);
    return;
  }
  std::vector<std::string> inputs;
  while (const dirent* entry = readdir(folder)) {
    const std::string name = entry->d_name;
    if (name != "." && name != ".." && name != "README.md") {
      inputs.push_back(std::string(FRAMESNAP_FUZZ_REGRESSIONS) + "/" + name);
    }
  }
  closedir(folder);
  for (const std::string& input : inputs) {
    std::fprintf(stderr, "    (%s)\n", input.substr(input.rfind('/') + 1).c_str());
    for (const FrameType type : {FrameType::Intra, FrameType::Normal}) {
      try {
        for (const ExtractedFrame& frame : extract(input, pick({0, 1000, 5000}, type))) {
          CHECK(frame.timeMs > -1e9 && frame.timeMs < 1e9);
        }
      } catch (const SnapshotFailure& failure) {
        CHECK(failure.code() == ErrorCode::ResourceContentBad);
      }
    }
  }
}

// ---- Test hooks -------------------------------------------------------------

TEST("crash hook: FRAMESNAP_TEST_CRASH_SUFFIX crashes the core on a matching path") {
  std::fprintf(stderr, "    (a crash report of the child below, if any, is expected)\n");
  std::fflush(stderr);
  const pid_t child = fork();
  if (child == 0) {
    setenv("FRAMESNAP_TEST_CRASH_SUFFIX", ".crash-me.mp4", 1);
    try {
      probeFile(clip("h264.mp4"), Interruption());  // no match: no crash
      probeFile(badFile("x.crash-me.mp4"), Interruption());
    } catch (...) {
    }
    _exit(0);
  }
  int status = 0;
  CHECK_EQ(waitpid(child, &status, 0), child);
  // A SIGSEGV (AddressSanitizer reports it and exits non-zero instead).
  CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) ||
        (WIFEXITED(status) && WEXITSTATUS(status) != 0));
  // Unset, nothing happens.
  EXPECT_FAILURE(ErrorCode::ResourceNotFound, probeFile(badFile("x.crash-me.mp4"), Interruption()));
}

// ---- Interruption -------------------------------------------------------

TEST("interruption: an abort flag already set is Aborted") {
  const int32_t flag = 1;
  const Interruption aborted(&flag, nullptr, 0);
  EXPECT_FAILURE(ErrorCode::Aborted,
                 extract(clip("h264.mp4"), pick({0, 1000}, FrameType::Normal), aborted));
  EXPECT_FAILURE(ErrorCode::Aborted,
                 extract(clip("h264.mp4"), pick({0}, FrameType::Intra), aborted));
  EXPECT_FAILURE(ErrorCode::Aborted, probeFile(clip("h264.mp4"), aborted));
  // The flag of an open extractor's next call.
  FrameExtractor extractor(identifyFile(clip("h264.mp4"), 0), Interruption());
  EXPECT_FAILURE(ErrorCode::Aborted, extractor.extract(pick({0}, FrameType::Normal), aborted));
  // A flag at zero does nothing.
  const int32_t clear = 0;
  CHECK_EQ(extract(clip("h264.mp4"), pick({0}, FrameType::Normal), Interruption(&clear, nullptr, 0))
               .size(),
           1u);
}

// What the binding's EnvironmentTeardown is to the core: a stop that may be
// raised from any thread.
class TestEnvironmentStop : public EnvironmentStop {
 public:
  explicit TestEnvironmentStop(bool stopping) : stopping_(stopping) {}
  bool requested() const override { return stopping_.load(std::memory_order_acquire); }
  void raise() { stopping_.store(true, std::memory_order_release); }

 private:
  std::atomic<bool> stopping_;
};

TEST("interruption: a stopping environment is Aborted") {
  const Interruption interruption(nullptr, std::make_shared<TestEnvironmentStop>(true), 0);
  EXPECT_FAILURE(ErrorCode::Aborted,
                 extract(clip("h264.mp4"), pick({0}, FrameType::Normal), interruption));
  EXPECT_FAILURE(ErrorCode::Aborted, probeFile(clip("h264.mp4"), interruption));
  const Interruption running(nullptr, std::make_shared<TestEnvironmentStop>(false), 0);
  CHECK_EQ(timesOf(extract(clip("h264.mp4"), pick({0}, FrameType::Normal), running)),
           (std::vector<double>{0}));
}

TEST("interruption: an environment stopping from another thread stops a long decode") {
  auto stop = std::make_shared<TestEnvironmentStop>(false);
  const Interruption interruption(nullptr, stop, 0);
  std::thread stopper([stop] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop->raise();
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FAILURE(ErrorCode::Aborted,
                 extract(clip("long-360p.mp4"), everyFrameOfLongClip(), interruption));
  stopper.join();
  std::fprintf(stderr, "    (stopped after %.0f ms)\n", millisecondsSince(start));
}

TEST("interruption: a tiny timeout is TimedOut") {
  const Interruption interruption(nullptr, nullptr, 0.001);
  EXPECT_FAILURE(ErrorCode::TimedOut,
                 extract(clip("long-360p.mp4"), everyFrameOfLongClip(), interruption));
  EXPECT_FAILURE(ErrorCode::TimedOut, probeFile(clip("long-360p.mp4"), interruption));
}

TEST("interruption: a long deadline does not fire") {
  // 24 h, the most the JavaScript API accepts.
  const Interruption interruption(nullptr, nullptr, 24 * 3600 * 1000.0);
  CHECK_EQ(timesOf(extract(clip("h264.mp4"), pick({0, 1010}, FrameType::Normal), interruption)),
           (std::vector<double>{0, 1040}));
  CHECK_EQ(probeFile(clip("h264.mp4"), interruption).durationMs, 4000.0);
}

TEST("interruption: a deadline in the middle of a long decode is TimedOut") {
  const auto start = std::chrono::steady_clock::now();
  const Interruption interruption(nullptr, nullptr, 150);
  EXPECT_FAILURE(ErrorCode::TimedOut,
                 extract(clip("long-360p.mp4"), everyFrameOfLongClip(), interruption));
  std::fprintf(stderr, "    (stopped after %.0f ms)\n", millisecondsSince(start));
  CHECK(millisecondsSince(start) >= 150);
}

TEST("interruption: a deadline inside the conversion of a huge picture is TimedOut") {
  // One keyframe scaled to 8192x8192: about a second of swscale, checked between slices.
  const auto start = std::chrono::steady_clock::now();
  const Interruption interruption(nullptr, nullptr, 150);
  EXPECT_FAILURE(ErrorCode::TimedOut,
                 extract(clip("h264.mp4"), pick({0}, FrameType::Intra, 8192, 8192), interruption));
  std::fprintf(stderr, "    (stopped after %.0f ms)\n", millisecondsSince(start));
  // The converter starts afresh after the interruption.
  FrameExtractor extractor(identifyFile(clip("h264.mp4"), 0), Interruption());
  EXPECT_FAILURE(ErrorCode::TimedOut, extractor.extract(pick({0}, FrameType::Normal, 4096, 4096),
                                                        Interruption(nullptr, nullptr, 30)));
  const auto small = extractor.extract(pick({0}, FrameType::Normal, 64, 48), Interruption());
  checkSameFrames(small, extract(clip("h264.mp4"), pick({0}, FrameType::Normal, 64, 48)));
}

TEST("interruption: an abort from another thread stops a long decode") {
  int32_t flag = 0;
  const Interruption interruption(&flag, nullptr, 0);
  std::thread aborter([&flag] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    __atomic_store_n(&flag, 1, __ATOMIC_RELEASE);
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FAILURE(ErrorCode::Aborted,
                 extract(clip("long-360p.mp4"), everyFrameOfLongClip(), interruption));
  aborter.join();
  std::fprintf(stderr, "    (stopped after %.0f ms)\n", millisecondsSince(start));
}

TEST("interruption: an extractor can be destroyed after a timeout mid-decode") {
  FrameExtractor extractor(identifyFile(clip("long-360p.mp4"), 0), Interruption());
  const auto first = extractor.extract(pick({0, 520}, FrameType::Normal), Interruption());
  CHECK_EQ(timesOf(first), (std::vector<double>{0, 520}));
  EXPECT_FAILURE(ErrorCode::TimedOut,
                 extractor.extract(everyFrameOfLongClip(), Interruption(nullptr, nullptr, 100)));
}

// ---- Threads ------------------------------------------------------------

TEST("threads: concurrent calls on separate files give the same answers") {
  const auto selection = pick({0, 500, 1010, 3960}, FrameType::Normal);
  const auto expected = extract(clip("h264.mp4"), selection);
  std::vector<std::vector<ExtractedFrame>> results(4);
  std::vector<std::string> errors(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        results[i] =
            extract(i % 2 == 0 ? clip("h264.mp4") : clip("mpeg2.ts"), selection, Interruption(), 1);
      } catch (const std::exception& error) {
        errors[i] = error.what();
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  const auto expectedTs = extract(clip("mpeg2.ts"), selection, Interruption(), 1);
  for (size_t i = 0; i < results.size(); ++i) {
    CHECK_EQ(errors[i], "");
    checkSameFrames(results[i], i % 2 == 0 ? expected : expectedTs);
  }
}

int main(int argc, char** argv) {
  const char* fromEnvironment = std::getenv("FRAMESNAP_TEST_CLIPS");
  if (argc > 1) {
    clipsDir = argv[1];
  } else if (fromEnvironment != nullptr) {
    clipsDir = fromEnvironment;
  } else {
    std::fprintf(stderr,
                 "usage: %s CLIPS_DIR [NAME_FILTER] (or set FRAMESNAP_TEST_CLIPS)\n"
                 "scripts/native-tests.sh makes the clips and runs this\n",
                 argv[0]);
    return 2;
  }
  for (const char* name :
       {"h264.mp4", "mpeg2.ts", "long-360p.mp4", "vp9-1080p-sar2.mp4", "h264-at-10s.mkv",
        "raw.h264", "raw.m2v", "hevc.mkv", "raw.hevc", "raw.mjpeg", "mjpeg.mkv", "streams-64.ts"}) {
    struct stat status {};
    if (stat(clip(name).c_str(), &status) != 0) {
      std::fprintf(stderr, "missing clip %s: run scripts/native-tests.sh\n", clip(name).c_str());
      return 2;
    }
  }
  writeBadFiles();
  // As the addon does: FFmpeg's log goes to a per-thread buffer that error
  // messages quote, not to stderr.
  installFfmpegLogCapture();
  const int failed = framesnap::testing::runAllTests(argc > 2 ? argv[2] : "");
  return failed == 0 ? 0 : 1;
}

// ---- FFmpeg versions ------------------------------------------------------

#if LIBAVFORMAT_VERSION_MAJOR < 61
TEST("compat: the list of demuxers that seek by generic search matches their read_seek fields") {
  // FFmpeg 7.0 made the fields private, so ffmpeg_compat.h keeps a list;
  // here, where the fields are public, every whitelisted demuxer agrees with it.
  const std::string whitelist = videoFormatWhitelist();
  int checked = 0;
  for (size_t start = 0; start < whitelist.size();) {
    const size_t comma = std::min(whitelist.find(',', start), whitelist.size());
    const std::string name = whitelist.substr(start, comma - start);
    start = comma + 1;
    const AVInputFormat* format = av_find_input_format(name.c_str());
    if (format == nullptr) {
      continue;
    }
    ++checked;
    if (!CHECK(compat::seeksByGenericSearch(format) ==
               compat::seeksByGenericSearchFromFields(format))) {
      std::fprintf(stderr, "  demuxer %s\n", format->name);
    }
  }
  CHECK(checked >= 20);
}
#endif

// ---- Remote reads (issue 12) ------------------------------------------------
// A real nginx, started by the test as its own process on a free loopback
// port, serves the clips with byte ranges; its access log tells what each
// read cost. A few locations stand in for misbehaving servers.

namespace {

int freeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("cannot find a free port");
  }
  close(fd);
  return ntohs(address.sin_port);
}

bool acceptsConnections(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return ok;
}

struct AccessLogEntry {
  int status = 0;
  int64_t bytesSent = 0;
  long connection = 0;
  std::string range;
  std::string uri;
};

class NginxServer {
 public:
  NginxServer() {
    char folder[] = "/tmp/framesnap-nginx-XXXXXX";
    if (mkdtemp(folder) == nullptr) {
      throw std::runtime_error("cannot make a folder for nginx");
    }
    dir_ = folder;
    port_ = freeLoopbackPort();
    httpsPort_ = freeLoopbackPort();
    const std::string clips = std::filesystem::absolute(clipsDir).string();
    // A throwaway self-signed certificate for 127.0.0.1 and localhost.
    const std::string openssl =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " +
        dir_ + "/key.pem -out " + dir_ +
        "/cert.pem -days 1 -subj /CN=127.0.0.1 "
        "-addext subjectAltName=IP:127.0.0.1,DNS:localhost >/dev/null 2>&1";
    if (std::system(openssl.c_str()) != 0) {
      throw std::runtime_error("openssl could not make a test certificate");
    }
    std::ofstream config(dir_ + "/nginx.conf");
    config << (geteuid() == 0 ? "user root;\n" : "") << "worker_processes 1;\n"
           << "pid " << dir_ << "/nginx.pid;\n"
           << "error_log " << dir_ << "/error.log warn;\n"
           << "events { worker_connections 64; }\n"
           << "http {\n"
           << "  log_format fs '$status $body_bytes_sent $connection \"$http_range\" $uri';\n"
           << "  access_log " << dir_ << "/access.log fs;\n"
           << "  client_body_temp_path " << dir_ << "/client_body;\n"
           << "  proxy_temp_path " << dir_ << "/proxy;\n"
           << "  fastcgi_temp_path " << dir_ << "/fastcgi;\n"
           << "  uwsgi_temp_path " << dir_ << "/uwsgi;\n"
           << "  scgi_temp_path " << dir_ << "/scgi;\n"
           << "  server {\n"
           << "    listen 127.0.0.1:" << port_ << ";\n"
           << "    listen 127.0.0.1:" << httpsPort_ << " ssl;\n"
           << "    ssl_certificate " << dir_ << "/cert.pem;\n"
           << "    ssl_certificate_key " << dir_ << "/key.pem;\n"
           << "    root " << clips << ";\n"
           << "    location /no-ranges/ { alias " << clips << "/; max_ranges 0; }\n"
           << "    location = /moved.mp4 { return 302 /h264.mp4; }\n"
           // Redirects: a chain with a relative Location, a loop, and hops
           // to places a reader must not go.
           << "    location = /chain.ts { return 302 /sub/relative.ts; }\n"
           << "    location = /sub/relative.ts { return 302 ../mpeg2.ts; }\n"
           << "    location = /loop.mp4 { return 302 /loop.mp4; }\n"
           << "    location = /to-metadata.mp4 { return 302 http://169.254.169.254/latest/; }\n"
           << "    location = /to-localhost.mp4 { return 302 http://localhost:" << port_
           << "/h264.mp4; }\n"
           << "    location = /to-http.mp4 { return 302 http://127.0.0.1:" << port_
           << "/h264.mp4; }\n"
           << "    location = /to-https.mp4 { return 302 https://localhost:" << httpsPort_
           << "/h264.mp4; }\n"
           << "    location = /to-file.mp4 { return 302 file:///etc/passwd; }\n"
           << "    location = /to-userinfo.mp4 { return 302 http://user:secret@127.0.0.1:" << port_
           << "/h264.mp4; }\n"
           // The first block is served, any later range redirected.
           << "    location = /redirect-later.mp4 {\n"
           << "      if ($http_range !~ \"^bytes=0-\") { return 302 /long-360p.mp4; }\n"
           << "      rewrite ^ /long-360p.mp4 break;\n"
           << "    }\n"
           << "    location = /forbidden.mp4 { return 403; }\n"
           << "    location = /failing.mp4 { return 503; }\n"
           << "  }\n"
           << "}\n";
    config.close();
    pid_ = fork();
    if (pid_ == 0) {
      // Stopped with the suite even when it dies without its destructors (an
      // ASan report aborts).
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      const std::string configPath = dir_ + "/nginx.conf";
      execlp("nginx", "nginx", "-p", dir_.c_str(), "-c", configPath.c_str(), "-e",
             (dir_ + "/error.log").c_str(), "-g", "daemon off;", static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 500 && !acceptsConnections(port_); ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("nginx did not start (is it installed, and on PATH?); see " +
                                 dir_ + "/error.log");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~NginxServer() {
    // A forked test child that exits normally must not stop its parent's server.
    if (pid_ > 0 && getpid() == owner_) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  NginxServer(const NginxServer&) = delete;
  NginxServer& operator=(const NginxServer&) = delete;

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::string httpsUrl(const std::string& host, const std::string& path) const {
    return "https://" + host + ":" + std::to_string(httpsPort_) + path;
  }
  // The certificate to trust for httpsUrl.
  std::string caFile() const { return dir_ + "/cert.pem"; }
  // Every request answered before the call. nginx logs a request after
  // answering it, so a marker request is made and waited for first.
  std::vector<AccessLogEntry> accessLog() const {
    const std::string marker = "/log-marker-" + std::to_string(++markers_);
    get(marker);
    for (int i = 0; i < 500; ++i) {
      std::vector<AccessLogEntry> entries = readLog();
      const auto found = std::find_if(entries.begin(), entries.end(),
                                      [&](const AccessLogEntry& e) { return e.uri == marker; });
      if (found != entries.end()) {
        // The markers are the test's own requests, not the reader's.
        entries.erase(std::remove_if(entries.begin(), entries.end(),
                                     [](const AccessLogEntry& e) {
                                       return e.uri.rfind("/log-marker-", 0) == 0;
                                     }),
                      entries.end());
        return entries;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    throw std::runtime_error("nginx did not log the marker request");
  }

 private:
  // A plain GET, its answer read to the end and dropped.
  void get(const std::string& path) const {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port_));
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
      const std::string request = "GET " + path + " HTTP/1.0\r\n\r\n";
      if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
        char buffer[4096];
        while (read(fd, buffer, sizeof buffer) > 0) {
        }
      }
    }
    close(fd);
  }
  std::vector<AccessLogEntry> readLog() const {
    std::vector<AccessLogEntry> entries;
    std::ifstream log(dir_ + "/access.log");
    std::string line;
    while (std::getline(log, line)) {
      AccessLogEntry entry;
      long long bytes = 0;
      char range[128] = {};
      char uri[512] = {};
      if (std::sscanf(line.c_str(), "%d %lld %ld \"%127[^\"]\" %511s", &entry.status, &bytes,
                      &entry.connection, range, uri) == 5 ||
          std::sscanf(line.c_str(), "%d %lld %ld \"\" %511s", &entry.status, &bytes,
                      &entry.connection, uri) == 4) {
        entry.bytesSent = bytes;
        entry.range = range;
        entry.uri = uri;
        entries.push_back(entry);
      }
    }
    return entries;
  }

  std::string dir_;
  mutable int markers_ = 0;
  int port_ = 0;
  int httpsPort_ = 0;
  pid_t pid_ = -1;
  pid_t owner_ = getpid();
};

NginxServer& nginx() {
  static NginxServer server;
  return server;
}

RemoteOptions loopbackOptions() {
  RemoteOptions options;
  options.allowPrivateNetwork = true;
  options.retryBackoffMs = 10;
  return options;
}

int64_t fileSize(const std::string& path) {
  struct stat status {};
  stat(path.c_str(), &status);
  return static_cast<int64_t>(status.st_size);
}

struct OverHttp {
  std::vector<ExtractedFrame> frames;
  std::vector<AccessLogEntry> requests;  // what nginx logged meanwhile
};

// Extracts `selection` from `urlPath` on nginx, checks the frames against
// those of the clip `clipName` read as a file, and returns them with the
// requests it took.
OverHttp extractOverHttp(const std::string& urlPath, const std::string& clipName,
                         const FrameSelection& selection,
                         const RemoteOptions& options = loopbackOptions()) {
  const size_t before = nginx().accessLog().size();
  FrameExtractor extractor(identifyUrl(nginx().url(urlPath), options, 0), Interruption());
  OverHttp run;
  run.frames = extractor.extract(selection, Interruption());
  checkSameFrames(run.frames, extract(clip(clipName), selection));
  const std::vector<AccessLogEntry> log = nginx().accessLog();
  run.requests.assign(log.begin() + static_cast<std::ptrdiff_t>(before), log.end());
  return run;
}

}  // namespace

TEST("remote: the address check refuses loopback, private, link-local and unique-local") {
  for (const char* refused :
       {"127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1",
        "169.254.169.254", "0.0.0.0", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1",
        "::ffff:127.0.0.1", "::ffff:169.254.169.254", "not-an-address"}) {
    if (!CHECK(isRefusedAddress(refused))) {
      std::fprintf(stderr, "      allowed %s\n", refused);
    }
  }
  for (const char* allowed :
       {"8.8.8.8", "172.15.255.255", "172.32.0.1", "192.169.0.1", "2001:4860:4860::8888"}) {
    if (!CHECK(!isRefusedAddress(allowed))) {
      std::fprintf(stderr, "      refused %s\n", allowed);
    }
  }
}

TEST("remote: a private address is refused without allowPrivateNetwork, before any request") {
  const size_t before = nginx().accessLog().size();
  for (const std::string& url :
       {nginx().url("/h264.mp4"), std::string("http://localhost:1/x.mp4"),
        std::string("http://[::1]:1/x.mp4"), std::string("http://169.254.169.254/latest")}) {
    CHECK_EQ(failureOf([&] { probeUrl(url, RemoteOptions(), Interruption()); }),
             std::string("PermissionDenied.ResourceAccess: the URL's host is on a loopback, "
                         "private or link-local network, which is refused unless "
                         "allowPrivateNetwork is set"));
  }
  CHECK_EQ(nginx().accessLog().size(), before);
}

TEST("remote: only http and https URLs") {
  for (const char* url : {"ftp://127.0.0.1/h264.mp4", "file:///etc/passwd", "h264.mp4"}) {
    EXPECT_FAILURE(ErrorCode::InvalidParameter, probeUrl(url, loopbackOptions(), Interruption()));
  }
}

TEST("remote: a probe over HTTP equals the file's") {
  const ProbeResult local = probeFile(clip("h264.mp4"), Interruption());
  const ProbeResult remote = probeUrl(nginx().url("/h264.mp4"), loopbackOptions(), Interruption());
  CHECK_EQ(remote.formatName, local.formatName);
  CHECK_EQ(remote.codecName, local.codecName);
  CHECK_EQ(remote.pixelFormat, local.pixelFormat);
  CHECK_EQ(remote.durationMs, local.durationMs);
  CHECK_EQ(remote.startTimeMs, local.startTimeMs);
  CHECK_EQ(remote.width, local.width);
  CHECK_EQ(remote.height, local.height);
  CHECK_EQ(remote.frameRate, local.frameRate);
  CHECK_EQ(remote.keyframeCount, local.keyframeCount);
  CHECK_EQ(remote.width, 320);
}

TEST("remote: exact frames over HTTP equal the file's, on one connection") {
  const std::vector<AccessLogEntry> log =
      extractOverHttp("/mpeg2.ts", "mpeg2.ts", pick({0, 1500, 2040, 3960}, FrameType::Normal))
          .requests;
  if (CHECK(log.size() > 1)) {
    for (const AccessLogEntry& request : log) {
      CHECK_EQ(request.status, 206);
      CHECK_EQ(request.connection, log[0].connection);
      CHECK(request.bytesSent <= 512 * 1024);
    }
  }
}

TEST("remote: a late exact snapshot reads a small part of the file") {
  const std::string name = "long-360p.mp4";
  const std::vector<AccessLogEntry> log =
      extractOverHttp("/" + name, name, pick({35000}, FrameType::Normal)).requests;
  int64_t sent = 0;
  for (const AccessLogEntry& request : log) {
    sent += request.bytesSent;
  }
  std::fprintf(stderr, "    (%lld of %lld bytes sent)\n", static_cast<long long>(sent),
               static_cast<long long>(fileSize(clip(name))));
  // Bounded ranges: about 2.7 MB of 9 MB here (the keyframe at 30 s is 2.2
  // MB before the end; the moov is at the end): the open, the moov, one
  // block at the keyframe, then 1 and 2 blocks read ahead up to the end of
  // the frame's packets (from the index): one request fewer than block by
  // block, not a byte more (2723314 bytes either way).
  CHECK(sent < 3 * 1024 * 1024);
  CHECK_EQ(log.size(), size_t{5});
  for (const AccessLogEntry& request : log) {
    long long first = 0;
    long long last = -1;
    CHECK(std::sscanf(request.range.c_str(), "bytes=%lld-%lld", &first, &last) == 2);
    CHECK(last - first + 1 <= 4 * 512 * 1024);
  }
}

TEST("remote: a keyframe snapshot reads the keyframe's packet, not the rest of its GOP") {
  // long-360p.mp4: a keyframe every 10 s, the moov at the end. The keyframe at
  // 30 s is its first packet there; what follows it up to 39.9 s (about 2 MB
  // of the GOP) is never read: the index says no later keyframe is a
  // candidate. Before: the GOP's packets were read up to 39.9 s.
  const std::string name = "long-360p.mp4";
  const OverHttp run = extractOverHttp("/" + name, name, pick({39900}, FrameType::Intra));
  CHECK_EQ(run.frames.at(0).timeMs, 30000.0);
  // The open (the first block and the moov's) and the block of the keyframe.
  CHECK_EQ(run.requests.size(), size_t{3});
  int64_t sent = 0;
  for (const AccessLogEntry& request : run.requests) {
    sent += request.bytesSent;
  }
  CHECK(sent <= 3 * 512 * 1024);
}

TEST("remote: https verifies the certificate: trusted with caFile, refused without") {
  RemoteOptions trusting = loopbackOptions();
  trusting.caFile = nginx().caFile();
  const ProbeResult local = probeFile(clip("h264.mp4"), Interruption());
  for (const char* host : {"127.0.0.1", "localhost"}) {
    const ProbeResult remote =
        probeUrl(nginx().httpsUrl(host, "/h264.mp4"), trusting, Interruption());
    CHECK_EQ(remote.durationMs, local.durationMs);
    CHECK_EQ(remote.keyframeCount, local.keyframeCount);
  }
  CHECK_EQ(failureOf([&] {
             probeUrl(nginx().httpsUrl("127.0.0.1", "/h264.mp4"), loopbackOptions(),
                      Interruption());
           }),
           std::string("PermissionDenied.ResourceAccess: the server's TLS certificate is not "
                       "trusted or its TLS connection failed: SSL peer certificate or SSH remote "
                       "key was not OK"));
}

TEST("remote: 404, 403 and a failing server get their codes") {
  const RemoteOptions options = loopbackOptions();
  CHECK_EQ(
      failureOf([&] { probeUrl(nginx().url("/missing.mp4"), options, Interruption()); }),
      std::string("InvalidParameter.ResourceNotFound: the server has no such file (HTTP 404)"));
  CHECK_EQ(failureOf([&] { probeUrl(nginx().url("/forbidden.mp4"), options, Interruption()); }),
           std::string("PermissionDenied.ResourceAccess: the server refused access (HTTP 403)"));
  const size_t before = nginx().accessLog().size();
  CHECK_EQ(failureOf([&] { probeUrl(nginx().url("/failing.mp4"), options, Interruption()); }),
           std::string("TransientNetWorkError: the server answered HTTP 503 (3 tries)"));
  CHECK_EQ(nginx().accessLog().size(), before + 3);
}

TEST("remote: a redirect on opening is followed hop by hop; the ranges go to the last URL") {
  // /chain.ts -> /sub/relative.ts -> ../mpeg2.ts (a relative Location).
  const std::vector<AccessLogEntry> log =
      extractOverHttp("/chain.ts", "mpeg2.ts", pick({0, 1500, 2040, 3960}, FrameType::Normal))
          .requests;
  if (CHECK(log.size() > 3)) {
    CHECK_EQ(log[0].uri, std::string("/chain.ts"));
    CHECK_EQ(log[0].status, 302);
    CHECK_EQ(log[1].uri, std::string("/sub/relative.ts"));
    CHECK_EQ(log[1].status, 302);
    CHECK_EQ(log[2].range, std::string("bytes=0-524287"));
    for (size_t i = 2; i < log.size(); ++i) {
      CHECK_EQ(log[i].uri, std::string("/mpeg2.ts"));
      CHECK_EQ(log[i].status, 206);
      CHECK_EQ(log[i].connection, log[0].connection);  // one connection throughout
    }
  }
  CHECK_EQ(probeUrl(nginx().url("/moved.mp4"), loopbackOptions(), Interruption()).width, 320);
  // http to https, to another host name, is fine.
  RemoteOptions trusting = loopbackOptions();
  trusting.caFile = nginx().caFile();
  CHECK_EQ(probeUrl(nginx().url("/to-https.mp4"), trusting, Interruption()).width, 320);
}

TEST("remote: every redirect hop is checked: a refused host is never asked") {
  // An operator's own endpoint allowed by name; nothing else private.
  RemoteOptions options = loopbackOptions();
  options.allowPrivateNetwork = false;
  options.allowedPrivateHosts = {"127.0.0.1"};
  CHECK_EQ(probeUrl(nginx().url("/h264.mp4"), options, Interruption()).width, 320);
  CHECK_EQ(probeUrl(nginx().url("/moved.mp4"), options, Interruption()).width, 320);
  const size_t before = nginx().accessLog().size();
  // The cloud metadata address, and the same server under a name not allowed.
  for (const char* path : {"/to-metadata.mp4", "/to-localhost.mp4"}) {
    CHECK_EQ(failureOf([&] { probeUrl(nginx().url(path), options, Interruption()); }),
             std::string("PermissionDenied.ResourceAccess: the server redirected to a host on a "
                         "loopback, private or link-local network, which is refused unless "
                         "allowPrivateNetwork is set"));
  }
  CHECK_EQ(failureOf([&] { probeUrl("http://localhost:1/h264.mp4", options, Interruption()); }),
           std::string("PermissionDenied.ResourceAccess: the URL's host is on a loopback, "
                       "private or link-local network, which is refused unless "
                       "allowPrivateNetwork is set"));
  // Only the two redirecting answers: no request reached a refused host.
  const std::vector<AccessLogEntry> log = nginx().accessLog();
  if (CHECK_EQ(log.size(), before + 2)) {
    CHECK_EQ(log[before].status, 302);
    CHECK_EQ(log[before + 1].uri, std::string("/to-localhost.mp4"));
  }
  // Names are matched without regard to case.
  options.allowedPrivateHosts = {"127.0.0.1", "LocalHost"};
  CHECK_EQ(probeUrl(nginx().url("/to-localhost.mp4"), options, Interruption()).width, 320);
}

TEST("remote: redirects refused: https to http, not http(s), a password, a loop, mid-file") {
  RemoteOptions trusting = loopbackOptions();
  trusting.caFile = nginx().caFile();
  CHECK_EQ(failureOf([&] {
             probeUrl(nginx().httpsUrl("127.0.0.1", "/to-http.mp4"), trusting, Interruption());
           }),
           std::string("PermissionDenied.ResourceAccess: the server redirected from https to "
                       "http, which is refused (the answer would not be protected)"));
  CHECK_EQ(probeUrl(nginx().url("/to-http.mp4"), trusting, Interruption()).width, 320);
  CHECK_EQ(
      failureOf([&] { probeUrl(nginx().url("/to-file.mp4"), loopbackOptions(), Interruption()); }),
      std::string("InvalidParameter: the server redirected to a URL that is not http or "
                  "https"));
  // The message names no URL, so the password is not repeated.
  CHECK_EQ(failureOf([&] {
             probeUrl(nginx().url("/to-userinfo.mp4"), loopbackOptions(), Interruption());
           }),
           std::string("InvalidParameter: the server redirected to a URL with a user name or "
                       "password, which is not accepted"));
  size_t before = nginx().accessLog().size();
  CHECK_EQ(
      failureOf([&] { probeUrl(nginx().url("/loop.mp4"), loopbackOptions(), Interruption()); }),
      std::string("InvalidParameter: too many redirects (more than 5)"));
  CHECK_EQ(nginx().accessLog().size(), before + 1 + kMaxRedirects);
  // The first block is served; the moov at the end is asked for next and redirected.
  before = nginx().accessLog().size();
  CHECK_EQ(failureOf([&] {
             probeUrl(nginx().url("/redirect-later.mp4"), loopbackOptions(), Interruption());
           }),
           std::string("InvalidParameter.ResourceContentBad: the server redirected in the middle "
                       "of the file (HTTP 302)"));
  const std::vector<AccessLogEntry> log = nginx().accessLog();
  if (CHECK_EQ(log.size(), before + 2)) {
    CHECK_EQ(log[before].status, 206);
    CHECK_EQ(log[before + 1].status, 302);
  }
}

TEST("remote: a refused connection is tried three times, then TransientNetWorkError") {
  const std::string url =
      "http://127.0.0.1:" + std::to_string(freeLoopbackPort()) + "/nobody-listens.mp4";
  CHECK_EQ(failureOf([&] { probeUrl(url, loopbackOptions(), Interruption()); }),
           std::string("TransientNetWorkError: cannot connect to the server: Connection refused "
                       "(3 tries)"));
}

TEST("remote: a server that ignores ranges is refused after one block") {
  CHECK_EQ(failureOf([&] {
             probeUrl(nginx().url("/no-ranges/long-360p.mp4"), loopbackOptions(), Interruption());
           }),
           std::string("InvalidParameter.ResourceContentBad: the server ignores range requests "
                       "(it answered with the whole file); only servers that answer byte ranges "
                       "can be read"));
  // A file smaller than a block comes whole in one answer, which is fine.
  CHECK_EQ(probeUrl(nginx().url("/no-ranges/h264.mp4"), loopbackOptions(), Interruption()).width,
           320);
}

TEST(
    "remote: a server that never answers is stopped by the deadline, the abort flag or the "
    "low-speed limit") {
  // Listens but never accepts: the connection is made, the request never answered.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  bind(fd, reinterpret_cast<sockaddr*>(&address), length);
  listen(fd, 8);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const std::string url =
      "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/stalled.mp4";

  CHECK_EQ(
      failureOf([&] { probeUrl(url, loopbackOptions(), Interruption(nullptr, nullptr, 200)); }),
      std::string("SnapshotTimeOut: the snapshot ran past its deadline"));

  int32_t flag = 0;
  std::thread aborter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    __atomic_store_n(&flag, 1, __ATOMIC_RELEASE);
  });
  CHECK_EQ(failureOf([&] { probeUrl(url, loopbackOptions(), Interruption(&flag, nullptr, 0)); }),
           std::string("Aborted: the snapshot was cancelled"));
  aborter.join();

  // The low-speed limit is the server's failure, worth another try (the
  // caller's own deadline, above, is not).
  RemoteOptions impatient = loopbackOptions();
  impatient.lowSpeedTimeS = 1;
  impatient.retries = 1;
  CHECK_EQ(failureOf([&] { probeUrl(url, impatient, Interruption()); }),
           std::string("TransientNetWorkError: the server stopped sending (less than 1024 "
                       "bytes/s for 1 s) (2 tries)"));
  close(fd);
}

namespace {

// A loopback server on its own thread that answers every request with the
// same bytes and closes the connection: a misbehaving server, scripted.
class CannedServer {
 public:
  explicit CannedServer(std::string response) : response_(std::move(response)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        listen(fd_, 8) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("cannot listen on loopback");
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~CannedServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  CannedServer(const CannedServer&) = delete;
  CannedServer& operator=(const CannedServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/clip.mp4"; }
  int requests() const { return requests_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd waiting{fd_, POLLIN, 0};
      if (poll(&waiting, 1, 20) != 1) {
        continue;
      }
      const int client = accept(fd_, nullptr, nullptr);
      std::string request;
      char buffer[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        const ssize_t count = read(client, buffer, sizeof buffer);
        if (count <= 0) {
          break;
        }
        request.append(buffer, static_cast<size_t>(count));
      }
      if (!request.empty()) {
        ++requests_;
        if (!response_.empty() && write(client, response_.data(), response_.size()) < 0) {
          // The client went away: nothing to do.
        }
      }
      close(client);
    }
  }

  std::string response_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

}  // namespace

TEST("remote: a connection the server closes at once is tried three times, then an error") {
  CannedServer server("");
  CHECK_EQ(failureOf([&] { probeUrl(server.url(), loopbackOptions(), Interruption()); }),
           std::string("TransientNetWorkError: cannot read from the server: Server returned "
                       "nothing (no headers, no data) (3 tries)"));
  CHECK_EQ(server.requests(), 3);
}

TEST("remote: a truncated answer is tried three times, then an error") {
  CannedServer server(
      "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-99/100\r\nContent-Length: "
      "100\r\nConnection: close\r\n\r\nabc");
  CHECK_EQ(failureOf([&] { probeUrl(server.url(), loopbackOptions(), Interruption()); }),
           std::string("TransientNetWorkError: cannot read from the server: Transferred a "
                       "partial file (3 tries)"));
  CHECK_EQ(server.requests(), 3);
}

TEST("remote: a Content-Range that is not the range asked for is ResourceContentBad") {
  for (const char* contentRange :
       {"bytes 5-9/100", "bytes 0-4/3", "bytes 0-9/100", "bytes x-y/100", "", "bytes 0-4/*x"}) {
    CannedServer server(std::string("HTTP/1.1 206 Partial Content\r\n") +
                        (*contentRange != '\0'
                             ? std::string("Content-Range: ") + contentRange + "\r\n"
                             : std::string()) +
                        "Content-Length: 5\r\nConnection: close\r\n\r\nabcde");
    CHECK_EQ(failureOf([&] { probeUrl(server.url(), loopbackOptions(), Interruption()); }),
             std::string("InvalidParameter.ResourceContentBad: the server's answer does not match "
                         "the range asked for (Content-Range or length is wrong)"));
    CHECK_EQ(server.requests(), 1);
  }
}

TEST("remote: proxy variables are ignored: the checked address is the one connected to") {
  // A proxy nobody listens on: a reader that used it would fail.
  const std::string unused = "http://127.0.0.1:" + std::to_string(freeLoopbackPort());
  for (const char* name : {"http_proxy", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"}) {
    setenv(name, unused.c_str(), 1);
  }
  RemoteOptions trusting = loopbackOptions();
  trusting.caFile = nginx().caFile();
  CHECK_EQ(probeUrl(nginx().url("/h264.mp4"), trusting, Interruption()).width, 320);
  CHECK_EQ(probeUrl(nginx().httpsUrl("localhost", "/h264.mp4"), trusting, Interruption()).width,
           320);
  for (const char* name : {"http_proxy", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"}) {
    unsetenv(name);
  }
}

TEST("remote: the reader gives the file's bytes from a cache of few blocks") {
  RemoteOptions options = loopbackOptions();
  options.blockSize = 64 * 1024;
  options.cachedBlocks = 2;
  const Interruption never;  // the reader keeps a reference: not a temporary
  RemoteReader reader(nginx().url("/h264.mp4"), options, never);
  std::ifstream file(clip("h264.mp4"), std::ios::binary);
  const std::vector<uint8_t> expected((std::istreambuf_iterator<char>(file)),
                                      std::istreambuf_iterator<char>());
  CHECK_EQ(reader.size(), static_cast<int64_t>(expected.size()));
  std::vector<uint8_t> actual;
  uint8_t chunk[5000];
  for (size_t count = 0;
       (count = reader.readAt(static_cast<int64_t>(actual.size()), chunk, sizeof chunk)) > 0;) {
    actual.insert(actual.end(), chunk, chunk + count);
  }
  CHECK(actual == expected);
  const int blocks =
      static_cast<int>((expected.size() + options.blockSize - 1) / options.blockSize);
  CHECK_EQ(reader.requests(), blocks);
  CHECK_EQ(reader.bytesReceived(), static_cast<int64_t>(expected.size()));
  CHECK_EQ(reader.readAt(reader.size(), chunk, sizeof chunk), size_t{0});
  CHECK_EQ(reader.readAt(reader.size() - 1, chunk, 1), size_t{1});  // still cached
  CHECK_EQ(reader.requests(), blocks);
  CHECK_EQ(reader.readAt(0, chunk, 1), size_t{1});  // evicted: fetched again
  CHECK_EQ(reader.requests(), blocks + 1);
}

namespace {

struct ReadCost {
  size_t requests = 0;
  int64_t bytes = 0;
  int64_t largest = 0;
};

// Extracts `selection` from `name` over HTTP with `options`, checks the
// frames against the file's, and returns what nginx sent for it.
ReadCost remoteCost(const std::string& name, const FrameSelection& selection,
                    const RemoteOptions& options) {
  ReadCost cost;
  for (const AccessLogEntry& request :
       extractOverHttp("/" + name, name, selection, options).requests) {
    CHECK_EQ(request.status, 206);
    ++cost.requests;
    cost.bytes += request.bytesSent;
    cost.largest = std::max(cost.largest, request.bytesSent);
  }
  return cost;
}

}  // namespace

TEST("remote: the reader reads ahead on sequential misses, up to its bound, in a bounded cache") {
  RemoteOptions options = loopbackOptions();
  options.blockSize = 8 * 1024;
  options.cachedBlocks = 8;
  options.readAheadBlocks = 4;
  const Interruption never;
  RemoteReader reader(nginx().url("/h264.mp4"), options, never);
  std::ifstream file(clip("h264.mp4"), std::ios::binary);
  const std::vector<uint8_t> expected((std::istreambuf_iterator<char>(file)),
                                      std::istreambuf_iterator<char>());
  const auto blocks =
      static_cast<int>((expected.size() + options.blockSize - 1) / options.blockSize);
  // Read-ahead up to the start of the last block: that one comes alone.
  reader.readAheadUntil(static_cast<int64_t>((blocks - 1) * options.blockSize));
  std::vector<uint8_t> actual;
  uint8_t chunk[5000];
  for (size_t count = 0;
       (count = reader.readAt(static_cast<int64_t>(actual.size()), chunk, sizeof chunk)) > 0;) {
    actual.insert(actual.end(), chunk, chunk + count);
  }
  CHECK(actual == expected);
  CHECK_EQ(reader.bytesReceived(), static_cast<int64_t>(expected.size()));
  // Block 0 on opening, then windows of 2, 4, 4, ... blocks, then the last alone.
  int requests = 1;
  int left = blocks - 2;
  for (int window = 2; left > 0; window = std::min(window * 2, 4)) {
    left -= std::min(window, left);
    ++requests;
  }
  requests += 1;
  std::fprintf(stderr, "    (%d blocks in %d requests)\n", blocks, reader.requests());
  CHECK_EQ(reader.requests(), requests);
  CHECK(blocks >= 8);
  // Read-ahead stops at a cached block; the cache keeps 8 blocks: the first
  // ones are long gone.
  CHECK_EQ(reader.readAt(0, chunk, 1), size_t{1});
  CHECK_EQ(reader.requests(), requests + 1);
}

TEST("remote: a dense series reads on in fewer, larger requests, and not a byte more") {
  // Exact frames a second (then two) apart in a clip with a keyframe every
  // 10 s: the decodes read on through the file, one into the next.
  RemoteOptions blockByBlock = loopbackOptions();
  blockByBlock.readAheadBlocks = 1;  // as before read-ahead: one block a request
  for (const int stepSeconds : {1, 2}) {
    std::vector<double> times;
    for (int i = 0; i < 12; ++i) {
      times.push_back((stepSeconds == 1 ? 20 : 8) * 1000.0 + i * stepSeconds * 1000.0);
    }
    const FrameSelection dense = pick(times, FrameType::Normal);
    const ReadCost before = remoteCost("long-360p.mp4", dense, blockByBlock);
    const ReadCost after = remoteCost("long-360p.mp4", dense, loopbackOptions());
    std::fprintf(stderr,
                 "    (every %d s: block by block %zu requests, %lld bytes; read ahead %zu "
                 "requests, %lld bytes)\n",
                 stepSeconds, before.requests, static_cast<long long>(before.bytes), after.requests,
                 static_cast<long long>(after.bytes));
    // The open, the moov at the end, then the span: 6 (12) blocks one by one,
    // or 1 + 2 + 3 (1 + 2 + 4 + 4 + 1) blocks as the window grows and meets
    // the end of what the last frame needs (from the index).
    CHECK_EQ(before.requests, stepSeconds == 1 ? size_t{8} : size_t{14});
    CHECK_EQ(after.requests, stepSeconds == 1 ? size_t{5} : size_t{7});
    CHECK_EQ(after.bytes, before.bytes);
    CHECK_EQ(before.largest, int64_t{512 * 1024});
    CHECK(after.largest <= int64_t{4 * 512 * 1024});
  }
}
