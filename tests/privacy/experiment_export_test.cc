// A person's exposures in experiments (store/experiment_repository.h) in their subject-rights
// export (privacy/subject_rights.h): as a customer (unit customer, any of their merged customer
// ids) with the experiment's name and variant, and as the CSV file of the zip format; another
// person's exposures and ticket units of tickets that are not theirs stay out.
#include <touchpoint/privacy/subject_rights.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/privacy/export_archive.h>
#include <touchpoint/store/experiment_repository.h>
#include <touchpoint/store/memory.h>

#include "testing/matchers.h"

namespace touchpoint::privacy {
namespace {

using ::testing::HasSubstr;

constexpr Millis kT0 = 1'772'413'200'000;

store::ExperimentRecord Experiment(std::string name, std::string unit) {
  store::ExperimentRecord e;
  e.name = std::move(name);
  e.unit = std::move(unit);
  e.variants = {{"control", 1}, {"coupon", 1}};
  e.salt = "s";
  e.metrics = {{"csat", "increase"}};
  e.correction = "holm";
  e.status = "running";
  return e;
}

TEST(ExperimentExportTest, TheExportListsTheirExposuresAsACustomer) {
  auto store = store::memory::Open();
  auto& repo = store->Get<store::ExperimentRepository>();
  auto outreach = repo.Create(Experiment("outreach", "customer"));
  ASSERT_OK(outreach);
  auto routing = repo.Create(Experiment("routing", "ticket"));
  ASSERT_OK(routing);
  ASSERT_OK(repo.Expose({outreach->id, "5", "coupon", kT0}));
  ASSERT_OK(repo.Expose({outreach->id, "6", "control", kT0 + 1}));  // the same person, merged
  ASSERT_OK(repo.Expose({outreach->id, "7", "coupon", kT0}));       // someone else
  ASSERT_OK(repo.Expose({routing->id, "5", "control", kT0}));       // ticket 5: not theirs
  const Subject person{CustomerId(5), {CustomerId(5), CustomerId(6)}};
  auto out = ExportSubject(*store, person, ExportOptions{.profile_json = "", .now = kT0, .requested_by = "cli"});
  ASSERT_OK(out);
  const auto doc = nlohmann::json::parse(out->json);
  ASSERT_EQ(doc["experiment_exposures"].size(), 2u);
  EXPECT_EQ(doc["experiment_exposures"][0]["name"], "outreach");
  EXPECT_EQ(doc["experiment_exposures"][0]["unit_kind"], "customer");
  EXPECT_EQ(doc["experiment_exposures"][0]["unit"], "5");
  EXPECT_EQ(doc["experiment_exposures"][0]["variant"], "coupon");
  EXPECT_EQ(doc["experiment_exposures"][1]["unit"], "6");
  auto files = ExportCsvFiles(out->json);
  ASSERT_OK(files);
  bool found = false;
  for (const CsvFile& f : *files) {
    if (f.name != "experiment_exposures.csv") continue;
    found = true;
    EXPECT_THAT(f.text, HasSubstr("experiment,name,unit_kind,unit,variant,exposed_at\r\n"));
    EXPECT_THAT(f.text, HasSubstr(",outreach,customer,5,coupon,"));
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace touchpoint::privacy
