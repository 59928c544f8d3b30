// GoogleTest suite for the C++ wrapper (ffi/cpp/hamdb.hpp) over the real library.
#include <hamdb.hpp>

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

namespace {

std::string temp_path(const std::string& name) {
  const char* tmp = std::getenv("TMPDIR");
  std::string p = std::string(tmp && *tmp ? tmp : "/tmp") + "/hamdb-cpp-" +
                  std::to_string(getpid()) + "-" + name;
  std::remove(p.c_str());
  return p;
}

std::vector<uint8_t> code32(uint32_t v) {
  return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
}

int popcount(uint32_t x) { return __builtin_popcount(x); }

bool same(const hamdb::Neighbor& a, const hamdb::Neighbor& b) {
  return a.id == b.id && a.distance == b.distance && a.label == b.label;
}

template <class F>
int status_of(F&& f) {
  try {
    f();
  } catch (const hamdb::Error& e) {
    return e.status();
  }
  return HAMDB_OK;
}

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path = temp_path(::testing::UnitTest::GetInstance()->current_test_info()->name());
    db.emplace(hamdb::Database::create(path, 32, "fp"));
    std::mt19937 rng(1);
    hamdb::Batch b;
    for (uint64_t id = 0; id < 300; id++) {
      uint32_t v = rng();
      values.push_back(v);
      b.insert(id, code32(v), uint32_t(id % 4), "p" + std::to_string(id));
    }
    db->commit(b);
  }
  void TearDown() override {
    db.reset();
    std::remove(path.c_str());
  }
  // Brute force: (distance, id) of the k nearest, optionally of one class.
  std::vector<std::pair<uint32_t, uint64_t>> brute(uint32_t q, size_t k,
                                                   std::optional<uint32_t> cls = {}) {
    std::vector<std::pair<uint32_t, uint64_t>> all;
    for (uint64_t id = 0; id < values.size(); id++)
      if (!cls || id % 4 == *cls) all.push_back({uint32_t(popcount(values[id] ^ q)), id});
    std::sort(all.begin(), all.end());
    if (all.size() > k) all.resize(k);
    return all;
  }
  std::string path;
  std::optional<hamdb::Database> db;
  std::vector<uint32_t> values;
};

TEST(Version, MatchesHeader) {
  EXPECT_TRUE(hamdb::abi_compatible());
  EXPECT_EQ(hamdb::version(), std::to_string(HAMDB_VERSION_MAJOR) + "." +
                                  std::to_string(HAMDB_VERSION_MINOR) + "." +
                                  std::to_string(HAMDB_VERSION_PATCH));
}

TEST_F(DatabaseTest, SearchMatchesBruteForce) {
  std::mt19937 rng(2);
  for (int i = 0; i < 50; i++) {
    uint32_t q = rng();
    size_t k = 1 + i % 12;
    std::optional<uint32_t> cls;
    if (i % 3 == 0) cls = uint32_t(i % 4);
    auto want = brute(q, k, cls);
    auto hits = db->search(code32(q), k, cls).to_vector();
    ASSERT_EQ(hits.size(), want.size());
    for (size_t j = 0; j < hits.size(); j++) {
      EXPECT_EQ(hits[j].distance, want[j].first);
      EXPECT_EQ(hits[j].id, want[j].second);
      EXPECT_EQ(hits[j].label, std::optional<uint32_t>(uint32_t(hits[j].id % 4)));
      std::string p = "p" + std::to_string(hits[j].id);
      EXPECT_EQ(hits[j].payload, std::vector<uint8_t>(p.begin(), p.end()));
    }
    auto nb = db->search_neighbors(code32(q), k, cls);
    ASSERT_EQ(nb.size(), want.size());
    for (size_t j = 0; j < nb.size(); j++) EXPECT_EQ(nb[j].id, want[j].second);
    auto snap_hits = db->snapshot().search(code32(q), k, cls).to_vector();
    EXPECT_EQ(snap_hits, hits);
  }
}

TEST_F(DatabaseTest, ClassFirstMatchesBruteForce) {
  std::mt19937 rng(7);
  for (int i = 0; i < 40; i++) {
    uint32_t q = rng();
    uint32_t cls = uint32_t(i % 6);  // 4, 5: no item has them (plain order)
    size_t k = i == 39 ? SIZE_MAX : size_t(1 + i % 90);
    // The class's nearest first, then the nearest others, each by (distance, id).
    std::vector<std::pair<uint32_t, uint64_t>> first, rest;
    for (uint64_t id = 0; id < values.size(); id++)
      (id % 4 == cls ? first : rest).push_back({uint32_t(popcount(values[id] ^ q)), id});
    std::sort(first.begin(), first.end());
    std::sort(rest.begin(), rest.end());
    auto want = first;
    want.insert(want.end(), rest.begin(), rest.end());
    if (want.size() > k) want.resize(k);
    auto hits = db->search_class_first(code32(q), k, cls).to_vector();
    ASSERT_EQ(hits.size(), want.size());
    for (size_t j = 0; j < hits.size(); j++) {
      EXPECT_EQ(hits[j].distance, want[j].first);
      EXPECT_EQ(hits[j].id, want[j].second);
    }
    EXPECT_EQ(db->snapshot().search_class_first(code32(q), k, cls).to_vector(), hits);
    uint32_t r = uint32_t(i % 14);
    std::vector<std::pair<uint32_t, uint64_t>> within;
    for (auto group : {&first, &rest})
      for (auto& e : *group)
        if (e.first <= r) within.push_back(e);
    auto rhits = db->search_radius_class_first(code32(q), r, cls).to_vector();
    ASSERT_EQ(rhits.size(), within.size());
    for (size_t j = 0; j < rhits.size(); j++) EXPECT_EQ(rhits[j].id, within[j].second);
    EXPECT_EQ(db->snapshot().search_radius_class_first(code32(q), r, cls).to_vector(), rhits);
  }
  EXPECT_EQ(status_of([&] { db->search_class_first(code32(1), 3, HAMDB_ANY_CLASS); }),
            HAMDB_INVALID_PARAMETER);
  std::vector<uint8_t> short_code{1, 2, 3};
  EXPECT_EQ(status_of([&] { db->snapshot().search_radius_class_first(short_code, 3, 1); }),
            HAMDB_CODE_LENGTH_MISMATCH);
  auto snap = db->snapshot();
  db->close();
  EXPECT_EQ(status_of([&] { db->search_radius_class_first(code32(1), 3, 1); }), HAMDB_CLOSED);
  EXPECT_EQ(snap.search_radius_class_first(code32(1), 32, 1).size(), 300u);
}

TEST_F(DatabaseTest, SearchManyEqualsOneQuerySearches) {
  std::mt19937 rng(5);
  const size_t n = 41;
  std::vector<uint8_t> codes;
  std::vector<uint32_t> qs;
  for (size_t i = 0; i < n; i++) {
    uint32_t q = i % 5 == 0 ? values[i] : uint32_t(rng());
    qs.push_back(q);
    auto c = code32(q);
    codes.insert(codes.end(), c.begin(), c.end());
  }
  auto snap = db->snapshot();
  for (size_t threads : {size_t(0), size_t(1), size_t(3)}) {
    for (std::optional<uint32_t> cls : {std::optional<uint32_t>(), std::optional<uint32_t>(2u)}) {
      auto many = db->search_many(codes, n, 7, cls, threads);
      auto smany = snap.search_many(codes, n, 7, cls, threads);
      auto rmany = db->search_radius_many(codes, n, 9, cls, threads);
      auto srmany = snap.search_radius_many(codes, n, 9, cls, threads);
      ASSERT_EQ(many.size(), n);
      ASSERT_EQ(smany.size(), n);
      ASSERT_EQ(rmany.size(), n);
      ASSERT_EQ(srmany.size(), n);
      for (size_t i = 0; i < n; i++) {
        auto one = db->search_neighbors(code32(qs[i]), 7, cls);
        auto want = brute(qs[i], 7, cls);
        ASSERT_EQ(many[i].size(), one.size());
        ASSERT_EQ(many[i].size(), want.size());
        for (size_t j = 0; j < one.size(); j++) {
          EXPECT_TRUE(same(many[i][j], one[j]));
          EXPECT_TRUE(same(smany[i][j], one[j]));
          EXPECT_EQ(many[i][j].id, want[j].second);
        }
        auto r = db->search_radius(code32(qs[i]), 9, cls).to_vector();
        ASSERT_EQ(rmany[i].size(), r.size());
        ASSERT_EQ(srmany[i].size(), r.size());
        for (size_t j = 0; j < r.size(); j++) {
          EXPECT_EQ(rmany[i][j].id, r[j].id);
          EXPECT_EQ(rmany[i][j].distance, r[j].distance);
          EXPECT_EQ(hamdb::detail::label_of(rmany[i][j].label), r[j].label);
          EXPECT_TRUE(same(srmany[i][j], rmany[i][j]));
        }
      }
    }
  }
  EXPECT_TRUE(db->search_many({}, 0, 3).empty());
  EXPECT_EQ(status_of([&] { db->search_many(codes, n + 1, 3); }), HAMDB_CODE_LENGTH_MISMATCH);
  EXPECT_EQ(status_of([&] { snap.search_radius_many(hamdb::ByteView(codes.data(), 7), 2, 3); }),
            HAMDB_CODE_LENGTH_MISMATCH);
  EXPECT_EQ(status_of([&] { db->search_many(codes, n, 3, std::nullopt, HAMDB_MAX_THREADS + 1); }),
            HAMDB_INVALID_PARAMETER);
  EXPECT_EQ(status_of([&] { snap.search_many(codes, n, 3, std::nullopt, 100000); }),
            HAMDB_INVALID_PARAMETER);
}

TEST(Create, ExpectedRadius) {
  std::string p = temp_path("expected-radius");
  {
    hamdb::CreateOptions o{};
    o.expected_radius = 5;
    o.has_expected_radius = true;
    auto db = hamdb::Database::create_with_options(p, 64, o);
    EXPECT_EQ(db.expected_radius(), std::optional<uint32_t>(5u));
    o.expected_radius = 65;
    EXPECT_EQ(status_of([&] { hamdb::Database::create_with_options(p + "2", 64, o); }),
              HAMDB_INVALID_PARAMETER);
  }
  EXPECT_EQ(hamdb::Database::open(p, HAMDB_OPEN_READ_ONLY).expected_radius(),
            std::optional<uint32_t>(5u));
  std::remove(p.c_str());
  EXPECT_EQ(hamdb::Database::create(p, 64).expected_radius(), std::nullopt);
  std::remove(p.c_str());
}

TEST_F(DatabaseTest, RadiusAndViews) {
  uint32_t q = values[10];
  auto res = db->search_radius(code32(q), 12);
  size_t want = 0;
  for (uint32_t v : values) want += popcount(v ^ q) <= 12;
  ASSERT_EQ(res.size(), want);
  EXPECT_EQ(res[0].id, 10u);
  EXPECT_EQ(res[0].distance, 0u);
  EXPECT_EQ(res[0].payload.to_string(), "p10");
  EXPECT_EQ(status_of([&] { res[res.size()]; }), HAMDB_NOT_FOUND);
  EXPECT_GT(res.stats().candidates_checked, 0u);
  auto res_cls = db->search_radius(code32(q), 12, 2u);
  for (const auto& h : res_cls.to_vector()) EXPECT_EQ(h.label, std::optional<uint32_t>(2));
}

TEST_F(DatabaseTest, BatchOpsGetAndAssignedIds) {
  hamdb::Batch b;
  b.upsert(1, code32(0xdeadbeef), std::nullopt, "new").erase(2).insert_auto(code32(7)).insert_auto(code32(8), 1u);
  EXPECT_EQ(b.size(), 4u);
  auto info = db->commit(b);
  EXPECT_TRUE(b.empty());
  auto ids = b.assigned_ids();
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(info.assigned_count, 2u);
  EXPECT_EQ(ids[0], info.first_assigned_id);
  auto it = db->get(1);
  ASSERT_TRUE(it.has_value());
  EXPECT_EQ(it->code().to_vector(), code32(0xdeadbeef));
  EXPECT_FALSE(it->label().has_value());
  EXPECT_EQ(it->payload().to_string(), "new");
  EXPECT_FALSE(db->get(2).has_value());
  EXPECT_EQ(db->get(ids[1])->label(), std::optional<uint32_t>(1));
  uint64_t one = db->insert(code32(9), 3u, "x");
  EXPECT_EQ(db->get(one)->payload().to_string(), "x");
  db->erase({one, 3});
  EXPECT_FALSE(db->get(one).has_value());
  EXPECT_EQ(db->stats().items, 300u + 2 + 1 - 1 - 2);
}

TEST_F(DatabaseTest, ItemsOfSeveralCodesAndQuerySets) {
  // Items 1000.. hold 1..5 codes each; every item of the fixture holds one (values[id]).
  std::mt19937 rng(7);
  std::vector<std::pair<uint64_t, std::vector<uint32_t>>> items;
  for (uint64_t id = 0; id < values.size(); id++) items.push_back({id, {values[id]}});
  auto packed = [](const std::vector<uint32_t>& vs) {
    std::vector<uint8_t> out;
    for (uint32_t v : vs) {
      auto c = code32(v);
      out.insert(out.end(), c.begin(), c.end());
    }
    return out;
  };
  hamdb::Batch b;
  for (uint64_t id = 1000; id < 1060; id++) {
    std::vector<uint32_t> vs(1 + rng() % 5);
    for (auto& v : vs) v = uint32_t(rng());
    b.insert_codes(id, packed(vs), vs.size(), uint32_t(id % 4), "m");
    items.push_back({id, vs});
  }
  std::vector<uint32_t> auto_vs{uint32_t(rng()), uint32_t(rng()), uint32_t(rng())};
  b.insert_auto_codes(packed(auto_vs), 3, 1u);
  std::vector<uint32_t> up_vs{uint32_t(rng()), uint32_t(rng())};
  b.upsert_codes(7, packed(up_vs), 2, uint32_t(7 % 4));  // a one-code item becomes two
  db->commit(b);
  uint64_t auto_id = b.assigned_ids().at(0);
  items.push_back({auto_id, auto_vs});
  items[7].second = up_vs;

  auto brute = [&](const std::vector<uint32_t>& q, size_t k, int radius,
                   std::optional<uint32_t> cls) {
    std::vector<std::pair<uint32_t, uint64_t>> all;
    for (auto& [id, vs] : items) {
      uint32_t label = id == auto_id ? 1 : uint32_t(id % 4);
      if (cls && label != *cls) continue;
      uint32_t best = 33;
      for (uint32_t a : q)
        for (uint32_t c : vs) best = std::min(best, uint32_t(popcount(a ^ c)));
      if (radius < 0 || int(best) <= radius) all.push_back({best, id});
    }
    std::sort(all.begin(), all.end());
    if (radius < 0 && all.size() > k) all.resize(k);
    return all;
  };
  auto as_pairs = [](const hamdb::Results& r) {
    std::vector<std::pair<uint32_t, uint64_t>> out;
    for (auto& h : r.to_vector()) out.push_back({h.distance, h.id});
    return out;
  };
  auto snap = db->snapshot();
  db->compact();
  for (int variant = 0; variant < 12; variant++) {
    std::vector<uint32_t> q(1 + variant % 4);
    for (auto& v : q) v = uint32_t(rng());
    std::optional<uint32_t> cls;
    if (variant % 3 == 1) cls = 2u;
    size_t k = size_t(variant) + 1;
    uint32_t r = uint32_t(variant % 4) + 5;
    auto qb = packed(q);
    EXPECT_EQ(as_pairs(db->search_set(qb, q.size(), k, cls)), brute(q, k, -1, cls));
    EXPECT_EQ(as_pairs(snap.search_set(qb, q.size(), k, cls)), brute(q, k, -1, cls));
    EXPECT_EQ(as_pairs(db->search_radius_set(qb, q.size(), r, cls)), brute(q, 0, int(r), cls));
    EXPECT_EQ(as_pairs(snap.search_radius_set(qb, q.size(), r, cls)), brute(q, 0, int(r), cls));
  }

  // get: every code, in insert order
  for (auto& [id, vs] : items) {
    auto it = db->get(id);
    ASSERT_TRUE(it.has_value());
    ASSERT_EQ(it->code_count(), vs.size());
    EXPECT_EQ(it->code().to_vector(), code32(vs[0]));
    auto codes = it->codes();
    ASSERT_EQ(codes.size(), vs.size());
    for (size_t i = 0; i < vs.size(); i++) {
      EXPECT_EQ(codes[i].to_vector(), code32(vs[i]));
      EXPECT_EQ(it->code(i).to_vector(), code32(vs[i]));
    }
    EXPECT_EQ(status_of([&] { it->code(vs.size()); }), HAMDB_NOT_FOUND);
  }
  EXPECT_EQ(snap.get(7)->code_count(), 2u);

  // errors
  std::vector<uint8_t> many(4 * (hamdb::max_codes_per_item + 1), 0x5a);
  hamdb::Batch bad;
  EXPECT_EQ(status_of([&] { bad.insert_codes(1, hamdb::ByteView(), 0); }),
            HAMDB_INVALID_PARAMETER);
  EXPECT_EQ(status_of([&] { bad.upsert_codes(1, many, hamdb::max_codes_per_item + 1); }),
            HAMDB_INVALID_PARAMETER);
  EXPECT_EQ(status_of([&] { bad.insert_auto_codes(hamdb::ByteView(many.data(), 9), 2); }),
            HAMDB_RAGGED_CODE_BUFFER);
  EXPECT_TRUE(bad.empty());
  bad.insert_codes(2000, hamdb::ByteView(many.data(), 6), 2);  // 24-bit codes
  EXPECT_EQ(status_of([&] { db->commit(bad); }), HAMDB_CODE_LENGTH_MISMATCH);
  bad.clear();
  bad.insert_codes(2000, hamdb::ByteView(many.data(), 4 * hamdb::max_codes_per_item),
                   hamdb::max_codes_per_item);
  db->commit(bad);
  EXPECT_EQ(db->get(2000)->code_count(), hamdb::max_codes_per_item);
  EXPECT_EQ(status_of([&] { db->search_set(hamdb::ByteView(), 0, 3); }), HAMDB_INVALID_PARAMETER);
  EXPECT_EQ(status_of([&] { snap.search_radius_set(hamdb::ByteView(many.data(), 7), 2, 3); }),
            HAMDB_CODE_LENGTH_MISMATCH);
  EXPECT_EQ(status_of([&] { db->search_radius_set(hamdb::ByteView(many.data(), 8), 3, 3); }),
            HAMDB_CODE_LENGTH_MISMATCH);
}

TEST_F(DatabaseTest, ErrorsCarryStatusAndMessage) {
  try {
    db->search(code32(1), 0);
    db->search(std::vector<uint8_t>{1, 2}, 3);
    FAIL() << "no exception";
  } catch (const hamdb::Error& e) {
    EXPECT_EQ(e.status(), HAMDB_CODE_LENGTH_MISMATCH);
    EXPECT_NE(e.message().find("32-bit"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("HAMDB_CODE_LENGTH_MISMATCH"), std::string::npos);
  }
  hamdb::Batch dup;
  dup.insert(5, code32(1));
  EXPECT_EQ(status_of([&] { db->commit(dup); }), HAMDB_DUPLICATE_ID);
  EXPECT_EQ(dup.size(), 1u);  // a failed commit leaves the batch as it was
  EXPECT_EQ(status_of([&] { hamdb::Batch().insert(1, hamdb::ByteView()); }),
            HAMDB_UNSUPPORTED_CODE_LENGTH);
  EXPECT_EQ(status_of([&] { hamdb::Database::open(path); }), HAMDB_LOCKED);
  EXPECT_EQ(status_of([&] { hamdb::Database::create(path, 32); }), HAMDB_IO);
  EXPECT_EQ(status_of([&] { hamdb::Database::create(path + ".x", 31); }),
            HAMDB_UNSUPPORTED_CODE_LENGTH);
  EXPECT_EQ(status_of([&] { hamdb::Database::open(path + ".missing"); }), HAMDB_IO);
}

TEST_F(DatabaseTest, OpenWaitsForTheLock) {
  hamdb::OpenOptions now{};
  now.has_lock_wait = true;  // lock_wait_ms 0: fail at once while the fixture holds the lock
  EXPECT_EQ(status_of([&] { hamdb::Database::open_with_options(path, now); }), HAMDB_LOCKED);
  // The fixture's writer closes 300 ms from now; a one-minute wait outlasts it (the default
  // 200 ms would not).
  hamdb::OpenOptions patient{};
  patient.lock_wait_ms = 60000;
  patient.has_lock_wait = true;
  auto start = std::chrono::steady_clock::now();
  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    db->close();
  });
  auto w = hamdb::Database::open_with_options(path, patient);
  closer.join();
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));
  EXPECT_EQ(w.stats().items, 300u);
}

TEST_F(DatabaseTest, ReadOnlyRefreshCloseAndMove) {
  auto ro = hamdb::Database::open(path, hamdb::kReadOnly);
  EXPECT_EQ(status_of([&] { ro.insert(code32(1)); }), HAMDB_READ_ONLY);
  EXPECT_EQ(status_of([&] { ro.compact(); }), HAMDB_READ_ONLY);
  db->insert(code32(1));
  EXPECT_EQ(ro.stats().items, 300u);
  EXPECT_TRUE(ro.refresh());
  EXPECT_EQ(ro.stats().items, 301u);
  EXPECT_EQ(ro.fingerprint(), (std::vector<uint8_t>{'f', 'p'}));
  EXPECT_EQ(ro.code_bits(), 32u);

  hamdb::Database moved = std::move(*db);
  EXPECT_EQ(moved.stats().items, 301u);
  auto snap = moved.snapshot();
  moved.close();
  moved.close();
  EXPECT_EQ(status_of([&] { moved.stats(); }), HAMDB_CLOSED);
  EXPECT_EQ(status_of([&] { moved.search(code32(1), 1); }), HAMDB_CLOSED);
  EXPECT_EQ(snap.size(), 301u);  // the snapshot outlives the closed handle
  EXPECT_EQ(snap.search(code32(values[0]), 1)[0].id, 0u);
}

TEST_F(DatabaseTest, FlushCompactImportVerify) {
  db->flush();
  EXPECT_EQ(db->stats().delta_items, 0u);
  db->erase({0, 1, 2});
  db->compact();
  auto st = db->stats();
  EXPECT_EQ(st.segments, 1u);
  EXPECT_EQ(st.items, 297u);
  std::vector<uint8_t> codes;
  for (uint32_t v : {1u, 2u, 3u}) {
    auto c = code32(v);
    codes.insert(codes.end(), c.begin(), c.end());
  }
  std::vector<uint64_t> ids{1000, 1001, 1002};
  std::vector<uint32_t> labels{0, 1, 2};
  db->import(codes, &ids, &labels);
  EXPECT_EQ(db->get(1002)->label(), std::optional<uint32_t>(2));
  auto auto_ids = db->import(codes);
  EXPECT_EQ(auto_ids.assigned_count, 3u);
  EXPECT_EQ(status_of([&] { db->import(hamdb::ByteView(codes.data(), 5)); }),
            HAMDB_RAGGED_CODE_BUFFER);
  auto report = hamdb::Database::verify(path);
  EXPECT_EQ(report.items, 303u);
}

TEST_F(DatabaseTest, ConcurrentSearchesWhileCommitting) {
  std::vector<std::thread> readers;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; t++)
    readers.emplace_back([&] {
      for (int i = 0; i < 200; i++)
        if (db->search(code32(values[i % 300]), 3).size() != 3) bad++;
    });
  for (int i = 0; i < 20; i++) db->insert(code32(i));
  for (auto& r : readers) r.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(db->stats().items, 320u);
}

// Image calls, with the real model and sample images (paths from the environment; make
// test-cpp sets them, with ORT_DYLIB_PATH).
std::vector<uint8_t> read_file(const std::string& p) {
  std::FILE* f = std::fopen(p.c_str(), "rb");
  std::vector<uint8_t> out;
  if (!f) return out;
  int c;
  while ((c = std::fgetc(f)) != EOF) out.push_back(uint8_t(c));
  std::fclose(f);
  return out;
}

// Strings go to C as NUL-terminated C strings: one with a NUL byte inside would be cut short
// there (another file), so every call that passes one throws HAMDB_INVALID_PARAMETER first.
TEST(Strings, NulInPathsThrowInvalidParameter) {
  std::string cut = temp_path("cut");
  std::string nul = cut + std::string("\0.junk", 6);
  ASSERT_EQ(nul.size(), cut.size() + 6);
  EXPECT_EQ(status_of([&] { hamdb::Database::create(nul, 32); }), HAMDB_INVALID_PARAMETER);
  EXPECT_NE(access(cut.c_str(), F_OK), 0) << "create made the file cut at the NUL";
  std::string real = temp_path("real");
  hamdb::Database::create(real, 32).close();
  std::string real_nul = real + std::string("\0.junk", 6);
  EXPECT_EQ(status_of([&] { hamdb::Database::open(real_nul, hamdb::kReadOnly); }),
            HAMDB_INVALID_PARAMETER);
  EXPECT_EQ(status_of([&] { hamdb::Database::verify(real_nul); }), HAMDB_INVALID_PARAMETER);
  EXPECT_EQ(status_of([&] { hamdb::Encoder::load(std::string("/no/model\0.onnx", 16)); }),
            HAMDB_INVALID_PARAMETER);
  try {
    hamdb::Encoder::load("/no/model.onnx", std::string("/no/libonnxruntime.so\0.1", 24));
    ADD_FAILURE() << "no exception";
  } catch (const hamdb::Error& e) {
    EXPECT_EQ(e.status(), HAMDB_INVALID_PARAMETER);
    EXPECT_NE(e.message().find("NUL"), std::string::npos) << e.message();
  }
  std::remove(real.c_str());
}

// k = 2^40 on a one-item database: nothing is sized by k (search_neighbors used to allocate
// k neighbours), and the answers are the right ones.
TEST(HugeK, SizedByItemsNotByK) {
  static_assert(hamdb::no_id == UINT64_MAX, "no_id is 2^64-1");
  std::string path = temp_path("huge-k");
  {
    auto db = hamdb::Database::create(path, 32);
    hamdb::Batch b;
    b.insert(0, code32(3), 2u, "zero");
    db.commit(b);
    const size_t huge = size_t(1) << 40;
    auto q = code32(1);  // distance 1 from item 0
    auto nb = db.search_neighbors(q, huge);
    ASSERT_EQ(nb.size(), 1u);
    EXPECT_EQ(nb[0].id, 0u);
    EXPECT_EQ(nb[0].distance, 1u);
    EXPECT_EQ(nb[0].label, 2u);
    EXPECT_EQ(db.search_neighbors(q, huge, 2u).size(), 1u);
    EXPECT_EQ(db.search_neighbors(q, huge, 7u).size(), 0u);
    auto hits = db.search(q, huge).to_vector();
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].payload, std::vector<uint8_t>({'z', 'e', 'r', 'o'}));
    auto snap = db.snapshot();
    b.insert(1, q);
    db.commit(b);
    auto snb = snap.search_neighbors(q, huge);  // the snapshot's own commit: one item
    ASSERT_EQ(snb.size(), 1u);
    EXPECT_EQ(snb[0].id, 0u);
    EXPECT_EQ(snap.search(q, huge).size(), 1u);
    nb = db.search_neighbors(q, huge);
    ASSERT_EQ(nb.size(), 2u);
    EXPECT_EQ(nb[0].id, 1u);
    EXPECT_EQ(nb[0].distance, 0u);
    EXPECT_EQ(nb[1].id, 0u);
  }
  std::remove(path.c_str());
}

TEST(Images, InsertSearchClassify) {
  const char* model = std::getenv("HAMDB_TEST_MODEL");
  const char* samples = std::getenv("HAMDB_TEST_SAMPLES");
  if (!model || !samples) GTEST_SKIP() << "HAMDB_TEST_MODEL / HAMDB_TEST_SAMPLES not set";
  auto enc = hamdb::Encoder::load(model, "", 1);
  EXPECT_EQ(enc.code_bits(), 48u);
  EXPECT_EQ(enc.num_classes(), 10u);
  EXPECT_FALSE(enc.class_name(0).empty());
  EXPECT_EQ(status_of([&] { enc.class_name(10); }), HAMDB_NOT_FOUND);
  EXPECT_EQ(status_of([&] { enc.classify("not an image"); }), HAMDB_IMAGE);
  EXPECT_EQ(status_of([&] { hamdb::Encoder::load("/no/model.onnx"); }), HAMDB_IO);

  std::vector<std::string> paths;
  char name[64];
  for (int i = 0; i < 40; i++) {
    std::snprintf(name, sizeof name, "/images/%05d.png", i);
    paths.push_back(std::string(samples) + name);
  }
  paths.push_back("/no/such.png");
  std::string path = temp_path("images");
  {
    auto db = hamdb::Database::create_for_model(path, enc);
    auto rep = db.insert_image_files(enc, paths);
    EXPECT_EQ(rep.inserted, 40u);
    EXPECT_EQ(rep.failed, 1u);
    ASSERT_EQ(rep.items.size(), 41u);
    EXPECT_EQ(rep.items[40].status, HAMDB_IO);
    EXPECT_FALSE(rep.items[40].message.empty());
    EXPECT_EQ(rep.items[40].id, hamdb::no_id);  // not 0, a real id
    auto img = read_file(paths[3]);
    auto [code, pred] = enc.classify(img);
    auto res = db.search_image(enc, img, 5);
    ASSERT_TRUE(res.prediction().has_value());
    EXPECT_EQ(res.prediction()->class_id, pred.class_id);
    EXPECT_EQ(res[0].distance, 0u);
    auto by_code = db.search(code, 5);
    EXPECT_FALSE(by_code.prediction().has_value());
    EXPECT_EQ(by_code.to_vector(), res.to_vector());
    auto same = db.search_image(enc, img, 10, pred.class_id);
    for (const auto& h : same.to_vector()) EXPECT_EQ(h.label, std::optional<uint32_t>(pred.class_id));
    EXPECT_EQ(db.search_image(enc, img, size_t(1) << 40).size(), 40u);  // nothing sized by k
    // Ranked: class first equals the class-first search by the query's code.
    auto ranked = db.search_image(enc, img, 12, std::nullopt, hamdb::Rank::class_first);
    ASSERT_TRUE(ranked.prediction().has_value());
    EXPECT_EQ(ranked.to_vector(), db.search_class_first(code, 12, pred.class_id).to_vector());
    EXPECT_EQ(db.search_image(enc, img, 12, std::nullopt, hamdb::Rank::distance).to_vector(),
              db.search(code, 12).to_vector());
    EXPECT_EQ(
        db.search_image_radius(enc, img, 14, std::nullopt, hamdb::Rank::class_first).to_vector(),
        db.search_radius_class_first(code, 14, pred.class_id).to_vector());
    uint32_t other = (pred.class_id + 1) % 10;  // a class filter decides
    EXPECT_EQ(db.search_image(enc, img, 5, other, hamdb::Rank::class_first).to_vector(),
              db.search_image(enc, img, 5, other).to_vector());
    EXPECT_EQ(status_of([&] { db.search_image(enc, img, 5, std::nullopt, hamdb::Rank(7)); }),
              HAMDB_INVALID_PARAMETER);
    auto exact = db.search_image_radius(enc, img, 0);
    for (size_t i = 0; i < exact.size(); i++) EXPECT_EQ(exact[i].distance, 0u);
    auto rep2 = db.insert_images(enc, {img, {1, 2, 3}}, {"mem-0", "mem-1"});
    EXPECT_EQ(rep2.inserted, 1u);
    EXPECT_EQ(rep2.items[1].status, HAMDB_IMAGE);
    EXPECT_EQ(rep2.items[1].id, hamdb::no_id);
    // A NUL byte in a path would cut it short (another file): thrown, nothing inserted.
    auto before = db.stats();
    EXPECT_EQ(status_of([&] {
                db.insert_image_files(enc, {paths[0], paths[1] + std::string("\0.junk", 6)});
              }),
              HAMDB_INVALID_PARAMETER);
    EXPECT_EQ(db.stats().items, before.items);
    EXPECT_EQ(db.stats().txn, before.txn);
    std::string cut = path + ".cut";
    EXPECT_EQ(status_of([&] {
                hamdb::Database::create_for_model(cut + std::string("\0.junk", 6), enc);
              }),
              HAMDB_INVALID_PARAMETER);
    EXPECT_NE(access(cut.c_str(), F_OK), 0);
    EXPECT_EQ(db.get(rep2.items[0].id)->payload().to_string(), "mem-0");
    auto code_db = hamdb::Database::create(path + ".codes", 48);
    EXPECT_EQ(status_of([&] { code_db.search_image(enc, img, 1); }), HAMDB_NO_ENCODER);
  }
  std::remove(path.c_str());
  std::remove((path + ".codes").c_str());
}

}  // namespace
