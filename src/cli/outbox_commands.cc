// outbox list|retry: the delivery log of outgoing webhooks and e-mail (docs/outbox.md), and an
// operator's retry of dead deliveries. Works next to a running server: its dispatcher picks a
// retried delivery up within a second.
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include <touchpoint/core/time.h>
#include <touchpoint/privacy/masking.h>
#include <touchpoint/store/outbox_repository.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/data_access.h"

namespace touchpoint::cli {
namespace {

using Json = nlohmann::ordered_json;

struct ListArgs {
  std::string data_dir = DefaultDataDir();
  std::string state, kind, endpoint;
  int limit = 50;
  std::int64_t before = 0;
};

int RunList(const ListArgs& a) {
  store::DeliveryQuery q;
  if (!a.state.empty()) {
    q.state = store::ParseDeliveryState(a.state);
    if (!q.state) return Fail(Status::InvalidArgument("--state must be pending, delivering, delivered, failed or dead"));
  }
  if (!a.kind.empty()) {
    q.kind = store::ParseDeliveryKind(a.kind);
    if (!q.kind) return Fail(Status::InvalidArgument("--kind must be webhook or email"));
  }
  q.target = a.endpoint;
  q.limit = a.limit;
  q.before_id = a.before;
  auto store = OpenReadOnly(a.data_dir);
  if (!store.ok()) return Fail(store.status());
  auto rows = (*store)->Get<store::OutboxRepository>().List(q);
  if (!rows.ok()) return Fail(rows.status());
  for (const store::Delivery& d : *rows) {
    // An e-mail recipient is masked as everywhere (its first character and its domain,
    // "l***@example.com"; a multi-byte first character kept whole).
    Json j = {{"id", d.id},
              {"kind", store::DeliveryKindName(d.kind)},
              {"target", d.kind == store::DeliveryKind::kEmail ? privacy::DefaultMasker().MaskField("email", d.target) : d.target},
              {"event", d.event},
              {"delivery", d.idempotency_key},
              {"state", store::DeliveryStateName(d.state)},
              {"attempts", d.attempts},
              {"created_at", FormatTimestamp(d.created_at)}};
    if (d.state == store::DeliveryState::kPending || d.state == store::DeliveryState::kFailed) {
      j["next_attempt_at"] = FormatTimestamp(d.next_attempt_at);
    }
    if (d.delivered_at > 0) j["delivered_at"] = FormatTimestamp(d.delivered_at);
    if (!d.last_error.empty()) j["last_error"] = d.last_error;
    std::printf("%s\n", j.dump().c_str());
  }
  return kExitOk;
}

int RunRetry(const std::string& data_dir, std::int64_t id, bool all_dead) {
  if ((id > 0) == all_dead) return Fail(Status::InvalidArgument("give one delivery ID or --dead"));
  auto store = OpenForKeys(data_dir);
  if (!store.ok()) return Fail(store.status());
  auto n = (*store)->Get<store::OutboxRepository>().Retry(all_dead ? 0 : id, SystemClock::Instance().Now());
  if (!n.ok()) return Fail(n.status());
  std::printf("%s\n", Json({{"retried", *n}}).dump().c_str());
  return kExitOk;
}

}  // namespace

void RegisterOutboxCommands(CLI::App& app, int* exit_code) {
  CLI::App* outbox = app.add_subcommand("outbox", "Outgoing webhooks and e-mail: the delivery log, retries");
  outbox->require_subcommand(1);

  auto list_args = std::make_shared<ListArgs>();
  CLI::App* list = outbox->add_subcommand("list", "Deliveries, newest first, one JSON object a line");
  list->add_option("--state", list_args->state, "pending | delivering | delivered | failed | dead");
  list->add_option("--kind", list_args->kind, "webhook | email");
  list->add_option("--endpoint", list_args->endpoint, "A [[webhooks]] name");
  list->add_option("--limit", list_args->limit, "At most this many (default 50)")->check(CLI::Range(1, 100000));
  list->add_option("--before", list_args->before, "Only ids below this (the next page)");
  list->add_option("--data", list_args->data_dir, "Data directory");
  list->callback([=] { *exit_code = RunList(*list_args); });

  auto data = std::make_shared<std::string>(DefaultDataDir());
  auto id = std::make_shared<std::int64_t>(0);
  auto dead = std::make_shared<bool>(false);
  CLI::App* retry = outbox->add_subcommand("retry", "Send a dead or failed delivery again (attempts from 0)");
  retry->add_option("id", *id, "The delivery's id (from `outbox list`)");
  retry->add_flag("--dead", *dead, "Every dead delivery");
  retry->add_option("--data", *data, "Data directory");
  retry->callback([=] { *exit_code = RunRetry(*data, *id, *dead); });
}

}  // namespace touchpoint::cli
