// service/channels.h — the desk's channels (docs/service-desk.md, "Channels"): agent replies
// delivered to the customer on the ticket's channel, the CSAT survey when a ticket is solved and
// its answer, inbound e-mail threading, and attachments.
//
//   agent reply ──► Desk txn { message (key = "out_…"); ChannelHook::OnAgentMessage:
//                              outbox row (e-mail by SMTP, or a signed webhook to the channel's
//                              gateway) + channel_messages row (key → outbox id, Message-ID) }
//   solve       ──► Desk txn { status; ChannelHook::OnSolved: csat_surveys row + its delivery }
//   inbound mail ─► route: ParseEmail, thread hint (In-Reply-To/References → ticket), files ──►
//                   engine ingest ("Message Received", channel email) ──► Desk feed: ThreadOf
//                   picks the hinted ticket; AnswersSurvey takes a reply "1"…"5" to a solved
//                   ticket as the survey's answer; OnCustomerMessage records the Message-ID
//
// Everything a change sends is written in the desk's transaction, so a kill -9 neither loses a
// delivery (it is a committed outbox row) nor duplicates one (the outbox's at-least-once with
// the same idempotency key / Message-ID; see docs/outbox.md).
//
// Delivery state on a message is the outbox row's: pending/delivering/failed-but-retrying →
// "queued", delivered → "sent", dead → "failed" (with attempts and the last error). Delivered
// rows pruned by the outbox (keep_delivered) read as "sent": only delivered rows are pruned.
//
// Thread safety: every method may be called from any thread; the hook methods run under the
// desk's lock on the desk's store.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/store/activity_repository.h>
#include <touchpoint/store/channel_repository.h>
#include <touchpoint/store/store.h>
#include <touchpoint/store/ticket_repository.h>

namespace touchpoint::outbox {
class Outbox;
}

namespace touchpoint::service {

// A file an agent attaches to a reply (the HTTP API's base64 field, decoded).
struct MessageAttachment {
  std::string filename;
  std::string data;
};

// The desk's seam for channels: called by service::Desk inside its transaction, under its lock.
class ChannelHook {
 public:
  virtual ~ChannelHook() = default;
  // An agent's or bot's message about to be written in `txn`: stores and links `attachments`,
  // and queues a reply (not an internal note) for delivery. Sets message.message_id to the
  // message's key. kInvalidArgument for a refused attachment (nothing is written).
  virtual Status OnAgentMessage(store::Store& store, store::Transaction& txn, const store::TicketRecord& ticket,
                                store::TicketMessageRecord& message,
                                std::span<const MessageAttachment> attachments) = 0;
  // `ticket` becomes solved in `txn`: its CSAT survey goes out when its channel wants one.
  virtual Status OnSolved(store::Store& store, store::Transaction& txn, const store::TicketRecord& ticket) = 0;
  // The ticket an inbound customer message belongs to by e-mail threading, if any.
  virtual std::optional<std::int64_t> ThreadOf(store::Store& store, const store::MessageRecord& message) = 0;
  // An inbound customer message to solved `ticket`: true when it answers the ticket's open survey
  // ("4", "５分", "5 stars"; the answer is written in `txn`): the desk then keeps it solved.
  virtual Result<bool> AnswersSurvey(store::Store& store, store::Transaction& txn, const store::TicketRecord& ticket,
                                     const store::TicketMessageRecord& message) = 0;
  // An inbound customer message joined `ticket` in `txn` (once, after the desk chose the ticket):
  // records an e-mail's Message-ID for threading.
  virtual Status OnCustomerMessage(store::Store& store, store::Transaction& txn, const store::TicketRecord& ticket,
                                   const store::TicketMessageRecord& message) = 0;
};

// [channels.<name>] of the configuration: how replies on a ticket channel reach the customer.
struct ChannelConnector {
  // "email": SMTP through the outbox ([email]); "webhook": a signed POST to `webhook`.
  std::string kind = "webhook";
  std::string webhook;  // the [[webhooks]] endpoint name of the channel's gateway
  bool csat = true;     // a survey when a ticket of this channel is solved
  // The survey's text; {ticket}, {subject} and {link} are replaced. Empty: the default.
  std::string csat_template;
};

struct ChannelOptions {
  // By ticket channel (chat, email, social, phone, ivr, app). A channel without an entry gets no
  // delivery (its replies show delivery state "not_sent"); "email" defaults to SMTP when the
  // outbox has an SMTP relay.
  std::map<std::string, ChannelConnector> connectors;
  std::string csat_secret;    // HMAC key of the survey tokens (≥ 16 bytes); empty: no surveys
  std::string csat_link;      // the company's survey page: {link} = csat_link?ticket=…&token=…
  Millis csat_reply_window = 7 * kMillisPerDay;  // a reply "1"…"5" counts as the answer this long
  std::int64_t max_attachment_bytes = 10 << 20;
  // Content types allowed (as the magic bytes say); empty: the default list (see
  // DetectContentType).
  std::vector<std::string> attachment_types;
};

// What the magic bytes of `data` say it is: application/pdf, image/png, image/jpeg, image/gif,
// image/webp, application/zip (also docx/xlsx), application/msword (OLE: doc/xls), text/plain
// (valid UTF-8 without NUL), or application/octet-stream.
std::string DetectContentType(std::string_view data);
// Lower-case hex SHA-256.
std::string Sha256Hex(std::string_view data);
// A reply that is only a score: "4", "５", "4分", "4 星", "4/5", "4 stars" → 4; nullopt otherwise.
std::optional<int> ScoreOfReply(std::string_view text);

// A message's channel side, for the ticket view.
struct DeliveryView {
  std::string state;  // queued | sent | failed | not_sent
  int attempts = 0;
  std::string last_error;
  std::string channel;
  std::string mail_id;  // e-mail: the Message-ID it was sent with
};

class Channels final : public ChannelHook {
 public:
  // `outbox` may be null (nothing is delivered: every reply is "not_sent"); it must outlive this.
  // kInvalidArgument for a bad option (unknown connector kind, webhook endpoint not configured,
  // short secret).
  static Result<std::shared_ptr<Channels>> Create(outbox::Outbox* outbox, const Clock& clock, ChannelOptions options);

  // ---- ChannelHook ----
  Status OnAgentMessage(store::Store& store, store::Transaction& txn, const store::TicketRecord& ticket,
                        store::TicketMessageRecord& message, std::span<const MessageAttachment> attachments) override;
  Status OnSolved(store::Store& store, store::Transaction& txn, const store::TicketRecord& ticket) override;
  std::optional<std::int64_t> ThreadOf(store::Store& store, const store::MessageRecord& message) override;
  Result<bool> AnswersSurvey(store::Store& store, store::Transaction& txn, const store::TicketRecord& ticket,
                             const store::TicketMessageRecord& message) override;
  Status OnCustomerMessage(store::Store& store, store::Transaction& txn, const store::TicketRecord& ticket,
                           const store::TicketMessageRecord& message) override;

  // Checks a file against the size limit and the allow-list: its content type, or
  // kInvalidArgument naming `field` ("attachments[0]: type application/x-msdownload not allowed").
  Result<std::string> CheckAttachment(std::string_view data, std::string_view field) const;

  // The survey token of survey `id` of ticket `number` ("<id>.<hmac>").
  std::string SurveyToken(std::int64_t number, const std::string& id) const;
  // Records the answer carried by `token` in a transaction of its own on `store`:
  // kPermissionDenied for a token not of this ticket, kInvalidArgument for a score outside 1–5
  // or a comment over 2000 bytes, kFailedPrecondition when answered already.
  Result<store::CsatSurveyRecord> Answer(store::Store& store, std::int64_t number, std::string_view token, int score,
                                         const std::string& comment);

  // The delivery state of the message with key `key` (nullopt: not an outbound message).
  Result<std::optional<DeliveryView>> Delivery(store::Store& store, const std::string& key);

  // Wakes the outbox's dispatcher (after the desk committed a delivery).
  void Notify();

  const ChannelOptions& options() const { return options_; }

 private:
  Channels(outbox::Outbox* outbox, const Clock& clock, ChannelOptions options);
  Status Send(store::Store& store, store::Transaction& txn, const store::TicketRecord& ticket,
              const std::string& key, const std::string& channel, const std::string& subject,
              const std::string& text, const std::string& in_reply_to, const std::string& json_extra,
              std::int64_t* outbox_id, std::string* mail_id);

  outbox::Outbox* outbox_;
  const Clock& clock_;
  ChannelOptions options_;
};

}  // namespace touchpoint::service
