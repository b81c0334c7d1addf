// insight/funnel_store.h — funnels (insight/funnel.h) over the stored event log: the query a user
// gives (`touchpoint funnel`, GET /v1/funnels), each person's events read once in one scan of the
// log (merged customers counted as the one person they became), and the report as JSON or a table.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/insight/funnel.h>
#include <touchpoint/store/store.h>

namespace touchpoint::insight {

struct FunnelQuery {
  FunnelSpec spec;
  std::string by;   // an event property of the attempt's first step ("" none): properties.<by>
  Millis from = 0;  // events at or after; 0: no bound
  Millis to = 0;    // … and before; 0: no bound
};

// steps: comma-separated event names (≥ 2); mode: ordered (default) | strict | any; window: days
// ("" = 14); from/to: ISO 8601 date-times or dates (UTC midnight). kInvalidArgument naming the
// parameter and what is valid.
Result<FunnelQuery> ParseFunnelQuery(std::string_view steps, std::string_view mode, std::string_view window_days,
                                     std::string_view by, std::string_view from, std::string_view to);

// The funnel over every person's stored events in [from, to): the overall group first, then one
// per value of `by` (when given).
Result<std::vector<FunnelGroup>> FunnelOverStore(store::Store& store, const FunnelQuery& query);

// {"steps":[…],"mode":…,"window_days":…,"by":…,"groups":[{"breakdown":…,"steps":[{"name":…,"count":…,
// "conversion_from_previous":…,"conversion_from_first":…,"drop_off":…,"seconds_from_previous":{"count":…,
// "mean":…,"median":…,"p90":…}}],"seconds_to_convert":{…}}]} — a summary without values has only its count.
std::string FunnelJson(const FunnelQuery& query, const std::vector<FunnelGroup>& groups);
// The same as an aligned table.
std::string FunnelTable(const FunnelQuery& query, const std::vector<FunnelGroup>& groups);

}  // namespace touchpoint::insight
