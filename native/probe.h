// Facts about a video file, read with a full stream probe. Thread contract as
// extractFrames: any thread, no Node-API.
#pragma once

#include <string>

#include "display_geometry.h"
#include "interruption.h"
#include "remote_reader.h"

namespace framesnap {

struct ProbeResult {
  std::string formatName;
  std::string codecName;
  std::string pixelFormat;  // empty when unknown
  double durationMs = -1;   // -1 when unknown
  double startTimeMs = 0;
  int width = 0;  // coded (decoded picture) size
  int height = 0;
  int displayWidth = 0;  // as a player shows it: SAR and rotation applied
  int displayHeight = 0;
  int rotation = 0;  // clockwise degrees applied to make the picture upright
  int sampleAspectNum = 1;
  int sampleAspectDen = 1;
  double frameRate = 0;    // 0 when unknown
  std::string colorSpace;  // FFmpeg's names; "unknown" when untagged
  std::string colorRange;
  std::string colorPrimaries;
  std::string colorTransfer;
  int bitDepth = 8;
  long keyframeCount = -1;  // -1 when the container has no index
};

// Reads the header and probes the chosen video stream only, decoding no
// picture over limits.inputPixels; a video whose frames are over it (or over
// 16383 a side) fails with ResourceContentBad naming the limit, as extraction does.
ProbeResult probeFile(const std::string& path, const Interruption& interruption,
                      const PixelLimits& limits = PixelLimits());
// The same for an http(s) URL, read through a RemoteReader with `options`.
ProbeResult probeUrl(const std::string& url, const RemoteOptions& options,
                     const Interruption& interruption, const PixelLimits& limits = PixelLimits());

}  // namespace framesnap
