#include <touchpoint/service/channels.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/core/strings.h>
#include <touchpoint/outbox/outbox.h>
#include <touchpoint/outbox/signature.h>
#include <touchpoint/service/ticket.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/store/outbox_repository.h>
#include <touchpoint/text/normalize.h>

namespace touchpoint::service {
namespace {

using Json = nlohmann::ordered_json;

const std::vector<std::string>& DefaultTypes() {
  static const std::vector<std::string> kTypes = {"application/pdf", "image/png",       "image/jpeg",
                                                  "image/gif",       "image/webp",      "application/zip",
                                                  "application/x-ole-storage",          "text/plain"};
  return kTypes;
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  TP_CHECK(RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) == 1,
           "the system's random source failed");
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// Whitespace as std::isspace in the "C" locale.
std::string Trim(std::string_view s) { return touchpoint::Trim(s, kAsciiWhitespace); }

std::string Replace(std::string text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// Not a database failure: the change goes ahead without this delivery.
bool Undeliverable(const Status& s) {
  return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kFailedPrecondition ||
         s.code() == StatusCode::kNotFound;
}

constexpr std::string_view kDefaultSurvey =
    "How did we do with {ticket} ({subject})? Reply with a number from 1 (poor) to 5 (excellent).{link}\n"
    "您对本次服务（{ticket}）满意吗？请回复 1（很不满意）到 5（非常满意）的数字。";

}  // namespace

std::string DetectContentType(std::string_view d) {
  auto starts = [&](std::string_view magic) { return d.substr(0, magic.size()) == magic; };
  if (starts("%PDF-")) return "application/pdf";
  if (starts(std::string_view("\x89PNG\r\n\x1a\n", 8))) return "image/png";
  if (starts("\xFF\xD8\xFF")) return "image/jpeg";
  if (starts("GIF87a") || starts("GIF89a")) return "image/gif";
  if (d.size() >= 12 && starts("RIFF") && d.substr(8, 4) == "WEBP") return "image/webp";
  if (starts(std::string_view("PK\x03\x04", 4))) return "application/zip";
  if (starts("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")) return "application/x-ole-storage";
  if (starts("MZ")) return "application/x-msdownload";
  if (starts("\x7F" "ELF")) return "application/x-executable";
  if (d.find('\0') == std::string_view::npos && text::IsValidUtf8(d)) return "text/plain";
  return "application/octet-stream";
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  TP_CHECK(EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) == 1, "SHA-256 failed");
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kDigits[digest[i] >> 4]);
    out.push_back(kDigits[digest[i] & 15]);
  }
  return out;
}

std::optional<int> ScoreOfReply(std::string_view text) {
  std::string t = Trim(text);
  // Full-width digits １…５ (U+FF11…U+FF15).
  if (t.size() >= 3 && static_cast<unsigned char>(t[0]) == 0xEF && static_cast<unsigned char>(t[1]) == 0xBC &&
      static_cast<unsigned char>(t[2]) >= 0x91 && static_cast<unsigned char>(t[2]) <= 0x95) {
    t = std::string(1, static_cast<char>('1' + (static_cast<unsigned char>(t[2]) - 0x91))) + t.substr(3);
  }
  if (t.empty() || t[0] < '1' || t[0] > '5') return std::nullopt;
  const int score = t[0] - '0';
  std::string rest = Trim(t.substr(1));
  AsciiLowerInPlace(&rest);
  for (std::string_view end : {".", "!", "。", "！"}) {
    if (rest.size() >= end.size() && rest.compare(rest.size() - end.size(), end.size(), end) == 0) {
      rest = Trim(rest.substr(0, rest.size() - end.size()));
    }
  }
  for (std::string_view ok : {"", "分", "星", "/5", "stars", "star", "points", "point"}) {
    if (rest == ok) return score;
  }
  return std::nullopt;
}

Channels::Channels(outbox::Outbox* outbox, const Clock& clock, ChannelOptions options)
    : outbox_(outbox), clock_(clock), options_(std::move(options)) {}

Result<std::shared_ptr<Channels>> Channels::Create(outbox::Outbox* outbox, const Clock& clock, ChannelOptions options) {
  if (!options.csat_secret.empty() && options.csat_secret.size() < 16) {
    return Status::InvalidArgument("channels.csat_secret: at least 16 bytes");
  }
  if (options.max_attachment_bytes <= 0) return Status::InvalidArgument("channels.max_attachment_bytes: must be > 0");
  if (outbox != nullptr && !outbox->options().smtp.host.empty() && !options.connectors.count("email")) {
    options.connectors["email"] = ChannelConnector{"email", "", true, ""};
  }
  for (const auto& [name, c] : options.connectors) {
    TP_RETURN_IF_ERROR(CheckChannel(name, "channels." + name));
    if (c.kind != "email" && c.kind != "webhook") {
      return Status::InvalidArgument("channels." + name + ".kind: email or webhook");
    }
    if (c.kind == "webhook") {
      const bool known = outbox != nullptr && std::any_of(outbox->options().webhooks.begin(),
                                                          outbox->options().webhooks.end(),
                                                          [&](const auto& w) { return w.name == c.webhook; });
      if (!known) return Status::InvalidArgument("channels." + name + ".webhook: no [[webhooks]] endpoint named '" + c.webhook + "'");
    }
    if (c.kind == "email" && (outbox == nullptr || outbox->options().smtp.host.empty())) {
      return Status::InvalidArgument("channels." + name + ": e-mail needs an [email] SMTP relay");
    }
  }
  return std::shared_ptr<Channels>(new Channels(outbox, clock, std::move(options)));
}

Result<std::string> Channels::CheckAttachment(std::string_view data, std::string_view field) const {
  const std::string f(field);
  if (data.empty()) return Status::InvalidArgument(f + ": empty file");
  if (static_cast<std::int64_t>(data.size()) > options_.max_attachment_bytes) {
    return Status::InvalidArgument(f + ": larger than " + std::to_string(options_.max_attachment_bytes) + " bytes");
  }
  std::string type = DetectContentType(data);
  const auto& allowed = options_.attachment_types.empty() ? DefaultTypes() : options_.attachment_types;
  if (std::find(allowed.begin(), allowed.end(), type) == allowed.end()) {
    return Status::InvalidArgument(f + ": type " + type + " not allowed");
  }
  return type;
}

std::string Channels::SurveyToken(std::int64_t number, const std::string& id) const {
  return id + "." + outbox::SignatureV1(options_.csat_secret, number, "csat." + id).substr(0, 32);
}

Status Channels::Send(store::Store& store, store::Transaction& txn, const store::TicketRecord& ticket,
                      const std::string& key, const std::string& channel, const std::string& subject,
                      const std::string& text, const std::string& in_reply_to, const std::string& json_extra,
                      std::int64_t* outbox_id, std::string* mail_id) {
  auto it = options_.connectors.find(channel);
  if (outbox_ == nullptr || it == options_.connectors.end()) return Status::Ok();  // not_sent
  const ChannelConnector& c = it->second;
  // The customer's addresses: the ticket's customer and those merged into it.
  std::vector<CustomerId> ids{ticket.customer};
  store::IdentityRepository& identity = store.Get<store::IdentityRepository>();
  if (auto merged = identity.CustomersMergedInto(ticket.customer); merged.ok()) {
    ids.insert(ids.end(), merged->begin(), merged->end());
  }
  TP_ASSIGN_OR_RETURN(auto identifiers, identity.IdentifiersOf(ids));
  if (c.kind == "email") {
    std::string to;
    for (const auto& i : identifiers) {
      if (i.kind == "email" && to.empty()) to = i.value;
    }
    if (to.empty()) return Status::Ok();  // not_sent: no address
    outbox::Email e;
    e.to = to;
    e.subject = subject;
    e.text = text;
    e.in_reply_to = in_reply_to;
    e.key = key;
    auto enqueued = outbox_->EnqueueEmail(store, txn, e);
    if (!enqueued.ok()) return Undeliverable(enqueued.status()) ? Status::Ok() : enqueued.status();
    *outbox_id = enqueued->id;
    *mail_id = enqueued->message_id.size() > 2 ? enqueued->message_id.substr(1, enqueued->message_id.size() - 2) : "";
    return Status::Ok();
  }
  Json data;
  data["ticket"] = FormatTicketNumber(ticket.number);
  data["message"] = key;
  data["channel"] = channel;
  data["text"] = text;
  Json who;
  who["id"] = ticket.customer.value();
  Json by_kind = Json::object();
  for (const auto& i : identifiers) {
    if (!by_kind.contains(i.kind)) by_kind[i.kind] = i.value;
  }
  who["identifiers"] = std::move(by_kind);
  data["customer"] = std::move(who);
  if (!json_extra.empty()) {
    Json extra = Json::parse(json_extra, nullptr, false);
    if (extra.is_object()) {
      for (auto x = extra.begin(); x != extra.end(); ++x) data[x.key()] = x.value();
    }
  }
  outbox::Event ev;
  ev.id = key;
  ev.type = (key.rfind("csat_", 0) == 0 ? "csat.survey." : "reply.") + channel;
  ev.data_json = data.dump(-1, ' ', false, Json::error_handler_t::replace);
  auto enqueued = outbox_->EnqueueEventTo(store, txn, ev, c.webhook);
  if (!enqueued.ok()) return Undeliverable(enqueued.status()) ? Status::Ok() : enqueued.status();
  *outbox_id = *enqueued;
  return Status::Ok();
}

Status Channels::OnAgentMessage(store::Store& store, store::Transaction& txn, const store::TicketRecord& ticket,
                                store::TicketMessageRecord& message, std::span<const MessageAttachment> attachments) {
  if (message.internal && attachments.empty()) return Status::Ok();
  const std::string key = "out_" + RandomHex(12);
  message.message_id = key;
  store::ChannelRepository& repo = store.Get<store::ChannelRepository>();
  const Millis now = clock_.Now();
  std::vector<store::MessageAttachmentRecord> links;
  Json files = Json::array();
  for (size_t i = 0; i < attachments.size(); ++i) {
    const MessageAttachment& a = attachments[i];
    TP_ASSIGN_OR_RETURN(std::string type, CheckAttachment(a.data, "attachments[" + std::to_string(i) + "]"));
    const std::string hash = Sha256Hex(a.data);
    const auto size = static_cast<std::int64_t>(a.data.size());
    TP_RETURN_IF_ERROR(repo.PutAttachment(txn, store::AttachmentRecord{hash, type, size, a.data, now}));
    links.push_back(store::MessageAttachmentRecord{ticket.number, key, hash, a.filename, type, size});
    files.push_back(Json{{"hash", hash}, {"filename", a.filename}, {"content_type", type}, {"size", size}});
  }
  if (!links.empty()) TP_RETURN_IF_ERROR(repo.LinkAttachments(txn, links));
  if (message.internal) return Status::Ok();
  // In reply to the customer's newest e-mail on the thread, so that mail clients thread it.
  std::string in_reply_to;
  if (message.channel == "email") {
    TP_ASSIGN_OR_RETURN(auto thread, store.Get<store::TicketRepository>().Messages(ticket.number));
    for (auto m = thread.rbegin(); m != thread.rend() && in_reply_to.empty(); ++m) {
      if (m->author != "customer" || m->message_id.empty()) continue;
      TP_ASSIGN_OR_RETURN(auto rec, repo.FindMessage(m->message_id));
      if (rec && !rec->mail_id.empty()) in_reply_to = "<" + rec->mail_id + ">";
    }
  }
  std::string text = message.text;
  if (!files.empty() && message.channel == "email") {
    text += "\n\n";
    for (const auto& f : files) text += "[" + f["filename"].get<std::string>() + "]\n";
  }
  const std::string subject = "Re: " + ticket.subject + " [" + FormatTicketNumber(ticket.number) + "]";
  std::int64_t outbox_id = 0;
  std::string mail_id;
  const std::string extra = files.empty() ? "" : Json{{"attachments", files}}.dump();
  TP_RETURN_IF_ERROR(Send(store, txn, ticket, key, message.channel, subject, text, in_reply_to, extra, &outbox_id,
                          &mail_id));
  return repo.PutMessage(txn, store::ChannelMessageRecord{key, ticket.number, "out", message.channel, outbox_id,
                                                          mail_id, now});
}

Status Channels::OnSolved(store::Store& store, store::Transaction& txn, const store::TicketRecord& ticket) {
  auto it = options_.connectors.find(ticket.channel);
  if (options_.csat_secret.empty() || it == options_.connectors.end() || !it->second.csat) return Status::Ok();
  const std::string id = RandomHex(12);
  const std::string token = SurveyToken(ticket.number, id);
  const std::string number = FormatTicketNumber(ticket.number);
  std::string link;
  if (!options_.csat_link.empty()) {
    link = options_.csat_link + (options_.csat_link.find('?') == std::string::npos ? "?" : "&") + "ticket=" + number +
           "&token=" + token;
  }
  std::string text(it->second.csat_template.empty() ? kDefaultSurvey : std::string_view(it->second.csat_template));
  text = Replace(std::move(text), "{ticket}", number);
  text = Replace(std::move(text), "{subject}", ticket.subject);
  text = Replace(std::move(text), "{link}", link.empty() ? "" : "\n" + link);
  const std::string key = "csat_" + id;
  const Millis now = clock_.Now();
  std::int64_t outbox_id = 0;
  std::string mail_id;
  const std::string extra = Json{{"survey", Json{{"id", id}, {"token", token}, {"link", link}}}}.dump();
  TP_RETURN_IF_ERROR(Send(store, txn, ticket, key, ticket.channel, "How did we do? [" + number + "]", text, "", extra,
                          &outbox_id, &mail_id));
  store::ChannelRepository& repo = store.Get<store::ChannelRepository>();
  TP_RETURN_IF_ERROR(
      repo.PutMessage(txn, store::ChannelMessageRecord{key, ticket.number, "out", ticket.channel, outbox_id, mail_id, now}));
  return repo.AddSurvey(txn, store::CsatSurveyRecord{id, ticket.number, ticket.channel, outbox_id, now, 0, 0, ""});
}

std::optional<std::int64_t> Channels::ThreadOf(store::Store& store, const store::MessageRecord& message) {
  if (message.channel != "email" || message.message_id.empty()) return std::nullopt;
  auto rec = store.Get<store::ChannelRepository>().FindMessage(message.message_id);
  if (!rec.ok() || !rec->has_value() || (*rec)->ticket <= 0) return std::nullopt;
  // Follow merges to the ticket the thread lives in now.
  std::int64_t number = (*rec)->ticket;
  for (int hops = 0; hops < 16; ++hops) {
    auto t = store.Get<store::TicketRepository>().Find(number);
    if (!t.ok() || !t->has_value()) return std::nullopt;
    if ((*t)->merged_into == 0) return (*t)->status == "closed" ? std::nullopt : std::optional<std::int64_t>(number);
    number = (*t)->merged_into;
  }
  return std::nullopt;
}

Status Channels::OnCustomerMessage(store::Store& store, store::Transaction& txn, const store::TicketRecord& ticket,
                                   const store::TicketMessageRecord& message) {
  if (message.channel != "email" || message.message_id.empty()) return Status::Ok();
  store::ChannelRepository& repo = store.Get<store::ChannelRepository>();
  TP_ASSIGN_OR_RETURN(auto hint, repo.FindMessage(message.message_id));
  const std::string mail_id = hint ? hint->mail_id : message.message_id;
  return repo.PutMessage(
      txn, store::ChannelMessageRecord{message.message_id, ticket.number, "in", "email", 0, mail_id, message.at});
}

Result<bool> Channels::AnswersSurvey(store::Store& store, store::Transaction& txn, const store::TicketRecord& ticket,
                                     const store::TicketMessageRecord& message) {
  if (ticket.status != "solved") return false;
  const std::optional<int> score = ScoreOfReply(message.text);
  if (!score) return false;
  store::ChannelRepository& repo = store.Get<store::ChannelRepository>();
  TP_ASSIGN_OR_RETURN(auto surveys, repo.Surveys(ticket.number));
  for (auto s = surveys.rbegin(); s != surveys.rend(); ++s) {
    if (s->answered_at != 0) return false;  // the newest survey was answered: this is a new message
    if (message.at < s->sent_at || message.at - s->sent_at > options_.csat_reply_window) return false;
    TP_RETURN_IF_ERROR(repo.AnswerSurvey(txn, s->id, *score, "", message.at));
    return true;
  }
  return false;
}

Result<store::CsatSurveyRecord> Channels::Answer(store::Store& store, std::int64_t number, std::string_view token,
                                                 int score, const std::string& comment) {
  if (score < 1 || score > 5) return Status::InvalidArgument("score: an integer from 1 to 5");
  if (comment.size() > 2000) return Status::InvalidArgument("comment: longer than 2000 bytes");
  if (options_.csat_secret.empty()) return Status::PermissionDenied("token: surveys are not configured");
  const size_t dot = token.find('.');
  if (dot == std::string_view::npos) return Status::PermissionDenied("token: not a survey token of this ticket");
  const std::string id(token.substr(0, dot));
  const std::string expected = SurveyToken(number, id);
  if (expected.size() != token.size() || CRYPTO_memcmp(expected.data(), token.data(), token.size()) != 0) {
    return Status::PermissionDenied("token: not a survey token of this ticket");
  }
  store::ChannelRepository& repo = store.Get<store::ChannelRepository>();
  TP_ASSIGN_OR_RETURN(auto survey, repo.FindSurvey(id));
  if (!survey || survey->ticket != number) return Status::PermissionDenied("token: not a survey token of this ticket");
  const Millis now = clock_.Now();
  TP_ASSIGN_OR_RETURN(auto txn, store.Begin());
  TP_RETURN_IF_ERROR(repo.AnswerSurvey(*txn, id, score, comment, now));
  TP_RETURN_IF_ERROR(txn->Commit());
  survey->answered_at = now;
  survey->score = score;
  survey->comment = comment;
  return *survey;
}

Result<std::optional<DeliveryView>> Channels::Delivery(store::Store& store, const std::string& key) {
  TP_ASSIGN_OR_RETURN(auto rec, store.Get<store::ChannelRepository>().FindMessage(key));
  if (!rec || rec->direction != "out") return std::optional<DeliveryView>();
  DeliveryView v;
  v.channel = rec->channel;
  v.mail_id = rec->mail_id;
  if (rec->outbox_id == 0) {
    v.state = "not_sent";
    v.last_error = options_.connectors.count(rec->channel) ? "the customer has no address on this channel"
                                                           : "no connector for channel " + rec->channel;
    return std::optional<DeliveryView>(v);
  }
  TP_ASSIGN_OR_RETURN(auto d, store.Get<store::OutboxRepository>().Find(rec->outbox_id));
  if (!d) {
    v.state = "sent";  // delivered rows are the only ones the outbox prunes
    return std::optional<DeliveryView>(v);
  }
  v.attempts = d->attempts;
  v.last_error = d->last_error;
  switch (d->state) {
    case store::DeliveryState::kDelivered: v.state = "sent"; break;
    case store::DeliveryState::kDead: v.state = "failed"; break;
    default: v.state = "queued"; break;
  }
  return std::optional<DeliveryView>(v);
}

void Channels::Notify() {
  if (outbox_ != nullptr) outbox_->Notify();
}

}  // namespace touchpoint::service
