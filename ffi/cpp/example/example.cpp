// hamdb from C++: create a database, insert codes, search by code (k-NN, radius, class filter).
//   hamdb_example [path]     (default: ./example.hamdb, replaced if it exists)
#include <hamdb.hpp>

#include <cstdio>
#include <iostream>
#include <random>

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "example.hamdb";
  std::remove(path.c_str());
  try {
    if (!hamdb::abi_compatible()) {
      std::cerr << "libhamdb ABI mismatch\n";
      return 1;
    }
    std::cout << "hamdb " << hamdb::version() << "\n";
    auto db = hamdb::Database::create(path, 64, "example-encoder");

    // 1,000 random 64-bit codes in 10 classes, one commit.
    std::mt19937_64 rng(7);
    hamdb::Batch batch;
    std::vector<std::array<uint8_t, 8>> codes(1000);
    for (uint64_t id = 0; id < codes.size(); id++) {
      uint64_t r = rng();
      for (int b = 0; b < 8; b++) codes[id][b] = static_cast<uint8_t>(r >> (8 * b));
      batch.insert(id, codes[id], static_cast<uint32_t>(id % 10), "image-" + std::to_string(id));
    }
    auto info = db.commit(batch);
    std::cout << "committed txn " << info.txn << ", " << db.stats().items << " items\n";

    // The 5 nearest neighbours of item 42's code, then only those of class 3.
    for (const auto& hit : db.search(codes[42], 5).to_vector())
      std::cout << "  id " << hit.id << " at " << hit.distance << " bits, class "
                << hit.label.value_or(~0u) << "\n";
    auto same_class = db.search(codes[42], 3, 3u);
    std::cout << "class 3: " << same_class.size() << " hits, nearest id " << same_class[0].id
              << " payload " << same_class[0].payload.to_string() << "\n";
    auto near = db.search_radius(codes[42], 20);
    std::cout << "within 20 bits: " << near.size() << " items\n";

    // Errors carry the status code.
    try {
      db.search(std::vector<uint8_t>{1, 2, 3}, 5);
    } catch (const hamdb::Error& e) {
      std::cout << "expected error: " << e.what() << " (status " << e.status() << ")\n";
    }
  } catch (const hamdb::Error& e) {
    std::cerr << "hamdb error " << e.status() << ": " << e.what() << "\n";
    return 1;
  }
  std::remove(path.c_str());
  return 0;
}
