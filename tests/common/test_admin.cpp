// Unit tests of sharectl's rules over the AdminStore (share creation, membership, removed targets), on every
// store.
#include <catch2/catch.hpp>
#include <regex>
#include <string>
#include <vector>

#include "common/admin.hpp"
#include "common/error.hpp"
#include "common/ids.hpp"
#include "tests/common/store_fixtures.hpp"

namespace sharelink {
namespace {

using sharelink::testing::make_track;
using sharelink::testing::MemoryFixture;
using sharelink::testing::new_share;
using sharelink::testing::PostgresFixture;
using sharelink::testing::SqliteFixture;
using namespace std::chrono_literals;

const TimePoint k_now = from_unix_seconds(1785000000);  // 2026-07-25T17:20:00Z

// A store with three tracks and an empty collection.
template <typename Store>
struct Fixture : Store {
  Fixture() {
    for (const char* id : {"mtrack_000000000001", "mtrack_000000000002", "mtrack_000000000003"}) {
      this->add_track(make_track(id));
    }
    CollectionRecord c;
    c.id = "mcoll_000000000001";
    c.name = "Focus";
    c.created_at = k_now;
    REQUIRE(this->admin().add_collection(c));
  }
  std::vector<std::string> members() { return this->admin().collection("mcoll_000000000001")->track_ids; }
};

}  // namespace

TEMPLATE_TEST_CASE("admin: create_share stores a fresh link by its token's digest", "[admin]", MemoryFixture,
                   SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  auto request = new_share(TargetType::track, "mtrack_000000000001", k_now + 24h, 3, Visibility::public_link);
  request.note = "for the label";
  const CreatedShare a = create_share(f.admin(), request, k_now + 500ms);
  const CreatedShare b = create_share(f.admin(), request, k_now);
  CHECK(std::regex_match(a.token, std::regex("shr_[0-9a-f]{32}")));
  CHECK(std::regex_match(a.share.id, std::regex("mslink_[0-9a-f]{12}")));
  CHECK(a.token != b.token);
  CHECK(a.share.id != b.share.id);
  CHECK(a.share.token_fp == token_fingerprint(a.token));

  const auto stored = f.admin().share(a.share.id);
  REQUIRE(stored);
  CHECK(stored->target_type == TargetType::track);
  CHECK(stored->target_id == "mtrack_000000000001");
  CHECK(stored->visibility == Visibility::public_link);
  CHECK(stored->created_at == k_now);  // whole seconds
  CHECK(stored->expires_at == k_now + 24h);
  CHECK(stored->max_views == 3);
  CHECK(stored->view_count == 0);
  CHECK(stored->note == "for the label");
  CHECK(stored->created_by == "tester");
  CHECK(stored->token_fp == a.share.token_fp);
  CHECK_FALSE(stored->revoked_at);

  CHECK(find_share_by_token(f.admin(), a.token)->id == a.share.id);
  CHECK_FALSE(find_share_by_token(f.admin(), "shr_00000000000000000000000000000000"));
  CHECK_FALSE(find_share_by_token(f.admin(), "not a token"));
  CHECK_FALSE(f.admin().share_by_digest(a.token));  // looked up by digest, never by the token itself

  // Newest first; in the same second, the later-stored first.
  const CreatedShare c = create_share(f.admin(), request, k_now - 1s);
  std::vector<std::string> ids;
  for (const auto& s : f.admin().shares(std::nullopt)) ids.push_back(s.id);
  CHECK(ids == std::vector<std::string>{b.share.id, a.share.id, c.share.id});
  CHECK(f.admin().shares(std::string("mtrack_000000000002")).empty());
}

TEMPLATE_TEST_CASE("admin: revoking keeps the first revocation", "[admin]", MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  const auto created = f.share(new_share(TargetType::track, "mtrack_000000000001"), k_now);
  CHECK(f.admin().revoke_share(created.share.id, std::string("first"), k_now));
  CHECK(f.admin().revoke_share(created.share.id, std::string("second"), k_now + 1h));
  const auto stored = f.admin().share(created.share.id);
  CHECK(stored->revoked_at == k_now);
  CHECK(stored->revoke_reason == "first");
  CHECK_FALSE(f.admin().revoke_share("mslink_000000000000", std::nullopt, k_now));
  CHECK(f.admin().set_share_expiry(created.share.id, k_now + 2h));
  CHECK(f.admin().share(created.share.id)->expires_at == k_now + 2h);
  CHECK_FALSE(f.admin().set_share_expiry("mslink_000000000000", k_now));
}

TEMPLATE_TEST_CASE("admin: target_removed by the removed-content rule", "[admin]", MemoryFixture,
                   SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  const auto track = f.share(new_share(TargetType::track, "mtrack_000000000001"), k_now).share;
  const auto collection = f.share(new_share(TargetType::collection, "mcoll_000000000001"), k_now).share;
  const auto missing_track = f.share(new_share(TargetType::track, "mtrack_00000000dead"), k_now).share;
  const auto missing_collection =
      f.share(new_share(TargetType::collection, "mcoll_00000000dead"), k_now).share;
  CHECK_FALSE(target_removed(f.admin(), track));
  CHECK_FALSE(target_removed(f.admin(), collection));
  CHECK(target_removed(f.admin(), missing_track));
  CHECK(target_removed(f.admin(), missing_collection));
  f.set_track_removed("mtrack_000000000001", k_now);
  f.set_collection_removed("mcoll_000000000001", k_now);
  CHECK(target_removed(f.admin(), track));
  CHECK(target_removed(f.admin(), collection));
}

TEMPLATE_TEST_CASE("admin: membership changes are all or nothing", "[admin]", MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  std::string offender;
  REQUIRE(append_tracks(f.admin(), "mcoll_000000000001", {"mtrack_000000000002", "mtrack_000000000001"},
                        &offender) == MembershipChange::ok);
  CHECK(f.members() == std::vector<std::string>{"mtrack_000000000002", "mtrack_000000000001"});

  struct Case {
    const char* name;
    bool append;
    std::string collection;
    std::vector<std::string> tracks;
    MembershipChange expected;
    std::string offender;
  };
  const std::vector<Case> cases = {
      {"unknown collection",
       true,
       "mcoll_00000000dead",
       {"mtrack_000000000003"},
       MembershipChange::unknown_collection,
       ""},
      {"unknown track after a good one",
       true,
       "mcoll_000000000001",
       {"mtrack_000000000003", "mtrack_00000000dead"},
       MembershipChange::unknown_track,
       "mtrack_00000000dead"},
      {"already in the collection",
       true,
       "mcoll_000000000001",
       {"mtrack_000000000003", "mtrack_000000000001"},
       MembershipChange::duplicate_track,
       "mtrack_000000000001"},
      {"twice in one call",
       true,
       "mcoll_000000000001",
       {"mtrack_000000000003", "mtrack_000000000003"},
       MembershipChange::duplicate_track,
       "mtrack_000000000003"},
      {"drop from an unknown collection",
       false,
       "mcoll_00000000dead",
       {"mtrack_000000000001"},
       MembershipChange::unknown_collection,
       ""},
      {"drop a track that is not in it",
       false,
       "mcoll_000000000001",
       {"mtrack_000000000001", "mtrack_000000000003"},
       MembershipChange::not_member,
       "mtrack_000000000003"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    offender.clear();
    const auto change = c.append ? append_tracks(f.admin(), c.collection, c.tracks, &offender)
                                 : drop_tracks(f.admin(), c.collection, c.tracks, &offender);
    CHECK(change == c.expected);
    CHECK(offender == c.offender);
    CHECK(f.members() ==
          std::vector<std::string>{"mtrack_000000000002", "mtrack_000000000001"});  // unchanged
  }

  REQUIRE(drop_tracks(f.admin(), "mcoll_000000000001", {"mtrack_000000000002"}, nullptr) ==
          MembershipChange::ok);
  REQUIRE(append_tracks(f.admin(), "mcoll_000000000001", {"mtrack_000000000003", "mtrack_000000000002"},
                        nullptr) == MembershipChange::ok);
  CHECK(f.members() ==
        std::vector<std::string>{"mtrack_000000000001", "mtrack_000000000003", "mtrack_000000000002"});
}

TEMPLATE_TEST_CASE("admin: a write transaction that throws changes nothing", "[admin]", MemoryFixture,
                   SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  struct Abort {};
  CHECK_THROWS_AS(f.admin().write_transaction([&] {
    REQUIRE(f.admin().set_track_removed("mtrack_000000000001", k_now));
    f.admin().set_collection_tracks("mcoll_000000000001", std::vector<std::string>{"mtrack_000000000001"});
    REQUIRE(f.admin().add_track(make_track("mtrack_000000000004")));
    throw Abort{};
  }),
                  Abort);
  CHECK_FALSE(f.admin().track("mtrack_000000000001")->removed_at);
  CHECK_FALSE(f.admin().track("mtrack_000000000004"));
  CHECK(f.members().empty());
}

TEMPLATE_TEST_CASE("admin: tracks, upserts and the licence registry", "[admin]", MemoryFixture,
                   SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  CHECK_FALSE(f.admin().add_track(make_track("mtrack_000000000001")));  // the id is taken
  Track changed = make_track("mtrack_000000000001", "commercial_cleared", true, "2026-01", k_now + 1h);
  changed.title = "Renamed";
  const std::vector<Track> batch = {changed,
                                    make_track("mtrack_000000000009", "unclear", false, "2026-01", k_now)};
  f.admin().upsert_tracks(batch);
  const auto updated = f.admin().track("mtrack_000000000001");
  CHECK(updated->title == "Renamed");
  CHECK(updated->no_commercial);
  CHECK(updated->created_at == k_now);  // kept
  CHECK(f.admin().track("mtrack_000000000009"));
  CHECK(f.admin().tracks().size() == 4);

  const auto licences = f.admin().licences();
  REQUIRE(licences.size() == 4);
  CHECK(licences[0].licence_class == LicenceClass::commercial_cleared);
  f.admin().set_licence({LicenceClass::personal_only, "2026-01", true, true});
  const auto replaced = f.admin().licence(LicenceClass::personal_only, "2026-01");
  REQUIRE(replaced);
  CHECK(replaced->commercial_use);
  CHECK(replaced->requires_attribution);
  CHECK_FALSE(f.admin().licence(LicenceClass::personal_only, "2099-01"));
}

TEST_CASE("admin: SQLite failures of the admin store are translated", "[admin][store_sqlite]") {
  SqliteFixture f;
  const auto admin = f.storage().open_admin();  // lock_wait 10 ms
  auto block = f.block_writes();
  CHECK_THROWS_AS(admin->set_track_removed("mtrack_000000000001", k_now), DatabaseUnavailable);
  CHECK_THROWS_AS(create_share(*admin, new_share(TargetType::track, "mtrack_000000000001"), k_now),
                  DatabaseUnavailable);
  CHECK_THROWS_WITH(admin->set_licence({LicenceClass::unclear, "2027-01", false, true}),
                    Catch::Contains("database " + f.db().string() + ": database is locked"));
  block.reset();
  f.exec("DROP TABLE collection_tracks; DROP TABLE tracks");
  try {
    admin->tracks();
    FAIL("no error");
  } catch (const DatabaseUnavailable&) {
    FAIL("a damaged schema is not a passing unavailability");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("no such table"));
  }
}

}  // namespace sharelink
