#include "demuxer.h"

#include <cerrno>
#include <cmath>
#include <limits>

extern "C" {
#include <libavutil/mathematics.h>
}

#include "snapshot_failure.h"

namespace framesnap {
namespace {

// Demuxers of video containers and elementary streams. Playlists and other
// formats that open further files (hls, dash, concat, image2 patterns) and
// text formats decoded as pictures (tty) are deliberately absent: a request
// must never reach a file outside its bucket or turn a text file into a frame.
constexpr const char* kVideoFormats =
    "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mpegts,mpeg,avi,flv,asf,ogg,m4v,h264,hevc,"
    "mpegvideo,ivf,mxf,nut,gif,dv,yuv4mpegpipe,mjpeg,obu,vc1,rm,wtv";

// Containers without a seek function of their own (MPEG-TS/PS, raw
// streams, IVF): FFmpeg seeks them by a binary search on decode timestamps,
// which lands after the first keyframe when asked for the start; byte 0 is
// their true start. Containers with their own seek (MP4, Matroska, AVI, FLV)
// must not be byte-sought. (FFmpeg 5.1 keeps read_seek in the public
// AVInputFormat; later versions move it to FFInputFormat.)
bool startsAtByteZero(const AVInputFormat* format) {
  return format->read_seek == nullptr && format->read_seek2 == nullptr &&
         (format->flags & AVFMT_NO_BYTE_SEEK) == 0;
}

bool hasDecoderParameters(const AVCodecParameters* parameters) {
  return parameters->codec_id != AV_CODEC_ID_NONE && parameters->width > 0 &&
         parameters->height > 0;
}

}  // namespace

Demuxer::Demuxer(const std::string& path, const Interruption& interruption, bool probeStreams)
    : interruption_(interruption) {
  clearCapturedFfmpegLog();
  AVFormatContext* raw = avformat_alloc_context();
  if (raw == nullptr) {
    throw SnapshotFailure(ErrorCode::Internal, "out of memory opening " + path);
  }
  raw->interrupt_callback.callback = &Interruption::ffmpegCallback;
  raw->interrupt_callback.opaque = const_cast<Interruption*>(&interruption_);
  raw->format_whitelist = av_strdup(kVideoFormats);
  raw->protocol_whitelist = av_strdup("file");

  // The "file:" prefix keeps a name such as "concat:a|b" or "http:x" a plain path.
  const std::string url = "file:" + path;
  const int opened = avformat_open_input(&raw, url.c_str(), nullptr, nullptr);
  if (opened < 0) {
    // avformat_open_input frees the context on failure.
    interruption_.throwIfRequested();
    const ErrorCode code =
        opened == AVERROR(EINVAL) ? ErrorCode::ResourceContentBad : errorCodeForAvError(opened);
    throw SnapshotFailure(code, "cannot open " + path + " as a video: " + describeAvError(opened));
  }
  context_.reset(raw);

  const auto findVideoStream = [this]() {
    return av_find_best_stream(context_.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  };
  int index = findVideoStream();
  const bool headerIsEnough =
      index >= 0 && hasDecoderParameters(context_->streams[index]->codecpar);
  if (probeStreams || !headerIsEnough) {
    const int probed = avformat_find_stream_info(context_.get(), nullptr);
    interruption_.throwIfRequested();
    if (probed < 0) {
      throw SnapshotFailure(ErrorCode::ResourceContentBad,
                            "cannot read the streams of " + path + ": " + describeAvError(probed));
    }
    index = findVideoStream();
  }
  if (index < 0) {
    throw SnapshotFailure(ErrorCode::ResourceContentBad, path + " has no video stream");
  }
  stream_ = context_->streams[index];
  if (!hasDecoderParameters(stream_->codecpar)) {
    throw SnapshotFailure(ErrorCode::ResourceContentBad,
                          "the video stream of " + path + " has no usable codec parameters");
  }
  // Cover art is a single picture, not video.
  if ((stream_->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0) {
    throw SnapshotFailure(ErrorCode::ResourceContentBad,
                          path + " has only an attached picture, no video stream");
  }
  for (unsigned i = 0; i < context_->nb_streams; ++i) {
    if (static_cast<int>(i) != index) {
      context_->streams[i]->discard = AVDISCARD_ALL;
    }
  }
  if (context_->start_time != AV_NOPTS_VALUE) {
    origin_ = av_rescale_q(context_->start_time, AV_TIME_BASE_Q, stream_->time_base);
  } else if (stream_->start_time != AV_NOPTS_VALUE) {
    origin_ = stream_->start_time;
  }
}

int64_t Demuxer::toTimestamp(double milliseconds, AVRounding rounding) const {
  // Whole microseconds first: fractional milliseconds are allowed, finer is noise.
  const auto microseconds = static_cast<int64_t>(std::llround(milliseconds * 1000.0));
  return origin_ + av_rescale_q_rnd(microseconds, AV_TIME_BASE_Q, stream_->time_base,
                                    static_cast<AVRounding>(rounding | AV_ROUND_PASS_MINMAX));
}

int64_t Demuxer::firstTimestampAtOrAfter(double milliseconds) const {
  return toTimestamp(milliseconds, AV_ROUND_UP);
}

int64_t Demuxer::lastTimestampAtOrBefore(double milliseconds) const {
  return toTimestamp(milliseconds, AV_ROUND_DOWN);
}

double Demuxer::toMilliseconds(int64_t timestamp) const {
  const int64_t microseconds =
      av_rescale_q(timestamp - origin_, stream_->time_base, AV_TIME_BASE_Q);
  return static_cast<double>(microseconds) / 1000.0;
}

double Demuxer::durationMs() const {
  if (context_->duration != AV_NOPTS_VALUE && context_->duration > 0) {
    return static_cast<double>(context_->duration) / 1000.0;
  }
  if (stream_->duration != AV_NOPTS_VALUE && stream_->duration > 0) {
    return static_cast<double>(stream_->duration) * av_q2d(stream_->time_base) * 1000.0;
  }
  return -1;
}

void Demuxer::seekToKeyframeBefore(int64_t timestamp) {
  clearCapturedFfmpegLog();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int sought = avformat_seek_file(context_.get(), stream_->index, kMin, timestamp, timestamp, 0);
  if (sought < 0) {
    // No keyframe at or before the target as far as the index tells (its
    // first entry may come after the file's start, and Matroska searches
    // forward from where it stands, which after the end finds nothing): take
    // the nearest keyframe; the callers back off when it lands late.
    sought = avformat_seek_file(context_.get(), stream_->index, kMin, timestamp, kMax, 0);
  }
  if (sought < 0 && startsAtByteZero(context_->iformat)) {
    sought = avformat_seek_file(context_.get(), -1, kMin, 0, kMax, AVSEEK_FLAG_BYTE);
  }
  interruption_.throwIfRequested();
  if (sought < 0) {
    throw SnapshotFailure(ErrorCode::ResourceContentBad,
                          "cannot seek in the video: " + describeAvError(sought));
  }
}

void Demuxer::seekToStart() {
  if (startsAtByteZero(context_->iformat) && context_->pb != nullptr) {
    clearCapturedFfmpegLog();
    const int sought = avformat_seek_file(context_.get(), -1, std::numeric_limits<int64_t>::min(),
                                          0, std::numeric_limits<int64_t>::max(), AVSEEK_FLAG_BYTE);
    interruption_.throwIfRequested();
    if (sought >= 0) {
      return;
    }
  }
  seekToKeyframeBefore(origin_);
}

bool Demuxer::readVideoPacket(AVPacket* packet) {
  for (;;) {
    interruption_.throwIfRequested();
    av_packet_unref(packet);
    const int read = av_read_frame(context_.get(), packet);
    if (read == AVERROR_EOF) {
      return false;
    }
    if (read < 0) {
      interruption_.throwIfRequested();
      // A damaged tail ends the stream like EOF would; a read error that is
      // not about content is reported.
      if (read == AVERROR_INVALIDDATA) {
        return false;
      }
      throw SnapshotFailure(errorCodeForAvError(read),
                            "cannot read the video: " + describeAvError(read));
    }
    if (packet->stream_index == stream_->index) {
      return true;
    }
  }
}

}  // namespace framesnap
