// insight/journey_store.h — journeys (insight/journey.h) over the stored data: each person's
// stage events from the event log, the sentiment of the messages they wrote and their survey
// answers (tagged with a touchpoint or not), merged customers counted as the person they became,
// in one scan of each; the report worst touchpoint first, as JSON or a table. `touchpoint journey`
// and GET /v1/journeys/{name} print the same report.
//
// Matching: a stage lists event names; a track event matches its name; a page (or screen) view
// matches "page" and its name. A message counts when its author is the customer (its sentiment
// label "negative" or not); a survey answer's satisfaction is its CSAT (1–5 → 0..1) or, without
// one, its NPS (0–10 → 0..1).
//
// Thread safety: pure functions; JourneyOverStore reads the store it is given from one thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/insight/journey.h>
#include <touchpoint/store/store.h>

namespace touchpoint::insight {

// The journey used when none is configured ("purchase"): a web shop's path, its stages named as
// the demo tags its surveys — browse (page, Product Viewed) → checkout (Order Completed) →
// delivery (Order Shipped, Order Delivered; the demo has no such events, its surveys tagged
// "delivery" count there) → after_sales (Message Received).
JourneySpec DefaultJourney();

// The journeys a user can name: `configured` ([[journeys]] of the config) in order, then the
// built-in one unless a configured journey takes its name.
std::vector<JourneySpec> KnownJourneys(std::vector<JourneySpec> configured);
// The journey named `name` among `known`; null when none. JourneyNames lists them ("a, b").
const JourneySpec* FindJourney(const std::vector<JourneySpec>& known, std::string_view name);
std::string JourneyNames(const std::vector<JourneySpec>& known);

// A journey from text: "stage=event,event;stage=event…" (≥ 2 stages), with optional target
// dwell times "stage=hours,…" (`targets`). kInvalidArgument naming the part and what is valid.
Result<JourneySpec> ParseJourneyStages(std::string_view name, std::string_view stages, std::string_view targets);

struct JourneyQuery {
  JourneySpec spec;
  Millis from = 0;  // events at or after; 0: no bound
  Millis to = 0;    // … and before; 0: no bound
};

// from/to as ISO 8601 date-times or dates (UTC midnight); kInvalidArgument naming the parameter.
Result<JourneyQuery> MakeJourneyQuery(JourneySpec spec, std::string_view from, std::string_view to);

struct JourneyResult {
  std::vector<TouchpointStats> stages;  // worst score first (JourneyReport::WorstFirst)
  std::int64_t people = 0;              // people with at least one event, message or answer in range
};

Result<JourneyResult> JourneyOverStore(store::Store& store, const JourneyQuery& query);

// {"journey":…,"from":…,"to":…,"people":…,"stages":[{"stage":…,"events":[…],"volume":…,
// "dwell_seconds":{"count":…,"mean":…,"median":…,"p90":…},"target_dwell_seconds":…,"drop_off":…,
// "satisfaction":…,"answers":…,"negative_share":…,"messages":…,"score":…}]} — worst first; what
// has no data is absent (never NaN).
std::string JourneyJson(const JourneyQuery& query, const JourneyResult& result);
// The same as an aligned table, worst first.
std::string JourneyTable(const JourneyQuery& query, const JourneyResult& result);

}  // namespace touchpoint::insight
