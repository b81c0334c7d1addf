// [[journeys]] of touchpoint.toml (docs/measurement.md "Journeys"): the journeys GET
// /v1/journeys/{name} and `touchpoint journey --name` report on, beside the built-in "purchase".
//
//   [[journeys]]
//   name = "purchase"
//   stages = [
//     { name = "browse",   events = ["page", "Product Viewed"] },
//     { name = "order",    events = ["Order Completed"] },
//     { name = "delivery", events = ["Order Delivered"], target_dwell_hours = 72 },
//     { name = "service",  events = ["Message Received"] },
//   ]
//   # optional: the score's weights (docs/measurement.md)
//   satisfaction_weight = 0.4
//   sentiment_weight = 0.2
//   continuation_weight = 0.2
//   speed_weight = 0.2
#include "server/outbox_config_internal.h"

#include <touchpoint/insight/journey.h>

namespace touchpoint::server {
namespace {

Status Wrong(const std::string& path, const std::string& key, std::string_view want) {
  return Status::InvalidArgument(path + ": option '" + key + "' must be " + std::string(want));
}

Status Stage(const std::string& path, const std::string& where, const toml::node& node, insight::JourneyStage* st) {
  const toml::table* t = node.as_table();
  if (t == nullptr) return Wrong(path, where, "a table ({ name = …, events = […] })");
  for (const auto& [k, n] : *t) {
    const std::string key = where + "." + std::string(k.str());
    if (k.str() == "name") {
      if (!n.is_string()) return Wrong(path, key, "a string");
      st->name = *n.value<std::string>();
    } else if (k.str() == "events") {
      const toml::array* a = n.as_array();
      if (a == nullptr) return Wrong(path, key, "an array of event names");
      for (const auto& e : *a) {
        if (!e.is_string()) return Wrong(path, key, "an array of event names");
        st->events.push_back(*e.value<std::string>());
      }
    } else if (k.str() == "target_dwell_hours") {
      auto h = n.value<double>();
      if (!h || !(*h > 0)) return Wrong(path, key, "a positive number of hours");
      st->target_dwell_seconds = *h * 3600;
    } else {
      return Status::InvalidArgument(path + ": unknown option '" + key + "' (name, events, target_dwell_hours)");
    }
  }
  return Status::Ok();
}

}  // namespace

Status ApplyJourneysConfig(const std::string& path, const toml::node& node, ServerConfig* config) {
  const toml::array* journeys = node.as_array();
  if (journeys == nullptr) return Wrong(path, "journeys", "an array of tables ([[journeys]])");
  for (size_t i = 0; i < journeys->size(); ++i) {
    const std::string where = "journeys[" + std::to_string(i) + "]";
    const toml::table* t = (*journeys)[i].as_table();
    if (t == nullptr) return Wrong(path, where, "a table ([[journeys]])");
    insight::JourneySpec spec;
    for (const auto& [k, n] : *t) {
      const std::string key = where + "." + std::string(k.str());
      if (k.str() == "name") {
        if (!n.is_string()) return Wrong(path, key, "a string");
        spec.name = *n.value<std::string>();
      } else if (k.str() == "stages") {
        const toml::array* stages = n.as_array();
        if (stages == nullptr) return Wrong(path, key, "an array of stages");
        for (size_t s = 0; s < stages->size(); ++s) {
          insight::JourneyStage st;
          TP_RETURN_IF_ERROR(Stage(path, key + "[" + std::to_string(s) + "]", (*stages)[s], &st));
          spec.stages.push_back(std::move(st));
        }
      } else if (k.str() == "satisfaction_weight" || k.str() == "sentiment_weight" ||
                 k.str() == "continuation_weight" || k.str() == "speed_weight") {
        auto w = n.value<double>();
        if (!w || !(*w >= 0)) return Wrong(path, key, "a number ≥ 0");
        double* field = k.str() == "satisfaction_weight"   ? &spec.satisfaction_weight
                        : k.str() == "sentiment_weight"    ? &spec.sentiment_weight
                        : k.str() == "continuation_weight" ? &spec.continuation_weight
                                                           : &spec.speed_weight;
        *field = *w;
      } else {
        return Status::InvalidArgument(path + ": unknown option '" + key +
                                       "' (name, stages, satisfaction_weight, sentiment_weight, "
                                       "continuation_weight, speed_weight)");
      }
    }
    if (spec.name.empty()) return Wrong(path, where + ".name", "a non-empty string");
    for (const auto& other : config->journeys) {
      if (other.name == spec.name) return Status::InvalidArgument(path + ": two journeys named \"" + spec.name + "\"");
    }
    // The report's own checks: two stages or more, no event in two stages…
    auto report = insight::JourneyReport::Create(spec);
    if (!report.ok()) return report.status().WithContext(path + ": " + where + " (" + spec.name + ")");
    config->journeys.push_back(std::move(spec));
  }
  return Status::Ok();
}

}  // namespace touchpoint::server
