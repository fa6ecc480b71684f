// glibc malloc tuned for a process that decodes video on several threads:
// see malloc_tuning.cpp.
#pragma once

#include <string>

namespace framesnap {

struct MallocTuning {
  bool applied = false;
  // Why not, when not applied: "FRAMESNAP_MALLOC_TUNING=0", "MALLOC_ARENA_MAX is set", "not glibc".
  std::string reason;
  int arenaMax = 0;            // 0 when not applied
  int mmapThresholdBytes = 0;  // 0 when not applied
};

// Applies the tuning the first time it is called in the process (the addon
// calls it when it loads); every call returns what the first one did.
const MallocTuning& tuneMallocOnce();

// Hands the free memory inside malloc's heaps back to the system
// (malloc_trim), when the tuning is applied; a no-op otherwise. For a worker
// going idle: it costs a walk over the heaps.
void releaseFreeMemory();

// Live probe, for tests: whether a 1 MiB allocation made right after an
// 8 MiB one was freed is mapped on its own (the threshold is fixed: tuned)
// rather than taken from a heap (glibc's sliding threshold rose past it).
// False where it cannot tell (not glibc).
bool largeAllocationsAreMapped();

}  // namespace framesnap
