// The few places where FFmpeg's API changed between the versions framesnap
// supports (FFmpeg 5.1 to 9.0; CMakeLists.txt refuses older ones). Each
// helper names the FFmpeg version that changed the thing it hides; the rest
// of the native code calls only these helpers for them.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavcodec/packet.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
}

#include <cstdint>
#include <cstring>
#include <initializer_list>

namespace framesnap::compat {

// FFmpeg 6.1 (libavutil 58.7.100) added AV_FRAME_FLAG_KEY and deprecated
// AVFrame::key_frame; FFmpeg 8.0 (libavutil 60) removed the field.
inline bool isKeyFrame(const AVFrame* frame) {
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(58, 7, 100)
  return (frame->flags & AV_FRAME_FLAG_KEY) != 0;
#else
  return frame->key_frame != 0;
#endif
}

// FFmpeg 6.1 (libavcodec 60.29.100, libavformat 60.15.100) moved a stream's
// side data to codecpar->coded_side_data and deprecated
// av_stream_get_side_data(); FFmpeg 8.0 (libavformat 62) removed it.
inline const uint8_t* streamSideData(const AVStream* stream, AVPacketSideDataType type) {
#if LIBAVCODEC_VERSION_INT >= AV_VERSION_INT(60, 29, 100)
  const AVPacketSideData* data = av_packet_side_data_get(
      stream->codecpar->coded_side_data, stream->codecpar->nb_coded_side_data, type);
  return data == nullptr ? nullptr : data->data;
#else
  return av_stream_get_side_data(stream, type, nullptr);
#endif
}

// Whether a demuxer seeks by FFmpeg's generic search on timestamps (it has
// no read_seek/read_seek2 of its own). FFmpeg 7.0 (libavformat 61) moved
// those fields out of the public AVInputFormat into the private
// FFInputFormat, so the answer is a list of names: the demuxers of the
// format whitelist (demuxer.cpp) whose read_seek and read_seek2 are null in
// FFmpeg 5.1. The native tests check the list against the fields on FFmpeg
// releases that still expose them.
inline bool seeksByGenericSearch(const AVInputFormat* format) {
  for (const char* name : {"mpegts", "mpeg", "m4v", "h264", "hevc", "mpegvideo", "ivf", "gif",
                           "mjpeg", "jpeg_pipe", "obu", "vc1", "cavsvideo"}) {
    if (std::strcmp(format->name, name) == 0) {
      return true;
    }
  }
  return false;
}

#if LIBAVFORMAT_VERSION_MAJOR < 61
// Only where the fields are public: what the list stands for.
inline bool seeksByGenericSearchFromFields(const AVInputFormat* format) {
  return format->read_seek == nullptr && format->read_seek2 == nullptr;
}
#endif

}  // namespace framesnap::compat
