// The core of framesnap: open a file once and return decoded RGB frames for a
// sorted list of times. Runs on whatever thread calls it (the JS thread for
// the sync binding, a libuv worker for the async one); no Node-API here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "interruption.h"
#include "rgb_converter.h"

namespace framesnap {

enum class FrameType {
  Intra,   // the keyframe at or before each time
  Normal,  // the first frame whose presentation time is at or after each time
};

struct ExtractRequest {
  std::string path;
  std::vector<double> timesMs;  // ascending, from the file's start
  FrameType frameType = FrameType::Intra;
  int width = 0;   // 0: from the display aspect ratio or source size
  int height = 0;
  int threads = 0;  // decoder threads, 0 = FFmpeg's choice
};

struct ExtractedFrame {
  double requestedMs = 0;
  double timeMs = 0;  // the frame's own presentation time, from the file's start
  bool keyframe = false;
  std::shared_ptr<const RgbImage> image;  // shared when two times give one frame
};

// One entry per requested time, in order. In Normal mode, times past the last
// frame have no entry (the result is shorter than the request); in Intra mode
// they get the last keyframe.
std::vector<ExtractedFrame> extractFrames(const ExtractRequest& request,
                                          const Interruption& interruption);

}  // namespace framesnap
