// Deskflow from the command line (docs/service-desk.md): `touchpoint ticket search|tag|field`,
// `touchpoint canned list|show|set|delete`, `touchpoint desk repeats`, and what `ticket show`
// prints of a ticket's repeat summary, tags and fields. The CLI's desk writes repeat rows and
// search tokens as the server's does (it has the same listeners, minus events: the CLI does not
// read the server's [[webhooks]], so its changes send no webhook and reach no live feed).
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <touchpoint/core/time.h>
#include <touchpoint/pipeline/customer_view.h>
#include <touchpoint/privacy/masking.h>
#include <touchpoint/service/canned.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/service/repeats.h>
#include <touchpoint/service/search.h>
#include <touchpoint/service/ticket.h>
#include <touchpoint/store/deskflow_repository.h>
#include <touchpoint/store/user_repository.h>
#include <touchpoint/text/segmenter.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/data_access.h"
#include "cli/desk_access.h"

namespace touchpoint::cli {
namespace {

// The search index as the server builds it (the segmenter is loaded at the first search).
std::shared_ptr<service::SearchIndex> Index() {
  static std::shared_ptr<service::SearchIndex> index = std::make_shared<service::SearchIndex>(
      std::make_shared<service::PlainTokenHasher>(), []() -> std::shared_ptr<const text::Segmenter> {
        auto seg = text::Segmenter::Create({});
        if (seg.ok()) return std::move(*seg);
        return nullptr;
      });
  return index;
}

}  // namespace

service::DeskOptions DeskflowDeskOptions(const std::string& data_dir) {
  service::DeskOptions options;
  options.listeners = {std::make_shared<service::RepeatDetector>(), Index(), CliKpiListener(data_dir)};
  return options;
}

void PrintDeskflowLines(service::Desk& desk, std::int64_t number) {
  Status s = desk.WithStore([&](store::Store& st) -> Status {
    auto name = [&st](std::int64_t id) -> std::string {
      auto u = st.Get<store::UserRepository>().Find(id);
      return u.ok() && u->has_value() ? (*u)->email : "user:" + std::to_string(id);
    };
    TP_ASSIGN_OR_RETURN(auto info, service::FindRepeat(st, number, service::RepeatOptions{}.window_days, name));
    if (info && info->repeat()) {
      std::printf("repeat:    %s\n", service::RepeatSummary(*info).c_str());
      std::string links;
      for (const auto& e : info->previous) links += (links.empty() ? "" : ", ") + service::FormatTicketNumber(e.number);
      std::printf("           earlier: %s\n", links.c_str());
    }
    TP_ASSIGN_OR_RETURN(auto tags, st.Get<store::DeskflowRepository>().Tags(number));
    if (!tags.empty()) {
      std::string line;
      for (const auto& t : tags) line += (line.empty() ? "" : ", ") + t;
      std::printf("tags:      %s\n", line.c_str());
    }
    TP_ASSIGN_OR_RETURN(auto fields, st.Get<store::DeskflowRepository>().Fields(number));
    for (const auto& [k, v] : fields) std::printf("field:     %s = %s\n", k.c_str(), v.c_str());
    return Status::Ok();
  });
  if (!s.ok()) std::fprintf(stderr, "touchpoint: deskflow details unavailable: %s\n", std::string(s.message()).c_str());
}

void RegisterDeskflowCommands(CLI::App& app, int* exit_code) {
  auto data = std::make_shared<std::string>(DefaultDataDir());
  struct Args {
    std::string number, query, name, title, body, from, to;
    std::vector<std::string> add, remove, fields;
    int limit = 50;
  };
  auto a = std::make_shared<Args>();
  CLI::App* ticket = app.get_subcommand("ticket");

  CLI::App* search = ticket->add_subcommand("search", "Find tickets: TP-…, kind:value, tag:…, status:…, words");
  search->add_option("--data", *data, "Data directory");
  search->add_option("QUERY", a->query, "e.g. \"退款 tag:vip status:open\"")->required();
  search->add_option("--limit", a->limit, "At most this many (default 50)");
  search->callback([=] {
    WithDesk(*data, exit_code, [&](DeskHandle& h) -> Status {
      TP_ASSIGN_OR_RETURN(auto q, service::ParseSearchQuery(a->query, [&](const std::string& ref) -> Result<CustomerId> {
                            TP_ASSIGN_OR_RETURN(auto c, h.customers->Find(ref));
                            return c.id;
                          }));
      q.limit = a->limit;
      auto index = Index();
      TP_ASSIGN_OR_RETURN(auto found, h.desk->WithStore([&](store::Store& s) { return service::Search(s, *index, q); }));
      for (const auto& t : found) {
        std::printf("%-10s %-20s %-7s %-7s %s\n", service::FormatTicketNumber(t.number).c_str(), t.status.c_str(),
                    t.priority.c_str(), t.channel.c_str(), privacy::DefaultMasker().MaskText(t.subject).c_str());
      }
      return Status::Ok();
    });
  });

  CLI::App* tag = ticket->add_subcommand("tag", "Add or remove tags of a ticket");
  tag->add_option("--data", *data, "Data directory");
  tag->add_option("NUMBER", a->number, "TP-000123")->required();
  tag->add_option("--add", a->add, "Tag to add (repeatable)");
  tag->add_option("--remove", a->remove, "Tag to remove (repeatable)");
  tag->callback([=] {
    WithDesk(*data, exit_code, [&](DeskHandle& h) -> Status {
      TP_ASSIGN_OR_RETURN(std::int64_t n, service::ParseTicketNumber(a->number, "NUMBER"));
      TP_ASSIGN_OR_RETURN(auto tags, h.desk->ChangeTags(n, service::TagChange{a->add, a->remove}, kCliDeskActor));
      for (const auto& t : tags) std::printf("%s\n", t.c_str());
      return Status::Ok();
    });
  });

  CLI::App* field = ticket->add_subcommand("field", "Set custom fields of a ticket (NAME=VALUE; NAME= removes)");
  field->add_option("--data", *data, "Data directory");
  field->add_option("NUMBER", a->number, "TP-000123")->required();
  field->add_option("FIELDS", a->fields, "NAME=VALUE …")->required();
  field->callback([=] {
    WithDesk(*data, exit_code, [&](DeskHandle& h) -> Status {
      TP_ASSIGN_OR_RETURN(std::int64_t n, service::ParseTicketNumber(a->number, "NUMBER"));
      std::vector<std::pair<std::string, std::string>> fields;
      for (const std::string& f : a->fields) {
        const size_t eq = f.find('=');
        if (eq == std::string::npos) return Status::InvalidArgument("FIELDS: \"" + f + "\" is not NAME=VALUE");
        fields.emplace_back(f.substr(0, eq), f.substr(eq + 1));
      }
      TP_ASSIGN_OR_RETURN(auto all, h.desk->SetFields(n, fields, kCliDeskActor));
      for (const auto& [k, v] : all) std::printf("%s=%s\n", k.c_str(), v.c_str());
      return Status::Ok();
    });
  });

  CLI::App* canned = app.add_subcommand("canned", "Canned replies with {{placeholders}}: list, show, set, delete");
  canned->require_subcommand(1);
  CLI::App* clist = canned->add_subcommand("list", "Every canned reply");
  clist->add_option("--data", *data, "Data directory");
  clist->callback([=] {
    WithDesk(*data, exit_code, [&](DeskHandle& h) -> Status {
      TP_ASSIGN_OR_RETURN(auto list, h.desk->WithStore(
                                         [](store::Store& s) { return s.Get<store::DeskflowRepository>().ListCanned(); }));
      for (const auto& c : list) std::printf("%-24s %s\n", c.name.c_str(), c.title.c_str());
      return Status::Ok();
    });
  });
  CLI::App* cshow = canned->add_subcommand("show", "One canned reply's text");
  cshow->add_option("--data", *data, "Data directory");
  cshow->add_option("NAME", a->name, "Its name")->required();
  cshow->callback([=] {
    WithDesk(*data, exit_code, [&](DeskHandle& h) -> Status {
      TP_ASSIGN_OR_RETURN(auto c, h.desk->WithStore([&](store::Store& s) {
        return s.Get<store::DeskflowRepository>().FindCanned(a->name);
      }));
      if (!c) return Status::NotFound("no canned reply " + a->name);
      std::printf("%s\n", c->body.c_str());
      return Status::Ok();
    });
  });
  CLI::App* cset = canned->add_subcommand("set", "Create or replace a canned reply");
  cset->add_option("--data", *data, "Data directory");
  cset->add_option("NAME", a->name, "a-z 0-9 _ . -")->required();
  cset->add_option("--title", a->title, "Shown in pickers");
  cset->add_option("--body", a->body, "The text, e.g. \"您好 {{customer.name}}，工单 {{ticket.number}} …\"")->required();
  cset->callback([=] {
    WithDesk(*data, exit_code, [&](DeskHandle& h) -> Status {
      const Millis now = SystemClock::Instance().Now();
      TP_ASSIGN_OR_RETURN(auto saved, h.desk->WithStore([&](store::Store& s) {
        return service::PutCanned(s, store::CannedReplyRecord{a->name, a->title, a->body, 0, 0}, now);
      }));
      std::printf("saved %s\n", saved.name.c_str());
      return Status::Ok();
    });
  });
  CLI::App* cdel = canned->add_subcommand("delete", "Delete a canned reply");
  cdel->add_option("--data", *data, "Data directory");
  cdel->add_option("NAME", a->name, "Its name")->required();
  cdel->callback([=] {
    WithDesk(*data, exit_code, [&](DeskHandle& h) -> Status {
      return h.desk->WithStore([&](store::Store& s) -> Status {
        TP_ASSIGN_OR_RETURN(auto txn, s.Begin());
        TP_RETURN_IF_ERROR(s.Get<store::DeskflowRepository>().DeleteCanned(*txn, a->name));
        return txn->Commit();
      });
    });
  });

  CLI::App* desk = app.get_subcommand("desk");
  CLI::App* repeats = desk->add_subcommand("repeats", "Repeat-inquiry rates per intent and per channel");
  repeats->add_option("--data", *data, "Data directory");
  repeats->add_option("--from", a->from, "Contacts opened at or after (ISO 8601)");
  repeats->add_option("--to", a->to, "… and before");
  repeats->callback([=] {
    WithDesk(*data, exit_code, [&](DeskHandle& h) -> Status {
      Millis from = 0, to = 0;
      if (!a->from.empty()) {
        TP_ASSIGN_OR_RETURN(from, ParseTimestamp(a->from));
      }
      if (!a->to.empty()) {
        TP_ASSIGN_OR_RETURN(to, ParseTimestamp(a->to));
      }
      TP_ASSIGN_OR_RETURN(auto r, h.desk->WithStore([&](store::Store& s) {
        return service::RepeatRates(s.Get<store::DeskflowRepository>(), from, to);
      }));
      std::printf("%lld contacts, %lld repeats (%.1f%%)\n", static_cast<long long>(r.contacts),
                  static_cast<long long>(r.repeats), 100 * r.rate);
      std::printf("%-8s %-20s %9s %9s %7s\n", "BY", "KEY", "CONTACTS", "REPEATS", "RATE");
      for (const auto& [by, rows] : {std::pair{"intent", &r.by_intent}, std::pair{"channel", &r.by_channel}}) {
        for (const auto& x : *rows) {
          std::printf("%-8s %-20s %9lld %9lld %6.1f%%\n", by, x.key.c_str(), static_cast<long long>(x.contacts),
                      static_cast<long long>(x.repeats), 100 * x.rate);
        }
      }
      return Status::Ok();
    });
  });
}

}  // namespace touchpoint::cli
