#include <touchpoint/ingest/parser.h>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::ingest {
namespace {

using identity::IdentifierKind;
using ::touchpoint::testing::StatusIs;

TEST(ParserTest, SegmentIdentifyFromTheSpec) {
  Parser p;
  auto ev = p.ParseMessage(R"({
    "type": "identify", "messageId": "022bb90c-bbac-11e4-8dfc-aa07a5b093db",
    "timestamp": "2015-02-23T22:28:55.111Z", "userId": "97980cfea0067", "anonymousId": "507f191e810c19729de860ea",
    "context": {"device": {"id": "B5372DB0-C21E-11E4-8DFC-AA07A5B093DB"}, "channel": "app"},
    "traits": {"name": "Peter Gibbons", "email": " Peter@Example.com ", "phone": "+86 138-1234-5678", "plan": "premium"}})");
  ASSERT_OK(ev);
  EXPECT_EQ(ev->message_id, "022bb90c-bbac-11e4-8dfc-aa07a5b093db");
  EXPECT_EQ(FormatTimestamp(ev->timestamp), "2015-02-23T22:28:55.111Z");
  ASSERT_EQ(ev->identifiers.size(), 5u);
  EXPECT_EQ(ev->identifiers[0].kind, IdentifierKind::kUser) << "the anchor is the strongest identifier";
  EXPECT_EQ(ev->identifiers[1].kind, IdentifierKind::kPhone);
  EXPECT_EQ(ev->identifiers[1].value, "+8613812345678");
  EXPECT_EQ(ev->identifiers[2].value, "peter@example.com");
  EXPECT_EQ(ev->channel, "app");
  EXPECT_EQ(ev->traits.size(), 4u);
}

TEST(ParserTest, GroupIsKeptAsATrackEventAndItsTraitsAreTheGroups) {
  Parser p;
  auto ev = p.ParseMessage(R"({"type":"group","userId":"u1","groupId":"acme","messageId":"g1",
    "timestamp":"2024-03-01T10:00:00Z","traits":{"name":"Acme Ltd","email":"billing@acme.example","plan":"gold"},
    "context":{"traits":{"phone":"13812345678"}}})");
  ASSERT_OK(ev);
  EXPECT_EQ(ev->kind, store::EventKind::kTrack);
  EXPECT_EQ(ev->name, "Group");
  // The group's e-mail is not the person's identifier and the group's name not the person's.
  ASSERT_EQ(ev->identifiers.size(), 2u);
  EXPECT_EQ(ev->identifiers[0].kind, IdentifierKind::kUser);
  EXPECT_EQ(ev->identifiers[1].kind, IdentifierKind::kPhone) << "context.traits are still the person's";
  ASSERT_EQ(ev->traits.size(), 1u);
  EXPECT_EQ(ev->traits[0].first, "phone");
  // The typed route works as well, and a group needs its id.
  ASSERT_OK(p.ParseTyped(R"({"userId":"u1","groupId":"acme"})", "group"));
  for (const char* bad : {R"({"type":"group","userId":"u1"})", R"({"type":"group","userId":"u1","groupId":""})"}) {
    auto r = p.ParseMessage(bad);
    ASSERT_THAT(r, StatusIs(StatusCode::kInvalidArgument)) << bad;
    EXPECT_NE(r.status().message().find("groupId"), std::string::npos) << r.status().message();
  }
}

TEST(ParserTest, OrdersMessagesAndSurveysAreFirstClass) {
  Parser p;
  auto order = p.ParseMessage(R"({"type":"track","event":"Order Completed","userId":"u1","messageId":"o1",
    "timestamp":1709281800,"properties":{"order_id":"A-1","currency":"CNY",
    "products":[{"product_id":"p1","category":"phones","price":100.5,"quantity":2},{"product_id":"p2","price":"9"}]}})");
  ASSERT_OK(order);
  ASSERT_TRUE(order->order);
  EXPECT_DOUBLE_EQ(order->order->total, 210.0) << "total defaults to the sum of the lines";
  EXPECT_EQ(FormatTimestamp(order->timestamp), "2024-03-01T08:30:00.000Z");

  auto msg = p.ParseMessage(R"({"type":"track","event":"Message Received","anonymousId":"a1","messageId":"m1",
    "timestamp":"2024-03-01T08:30:00+08:00","properties":{"conversation_id":"c1","channel":"chat","text":"我要退款"}})");
  ASSERT_OK(msg);
  ASSERT_TRUE(msg->message);
  EXPECT_EQ(msg->message->author, "customer");
  EXPECT_TRUE(msg->message->inbound);

  auto survey = p.ParseMessage(R"({"type":"track","event":"Survey Answered","userId":"u1","messageId":"s1",
    "properties":{"nps":9,"csat":5,"touchpoint":"delivery"}})");
  ASSERT_OK(survey);
  EXPECT_EQ(survey->survey->nps, 9);
}

TEST(ParserTest, RejectsWithReasonsAUserCanAct) {
  Parser p;
  struct Case {
    const char* json;
    const char* reason;
  } cases[] = {
      {R"({"type":"track","event":"x","userId":"u1")", "invalid JSON"},
      {R"([1,2])", "must be a JSON object"},
      {R"({"event":"x","userId":"u1"})", "missing \"type\""},
      {R"({"type":"fly","userId":"u1"})", "unknown type"},
      {R"({"type":"track","event":"x"})", "needs userId, anonymousId or an identifying trait"},
      {R"({"type":"track","userId":"u1"})", "track needs a non-empty \"event\""},
      {R"({"type":"track","event":"x","userId":"u1","timestamp":"yesterday"})", "timestamp"},
      {R"({"type":"identify","userId":"u1","traits":{"phone":"call me"}})", "traits.phone"},
      {R"({"type":"identify","userId":"u1","traits":{"email":"nope"}})", "traits.email"},
      {R"({"type":"track","event":"Order Completed","userId":"u1","properties":{"order_id":"1","total":"lots"}})",
       "properties.total must be a number"},
      {R"({"type":"track","event":"Survey Answered","userId":"u1","properties":{"nps":11}})", "nps must be an integer 0-10"},
      {R"({"type":"track","event":"Message Received","userId":"u1","properties":{"text":"hi","channel":"fax"}})",
       "properties.channel"},
      {R"({"type":"alias","userId":"u1"})", "alias needs userId and previousId"},
      {"{\"type\":\"track\",\"event\":\"\xff\xfe\",\"userId\":\"u1\"}", "invalid JSON"},
  };
  for (const auto& c : cases) {
    auto r = p.ParseMessage(c.json);
    ASSERT_THAT(r, StatusIs(StatusCode::kInvalidArgument)) << c.json;
    EXPECT_NE(r.status().message().find(c.reason), std::string::npos) << c.json << " → " << r.status().message();
  }
}

TEST(ParserTest, OversizedRecordIsRejected) {
  ParserOptions o;
  o.max_record_bytes = 32 * 1024;
  Parser p(o);
  std::string big = R"({"type":"track","event":"x","userId":"u1","properties":{"pad":")" + std::string(40000, 'a') + "\"}}";
  EXPECT_THAT(p.ParseMessage(big), StatusIs(StatusCode::kInvalidArgument));
}

TEST(ParserTest, BatchItemsSucceedOrFailOneByOne) {
  Parser p;
  auto items = p.ParseBatch(R"({"batch":[
    {"type":"identify","userId":"u1","messageId":"a"},
    {"type":"track","userId":"u1","messageId":"b"},
    {"type":"page","anonymousId":"x","messageId":"c","name":"Home"}],
    "context":{"device":{"id":"dev-1"}}})");
  ASSERT_OK(items);
  ASSERT_EQ(items->size(), 3u);
  EXPECT_OK((*items)[0].event);
  EXPECT_FALSE((*items)[1].event.ok());
  EXPECT_EQ((*items)[1].message_id, "b");
  ASSERT_OK((*items)[2].event);
  EXPECT_EQ((*items)[2].event->identifiers.size(), 2u) << "batch-level context applies to items";
  EXPECT_THAT(p.ParseBatch(R"({"nobatch":1})"), StatusIs(StatusCode::kInvalidArgument));
}

TEST(ParserTest, ParseLineIntoAppendsAcceptedEventsAndCollectsReasons) {
  Parser p;
  std::vector<Event> out;
  std::vector<Status> rejected;
  out.emplace_back();  // appends after what is there
  EXPECT_EQ(p.ParseLineInto(R"({"batch":[
    {"type":"identify","userId":"u1","messageId":"a"},
    {"type":"track","userId":"u1","messageId":"b"},
    {"type":"page","anonymousId":"x","messageId":"c","name":"Home"}],
    "context":{"device":{"id":"dev-1"}}})", out, rejected), 2u);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].message_id, "a");
  EXPECT_EQ(out[2].message_id, "c");
  EXPECT_EQ(out[2].identifiers.size(), 2u) << "batch-level context applies to items";
  EXPECT_NE(out[2].body.find("\"Home\""), std::string::npos) << "an item's body is the item alone";
  ASSERT_EQ(rejected.size(), 1u) << "the track without an event name";
  EXPECT_EQ(rejected[0].code(), StatusCode::kInvalidArgument);

  rejected.clear();
  EXPECT_EQ(p.ParseLineInto(R"({"type":"track","userId":"u2","messageId":"d","event":"Signed Up"})", out, rejected), 1u);
  EXPECT_EQ(out.back().name, "Signed Up");
  EXPECT_EQ(p.ParseLineInto("{not json", out, rejected), 0u);
  EXPECT_EQ(p.ParseLineInto(R"({"batch":{"not":"an array"}})", out, rejected), 0u);
  EXPECT_EQ(out.size(), 4u) << "a rejected line adds nothing";
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_NE(rejected[0].message().find("invalid JSON"), std::string::npos) << rejected[0].message();
}

TEST(ParserTest, MissingMessageIdIsDerivedFromTheContent) {
  Parser p;
  const char* line = R"({"type":"track","event":"x","userId":"u1","timestamp":"2024-01-01T00:00:00Z"})";
  auto a = p.ParseMessage(line);
  auto b = p.ParseMessage(line);
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_EQ(a->message_id, b->message_id);
  EXPECT_EQ(a->hash, b->hash);
}

TEST(CsvMappingTest, CustomerOrderAndMessageRowsBecomeTrackingMessages) {
  Parser p;
  CsvHeader customers({"user_id", "phone", "email", "name", "city"});
  auto msg = CsvRowToMessage(CsvKind::kCustomers, customers, {"u9", "13812345678", "A@B.com", "李雷", "上海"}, "c.csv", 2);
  ASSERT_OK(msg);
  auto ev = p.ParseMessage(*msg);
  ASSERT_OK(ev);
  EXPECT_EQ(ev->kind, store::EventKind::kIdentify);
  EXPECT_EQ(ev->identifiers.size(), 3u);

  CsvHeader orders({"order_id", "user_id", "timestamp", "total", "channel"});
  EXPECT_EQ(GuessCsvKind(orders), CsvKind::kOrders);
  auto bad = CsvRowToMessage(CsvKind::kOrders, orders, {"o1", "u9", "2024-01-01", "abc", "web"}, "o.csv", 7);
  ASSERT_THAT(bad, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_NE(bad.status().message().find("o.csv:7"), std::string::npos);
  EXPECT_NE(bad.status().message().find("total"), std::string::npos);

  auto short_row = CsvRowToMessage(CsvKind::kOrders, orders, {"o1", "u9"}, "o.csv", 8);
  EXPECT_THAT(short_row, StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchpoint::ingest
