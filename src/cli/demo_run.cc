// `touchpoint demo` (no subcommand): generate the demo data set, ingest it, create keys, print
// what to try, and serve. The one command behind `make demo`.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>
#include <touchpoint/demo/generator.h>
#include <touchpoint/pipeline/file_ingest.h>
#include <touchpoint/privacy/keys.h>
#include <touchpoint/server/app.h>
#include <touchpoint/service/ticket.h>
#include <touchpoint/store/api_key_repository.h>

#include "cli/audit_access.h"
#include "cli/data_access.h"
#include "cli/cli_util.h"
#include "cli/demo_desk.h"
#include "cli/demo_run.h"
#include "cli/engine_options.h"

namespace touchpoint::cli {
namespace {

// A user id that the demo data certainly holds: the first identify's userId.
std::string SampleUser(const std::string& file) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"identify\"") == std::string::npos) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("userId") && j["userId"].is_string()) return j["userId"].get<std::string>();
  }
  return "";
}

// The demo's customers: the userIds of its identify calls, in the order they first appear.
std::vector<std::string> DemoUsers(const std::string& file) {
  std::vector<std::string> users;
  std::set<std::string> seen;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"identify\"") == std::string::npos) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("userId") || !j["userId"].is_string()) continue;
    std::string id = j["userId"].get<std::string>();
    if (seen.insert(id).second) users.push_back(std::move(id));
  }
  return users;
}

}  // namespace

int RunDemo(const DemoArgs& a) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(a.data_dir, ec);
  const std::string file = (fs::path(a.data_dir) / "demo.ndjson").string();
  if (!fs::exists(file)) {
    demo::GenerateOptions g;
    g.customers = a.customers;
    g.events = a.events;
    g.seed = a.seed;
    std::ofstream out(file + ".tmp", std::ios::binary | std::ios::trunc);
    auto stats = demo::Generate(g, out);
    out.close();
    if (!stats.ok() || !out) {
      return Fail(stats.ok() ? Status::Unavailable("cannot write " + file) : stats.status());
    }
    fs::rename(file + ".tmp", file, ec);
    std::printf("demo: generated %lld events for %lld customers into %s\n", static_cast<long long>(stats->events),
                static_cast<long long>(stats->customers), file.c_str());
  }
  std::string admin_key, ingest_key;
  {
    auto dir = OpenForWriting(a.data_dir, MakeEngineOptions(5, true), "touchpoint demo", "full", /*escalation=*/true);
    if (!dir.ok()) return Fail(Status::Unavailable(dir.status().message()));
    pipeline::FileIngestOptions o;
    o.rejects_path = (fs::path(a.data_dir) / "rejects.ndjson").string();
    auto s = pipeline::IngestFiles(*(*dir)->engine, {file}, o);
    if (!s.ok()) return Fail(s.status());
    const auto stats = (*dir)->engine->Stats();
    std::printf("demo: ingested %lld new events (%lld already there); %lld customers, %lld messages, %lld surveys\n",
                static_cast<long long>(s->accepted), static_cast<long long>(s->duplicates),
                static_cast<long long>(stats.customers), static_cast<long long>(stats.messages),
                static_cast<long long>(stats.surveys));
  }
  // The service desk: agents, SLA policies and a year of tickets, through the desk itself.
  std::int64_t routing_example = 0;
  if (a.tickets > 0) {
    DemoDeskOptions d;
    d.tickets = a.tickets;
    d.seed = a.seed;
    const demo::GenerateOptions window;  // the window `demo generate` used (its defaults)
    auto end = ParseTimestamp(window.end_date);
    if (!end.ok()) return Fail(end.status());
    d.end = *end;
    d.days = window.days;
    const std::vector<std::string> users = DemoUsers(file);
    auto desk = BuildDemoDesk(a.data_dir, users, d);
    if (!desk.ok()) return Fail(desk.status());
    if (desk->skipped) {
      std::printf("demo: the service desk has tickets already (kept as it is)\n");
    } else {
      std::printf(
          "demo: the service desk: %lld agents in %lld teams, %lld tickets (%lld complaints, %lld refunds through "
          "approval, %lld repeat contacts, %lld reopens), %lld SLA warnings, %lld breaches, %lld overdue complaint "
          "tasks (%.1f s)\n",
          static_cast<long long>(desk->agents), static_cast<long long>(desk->teams),
          static_cast<long long>(desk->tickets), static_cast<long long>(desk->complaints),
          static_cast<long long>(desk->refunds), static_cast<long long>(desk->repeats),
          static_cast<long long>(desk->reopens), static_cast<long long>(desk->warnings),
          static_cast<long long>(desk->breaches), static_cast<long long>(desk->overdue_tasks), desk->seconds);
      routing_example = desk->routing_example;
    }
  }
  {
    auto keys = OpenForKeys(a.data_dir);
    if (!keys.ok()) return Fail(keys.status());
    auto admin = privacy::CreateApiKey((*keys)->Get<store::ApiKeyRepository>(), privacy::Role::kAdmin, SystemClock::Instance().Now());
    auto ingest = privacy::CreateApiKey((*keys)->Get<store::ApiKeyRepository>(), privacy::Role::kIngest, SystemClock::Instance().Now());
    if (!admin.ok() || !ingest.ok()) return Fail(admin.ok() ? ingest.status() : admin.status());
    auto audit = OpenCliAudit(**keys, a.data_dir);
    Status recorded = audit.ok() ? Status::Ok() : audit.status();
    for (const auto* k : {&*admin, &*ingest}) {
      if (recorded.ok()) {
        recorded = (*audit)->Record(CliActor(), "api_key.create", "api_key:" + std::to_string(k->record.id),
                                    "{\"role\":\"" + k->record.role + "\",\"prefix\":\"" + k->record.prefix + "\"}");
      }
    }
    if (recorded.ok()) recorded = (*audit)->Close();
    if (!recorded.ok()) std::fprintf(stderr, "touchpoint: note: the demo keys are not audited: %s\n", recorded.message().c_str());
    admin_key = admin->key;
    ingest_key = ingest->key;
  }
  const std::string user = SampleUser(file);
  std::string desk_lines;  // the service desk's tour lines, when the demo built one
  if (a.tickets > 0) {
    desk_lines = "The service desk (a second terminal):\n  touchpoint ticket list --data " + a.data_dir +
                 " --breaching\n  touchpoint desk steps --data " + a.data_dir + "\n  touchpoint desk routing --data " +
                 a.data_dir + " " + service::FormatTicketNumber(routing_example > 0 ? routing_example : 1) + "\n\n";
  }
  const std::string base = "http://" + a.listen;
  std::printf(
      "\n"
      "Touchpoint demo is starting on %s (data in %s).\n"
      "  admin key:  %s\n"
      "  ingest key: %s\n\n"
      "Try:\n"
      "  curl -s -H 'Authorization: Bearer %s' %s/v1/customers/user:%s\n"
      "  curl -s -H 'Authorization: Bearer %s' %s/v1/stats\n"
      "  curl -s -u '%s:' -H 'Content-Type: application/json' %s/v1/track \\\n"
      "       -d '{\"userId\":\"%s\",\"event\":\"Message Received\",\"properties\":{\"text\":\"快递太慢了，我要退款\",\"channel\":\"chat\"}}'\n\n"
      "%s",
      base.c_str(), a.data_dir.c_str(), admin_key.c_str(), ingest_key.c_str(), admin_key.c_str(), base.c_str(),
      user.c_str(), admin_key.c_str(), base.c_str(), ingest_key.c_str(), base.c_str(), user.c_str(),
      desk_lines.c_str());
  if (!a.serve) {
    std::fflush(stdout);
    return 0;
  }
  std::printf("Stop with Ctrl-C.\n\n");
  std::fflush(stdout);
  server::ServerConfig config;
  config.data_dir = a.data_dir;
  config.store_url = StoreUrl(a.data_dir);
  // The analytics jobs tag every profile (RFM layer, tier, cluster, churn risk, lifetime value)
  // before the server listens, so the first profile a newcomer opens shows them.
  config.jobs_at_start = true;
  config.listen = a.listen;
  return server::RunServe(config);
}

}  // namespace touchpoint::cli
