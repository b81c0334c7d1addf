// The desk's channel routes (docs/service-desk.md "Channels", docs/http-api.md): inbound e-mail
// as mail relays post it, the customer's CSAT answer (a signed per-ticket token, no login), and
// a ticket's attachments; plus what the ticket routes of routes_desk.cc borrow: the delivery
// state, files and surveys shown on a ticket, and the attachments of an agent's reply.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <touchpoint/core/time.h>
#include <touchpoint/ingest/parser.h>
#include <touchpoint/privacy/signing.h>
#include <touchpoint/service/channels.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/service/email_inbound.h>
#include <touchpoint/service/ticket.h>
#include <touchpoint/store/channel_repository.h>

#include "server/desk_request_internal.h"
#include "server/routes.h"

namespace touchpoint::server {
namespace {

using desk_http::Error;
using desk_http::Json;
using desk_http::NumberParam;
using desk_http::ParseObject;
using desk_http::Time;

http::Response Unavailable() {
  return desk_http::Unavailable("the service desk's channels are not running on this node");
}

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// The raw message of an inbound request: the body itself (message/rfc822, text/plain,
// application/octet-stream: what relays post), or the "raw" (or "mime") string field of a JSON
// object (the relays that wrap it).
Result<std::string> RawMessage(const http::Request& req) {
  const std::string* ct = req.Header("content-type");
  const bool json = ct != nullptr && ct->find("json") != std::string::npos;
  if (!json) return req.body;
  Json j = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("body: expected a JSON object with \"raw\"");
  for (const char* field : {"raw", "mime", "body-mime"}) {
    auto it = j.find(field);
    if (it != j.end()) {
      if (!it->is_string()) return Status::InvalidArgument(std::string(field) + ": expected a string");
      return it->get<std::string>();
    }
  }
  return Status::InvalidArgument("raw: required (the RFC 5322 message as a string)");
}

std::string ThreadKey(const service::InboundEmail& mail, std::string_view raw) {
  // A message without a Message-ID gets one from its bytes, so a relay's retry is the same message.
  return mail.message_id.empty() ? "tp-" + service::Sha256Hex(raw).substr(0, 32) + "@inbound" : mail.message_id;
}

http::Response Inbound(const ServerContext& context, const http::Request& req) {
  if (context.channels == nullptr || context.engine == nullptr) return Unavailable();
  auto raw = RawMessage(req);
  if (!raw.ok()) return Error(raw.status());
  auto mail = service::ParseEmail(*raw);
  if (!mail.ok()) return http::JsonError(400, "invalid_email", mail.status().message());
  const std::string mail_id = ThreadKey(*mail, *raw);
  if (mail_id.size() > 250) return http::JsonError(400, "invalid_email", "Message-ID: longer than 250 bytes");
  std::string text = mail->reply_text.empty() ? mail->subject : mail->reply_text;
  if (text.empty()) return http::JsonError(400, "invalid_email", "the message has neither text nor a subject");
  ChannelsContext& ch = *context.channels;
  const Millis now = SystemClock::Instance().Now();
  Json out;
  out["message_id"] = mail_id;
  out["customer"] = "email:" + mail->from_address;
  out["thread"] = nullptr;
  out["attachments"] = Json::array();
  out["skipped"] = Json::array();
  {
    std::scoped_lock lock(ch.mu);
    store::ChannelRepository& repo = ch.store->Get<store::ChannelRepository>();
    // Threading: the newest of In-Reply-To, then References (newest first), naming a message the
    // desk sent or received.
    std::vector<std::string> refs;
    if (!mail->in_reply_to.empty()) refs.push_back(mail->in_reply_to);
    refs.insert(refs.end(), mail->references.rbegin(), mail->references.rend());
    std::int64_t thread = 0;
    for (const std::string& ref : refs) {
      auto found = repo.FindByMailId(ref);
      if (!found.ok()) return Error(found.status());
      if (*found && (*found)->ticket > 0) {
        thread = (*found)->ticket;
        break;
      }
    }
    if (thread > 0) out["thread"] = service::FormatTicketNumber(thread);
    auto txn = ch.store->Begin();
    if (!txn.ok()) return Error(txn.status());
    // Kept if already known: a relay's retry of a message the desk has threaded.
    auto known = repo.FindMessage(mail_id);
    if (!known.ok()) return Error(known.status());
    if (!*known || (*known)->ticket == 0) {
      Status put = repo.PutMessage(**txn, store::ChannelMessageRecord{mail_id, thread, "in", "email", 0, mail_id, now});
      if (!put.ok()) return Error(put);
    }
    std::vector<store::MessageAttachmentRecord> links;
    for (size_t i = 0; i < mail->attachments.size(); ++i) {
      const service::InboundAttachment& a = mail->attachments[i];
      auto type = ch.channels->CheckAttachment(a.data, "attachments[" + std::to_string(i) + "]");
      if (!type.ok()) {
        out["skipped"].push_back(Json{{"filename", a.filename}, {"reason", type.status().message()}});
        continue;
      }
      const std::string hash = service::Sha256Hex(a.data);
      const auto size = static_cast<std::int64_t>(a.data.size());
      Status put = repo.PutAttachment(**txn, store::AttachmentRecord{hash, *type, size, a.data, now});
      if (!put.ok()) return Error(put);
      links.push_back(store::MessageAttachmentRecord{thread, mail_id, hash, a.filename, *type, size});
      out["attachments"].push_back(Json{{"hash", hash}, {"filename", a.filename}, {"content_type", *type}, {"size", size}});
    }
    if (!links.empty()) {
      Status linked = repo.LinkAttachments(**txn, links);
      if (!linked.ok()) return Error(linked);
    }
    Status committed = (*txn)->Commit();
    if (!committed.ok()) return Error(committed);
  }
  // The message itself goes through the engine's normal ingest, as every customer message does.
  Json track;
  track["type"] = "track";
  track["event"] = "Message Received";
  track["messageId"] = mail_id;
  track["timestamp"] = FormatTimestamp(mail->date > 0 && mail->date <= now ? mail->date : now);
  track["context"] = Json{{"channel", "email"}, {"traits", Json{{"email", mail->from_address}}}};
  Json props{{"text", text}, {"channel", "email"}, {"author", "customer"}};
  if (!mail->subject.empty()) props["subject"] = mail->subject;
  props["conversation_id"] = mail->references.empty() ? mail_id : mail->references.front();
  track["properties"] = std::move(props);
  thread_local ingest::Parser parser;
  auto event = parser.ParseTyped(Dump(track), "track");
  if (!event.ok()) return http::JsonError(400, "invalid_email", event.status().message());
  std::vector<ingest::Event> events;
  events.push_back(std::move(*event));
  auto submitted = context.engine->Submit(std::move(events));
  if (!submitted.ok()) {
    context.log->error("inbound e-mail submit failed error={}", submitted.status().message());
    if (context.node != nullptr) context.node->ReportWriteFailure(submitted.status());
    http::Response r = http::JsonError(503, "unavailable", "the message could not be stored; retry later");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  context.metrics->AddEvents(submitted->accepted, 0, submitted->duplicates);
  out["duplicate"] = submitted->duplicates > 0;
  return JsonResponse(202, Dump(out));
}

http::Response Answer(const ServerContext& context, const http::Request& req, const RouteMatch& match) {
  if (context.channels == nullptr) return Unavailable();
  auto n = NumberParam(match);
  if (!n.ok()) return Error(n.status());
  auto body = ParseObject(req.body, {"token", "score", "comment"});
  if (!body.ok()) return Error(body.status());
  const Json& j = *body;
  auto token = j.find("token");
  if (token == j.end() || !token->is_string()) return Error(Status::InvalidArgument("token: required"));
  auto score = j.find("score");
  if (score == j.end() || !score->is_number_integer()) {
    return Error(Status::InvalidArgument("score: an integer from 1 to 5"));
  }
  std::string comment;
  if (auto c = j.find("comment"); c != j.end() && !c->is_null()) {
    if (!c->is_string()) return Error(Status::InvalidArgument("comment: expected a string"));
    comment = c->get<std::string>();
  }
  const std::int64_t s = score->get<std::int64_t>();
  if (s < 1 || s > 5) return Error(Status::InvalidArgument("score: an integer from 1 to 5"));
  ChannelsContext& ch = *context.channels;
  std::scoped_lock lock(ch.mu);
  auto answered = ch.channels->Answer(*ch.store, *n, token->get<std::string>(), static_cast<int>(s), comment);
  if (!answered.ok()) {
    if (answered.status().code() == StatusCode::kPermissionDenied) {
      return http::JsonError(403, "forbidden", answered.status().message());
    }
    return Error(answered.status());
  }
  return JsonResponse(200, Dump(Json{{"ticket", service::FormatTicketNumber(*n)},
                                     {"score", answered->score},
                                     {"sent_at", Time(answered->sent_at)},
                                     {"answered_at", Time(answered->answered_at)}}));
}

// The keys of the messages of `number`'s thread (a file is served only through a ticket that has it).
http::Response Attachment(const ServerContext& context, const RouteMatch& match) {
  if (context.channels == nullptr || context.desk == nullptr) return Unavailable();
  auto n = NumberParam(match);
  if (!n.ok()) return Error(n.status());
  const std::string hash(match.Param("hash"));
  auto view = context.desk->Get(*n);
  if (!view.ok()) return Error(view.status());
  ChannelsContext& ch = *context.channels;
  std::scoped_lock lock(ch.mu);
  store::ChannelRepository& repo = ch.store->Get<store::ChannelRepository>();
  std::optional<store::MessageAttachmentRecord> link;
  for (const auto& m : view->messages) {
    if (m.message_id.empty() || link) continue;
    auto files = repo.MessageAttachments(m.message_id);
    if (!files.ok()) return Error(files.status());
    for (const auto& f : *files) {
      if (f.hash == hash) link = f;
    }
  }
  if (!link) return http::JsonError(404, "not_found", "no attachment " + hash + " on " + service::FormatTicketNumber(*n));
  auto file = repo.FindAttachment(hash);
  if (!file.ok()) return Error(file.status());
  if (!*file) return http::JsonError(404, "not_found", "no attachment " + hash);
  http::Response r;
  r.status = 200;
  r.content_type = (*file)->content_type;
  r.body = std::move((*file)->data);
  std::string name;
  for (char c : link->filename) name.push_back(c == '"' || c == '\\' || c == '\r' || c == '\n' ? '_' : c);
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + "\"");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("ETag", "\"" + hash + "\"");
  return r;
}

}  // namespace

Result<std::vector<service::MessageAttachment>> ReplyAttachments(const Json& body) {
  std::vector<service::MessageAttachment> out;
  if (!body.is_object()) return out;
  auto it = body.find("attachments");
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_array()) return Status::InvalidArgument("attachments: expected an array");
  if (it->size() > 10) return Status::InvalidArgument("attachments: at most 10 files");
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& a = (*it)[i];
    const std::string field = "attachments[" + std::to_string(i) + "]";
    if (!a.is_object()) return Status::InvalidArgument(field + ": expected an object");
    for (auto f = a.begin(); f != a.end(); ++f) {
      if (f.key() != "filename" && f.key() != "content_base64") {
        return Status::InvalidArgument(field + "." + f.key() + ": unknown field");
      }
    }
    auto name = a.find("filename");
    auto data = a.find("content_base64");
    if (name == a.end() || !name->is_string() || name->get<std::string>().empty() ||
        name->get<std::string>().size() > 255) {
      return Status::InvalidArgument(field + ".filename: required (1–255 bytes)");
    }
    if (data == a.end() || !data->is_string()) return Status::InvalidArgument(field + ".content_base64: required");
    auto bytes = privacy::FromBase64(data->get<std::string>());
    if (!bytes) return Status::InvalidArgument(field + ".content_base64: not base64");
    out.push_back(service::MessageAttachment{name->get<std::string>(), std::move(*bytes)});
  }
  return out;
}

Status DecorateTicketJson(const ServerContext& context, std::int64_t number,
                          const std::vector<store::TicketMessageRecord>& messages, nlohmann::ordered_json& ticket) {
  if (context.channels == nullptr) return Status::Ok();
  ChannelsContext& ch = *context.channels;
  std::scoped_lock lock(ch.mu);
  store::ChannelRepository& repo = ch.store->Get<store::ChannelRepository>();
  for (size_t i = 0; i < messages.size() && i < ticket["messages"].size(); ++i) {
    const store::TicketMessageRecord& m = messages[i];
    if (m.message_id.empty()) continue;
    Json& out = ticket["messages"][i];
    TP_ASSIGN_OR_RETURN(auto delivery, ch.channels->Delivery(*ch.store, m.message_id));
    if (delivery) {
      Json d{{"state", delivery->state}, {"attempts", delivery->attempts}};
      if (!delivery->last_error.empty()) d["last_error"] = delivery->last_error;
      if (!delivery->mail_id.empty()) d["message_id"] = "<" + delivery->mail_id + ">";
      out["delivery"] = std::move(d);
    }
    TP_ASSIGN_OR_RETURN(auto files, repo.MessageAttachments(m.message_id));
    if (!files.empty()) {
      Json list = Json::array();
      for (const auto& f : files) {
        list.push_back(Json{{"hash", f.hash},
                            {"filename", f.filename},
                            {"content_type", f.content_type},
                            {"size", f.size},
                            {"url", "/v1/tickets/" + service::FormatTicketNumber(number) + "/attachments/" + f.hash}});
      }
      out["attachments"] = std::move(list);
    }
  }
  TP_ASSIGN_OR_RETURN(auto surveys, repo.Surveys(number));
  Json csat = Json::array();
  for (const auto& s : surveys) {
    Json one{{"channel", s.channel}, {"sent_at", Time(s.sent_at)}, {"answered_at", Time(s.answered_at)}};
    one["score"] = s.answered_at != 0 ? Json(s.score) : Json(nullptr);
    if (s.answered_at != 0 && !s.comment.empty()) {
      one["comment"] = context.masker ? context.masker->MaskText(s.comment) : s.comment;
    }
    csat.push_back(std::move(one));
  }
  ticket["csat"] = std::move(csat);
  return Status::Ok();
}

void RegisterChannelRoutes(Router& router, const ServerContext& context) {
  router.Add({"POST", "/v1/channels/email/inbound", privacy::Permission::kTrack,
              [&context](const http::Request& req, const RouteMatch&) { return Inbound(context, req); }});
  router.Add({"POST", "/v1/tickets/{number}/csat", kPublic,
              [&context](const http::Request& req, const RouteMatch& match) { return Answer(context, req, match); }});
  router.Add({"GET", "/v1/tickets/{number}/attachments/{hash}", privacy::Permission::kReadTickets,
              [&context](const http::Request&, const RouteMatch& match) { return Attachment(context, match); }});
}

}  // namespace touchpoint::server
