#include "ffmpeg_ptr.h"

#include "snapshot_failure.h"

namespace framesnap {

UniqueFrame allocateFrame() {
  UniqueFrame frame(av_frame_alloc());
  if (!frame) {
    throw SnapshotFailure(ErrorCode::Internal, "out of memory allocating a frame");
  }
  return frame;
}

UniquePacket allocatePacket() {
  UniquePacket packet(av_packet_alloc());
  if (!packet) {
    throw SnapshotFailure(ErrorCode::Internal, "out of memory allocating a packet");
  }
  return packet;
}

}  // namespace framesnap
