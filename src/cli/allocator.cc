#include "cli/allocator.h"

#include <initializer_list>

#ifdef TP_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#include <sys/types.h>
#endif

namespace touchpoint::cli {

void KeepFreedMemory() {
#ifdef TP_WITH_JEMALLOC
  ssize_t never = -1;  // decay time in ms; -1: never purge
  // Arenas created from now on, then every existing one (MALLCTL_ARENAS_ALL). A failure only
  // loses the optimisation.
  for (const char* name : {"arenas.dirty_decay_ms", "arenas.muzzy_decay_ms", "arena.4096.dirty_decay_ms",
                           "arena.4096.muzzy_decay_ms"}) {
    mallctl(name, nullptr, nullptr, &never, sizeof(never));
  }
#endif
}

}  // namespace touchpoint::cli
