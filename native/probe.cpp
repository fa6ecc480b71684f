#include "probe.h"

#include <algorithm>
#include <limits>

extern "C" {
#include <libavutil/pixdesc.h>
}

#include "av_enums.h"
#include "demuxer.h"
#include "display_geometry.h"
#include "frame_extractor.h"
#include "snapshot_failure.h"

namespace framesnap {
namespace {

std::string nameOr(const char* name, const char* fallback) {
  return name != nullptr ? name : fallback;
}

int clampedToInt(int64_t value) {
  return static_cast<int>(std::min<int64_t>(value, std::numeric_limits<int>::max()));
}

}  // namespace

namespace {

ProbeResult describe(const Demuxer& demuxer, const PixelLimits& limits) {
  const AVStream* stream = demuxer.stream();
  const AVCodecParameters* parameters = stream->codecpar;

  // The same input limit as extraction: a video too large to snapshot is
  // refused here too, naming the limit.
  checkInputSize(parameters->width, parameters->height, limits);

  ProbeResult result;
  result.formatName = demuxer.context()->iformat->name;
  result.codecName = avcodec_get_name(parameters->codec_id);
  const auto format = static_cast<AVPixelFormat>(parameters->format);
  result.pixelFormat = nameOr(av_get_pix_fmt_name(format), "");
  if (const AVPixFmtDescriptor* descriptor = av_pix_fmt_desc_get(format)) {
    result.bitDepth = descriptor->comp[0].depth;
  }
  result.durationMs = demuxer.durationMs();
  if (demuxer.context()->start_time != AV_NOPTS_VALUE) {
    result.startTimeMs = static_cast<double>(demuxer.context()->start_time) / 1000.0;
  }
  result.width = parameters->width;
  result.height = parameters->height;
  // As extraction does: a ratio outside 1:16 .. 16:1 is ignored (1:1).
  const AVRational sampleAspectRatio = usableSampleAspectRatio(
      av_guess_sample_aspect_ratio(demuxer.context(), const_cast<AVStream*>(stream), nullptr));
  result.sampleAspectNum = sampleAspectRatio.num;
  result.sampleAspectDen = sampleAspectRatio.den;
  result.rotation = clockwiseRotation(stream);
  const Size display =
      displaySize(parameters->width, parameters->height, sampleAspectRatio, result.rotation);
  result.displayWidth = clampedToInt(display.width);
  result.displayHeight = clampedToInt(display.height);
  const AVRational rate =
      stream->avg_frame_rate.num > 0 ? stream->avg_frame_rate : stream->r_frame_rate;
  result.frameRate = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0;
  result.colorSpace = nameOr(av_color_space_name(checkedEnum(parameters->color_space, AVCOL_SPC_NB,
                                                             AVCOL_SPC_UNSPECIFIED)),
                             "unknown");
  result.colorRange = nameOr(av_color_range_name(checkedEnum(
                                 parameters->color_range, AVCOL_RANGE_NB, AVCOL_RANGE_UNSPECIFIED)),
                             "unknown");
  result.colorPrimaries =
      nameOr(av_color_primaries_name(
                 checkedEnum(parameters->color_primaries, AVCOL_PRI_NB, AVCOL_PRI_UNSPECIFIED)),
             "unknown");
  result.colorTransfer = nameOr(av_color_transfer_name(checkedEnum(
                                    parameters->color_trc, AVCOL_TRC_NB, AVCOL_TRC_UNSPECIFIED)),
                                "unknown");

  const int entries = avformat_index_get_entries_count(stream);
  if (entries > 0) {
    long keyframes = 0;
    for (int i = 0; i < entries; ++i) {
      const AVIndexEntry* entry = avformat_index_get_entry(const_cast<AVStream*>(stream), i);
      if (entry != nullptr && (entry->flags & AVINDEX_KEYFRAME) != 0) {
        ++keyframes;
      }
    }
    result.keyframeCount = keyframes;
  }
  return result;
}

}  // namespace

ProbeResult probeFile(const std::string& path, const Interruption& interruption,
                      const PixelLimits& limits) {
  installFfmpegLogCapture();
  identifyFile(path, 0);  // the same answer as extraction for missing files and folders
  const Demuxer demuxer(path, interruption, true, limits.inputPixels);
  return describe(demuxer, limits);
}

ProbeResult probeUrl(const std::string& url, const RemoteOptions& options,
                     const Interruption& interruption, const PixelLimits& limits) {
  installFfmpegLogCapture();
  // The stream probe runs as for a file, so both answers are the same (it
  // costs a few hundred KB more than the header alone).
  const Demuxer demuxer(url, interruption, true, limits.inputPixels, &options);
  return describe(demuxer, limits);
}

}  // namespace framesnap
