// pipeline/replay.h — committed events read back from the event log in the shape the post-commit
// hook delivers them (pipeline/engine.h, CommittedEvent), for a consumer that keeps a cursor and
// catches up after a restart (the hook itself is at most once; see docs/architecture.md).
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include <touchpoint/core/result.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/store/store.h>

namespace touchpoint::pipeline {

// Calls `fn` with the events of seq in [from_seq, to_seq] (to_seq 0: up to the last stored one),
// in seq order, in batches of at most `batch` events. Orders, messages and surveys are rebuilt
// from each event's stored body; `analyze` (EngineOptions::analyze_message; may be empty) fills a
// message's language, sentiment, intent and masked text again. `customer` is the live customer
// the original one belongs to now; `customer_revenue` is 0 (not rebuilt). Events are read in
// slices and no read is open while `fn` runs, so `fn` may write through the same store. Stops at
// the first error of `fn`.
Status ReplayCommitted(store::Store& store, std::int64_t from_seq, std::int64_t to_seq,
                       const std::function<void(ingest::MessagePayload&)>& analyze,
                       const std::function<Status(std::span<const CommittedEvent>)>& fn, size_t batch = 1024);

}  // namespace touchpoint::pipeline
