// hamdb from C++: create a database for an image model, insert images, query by image (with
// the query's predicted class) and by code.
//   hamdb_example MODEL.onnx IMAGE_DIR [DB_PATH]
// ONNX Runtime is found through ORT_DYLIB_PATH or the onnxruntime Python package.
#include <hamdb.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: hamdb_example MODEL.onnx IMAGE_DIR [DB_PATH]\n";
    return 2;
  }
  const std::string model = argv[1], images = argv[2];
  const std::string path = argc > 3 ? argv[3] : "example.hamdb";
  std::remove(path.c_str());
  try {
    if (!hamdb::abi_compatible()) {
      std::cerr << "libhamdb ABI mismatch\n";
      return 1;
    }
    std::cout << "hamdb " << hamdb::version() << "\n";
    auto enc = hamdb::Encoder::load(model);
    auto db = hamdb::Database::create_for_model(path, enc);

    // Insert 200 image files: each path becomes the payload, the predicted class the label.
    std::vector<std::string> files;
    char name[32];
    for (int i = 0; i < 200; i++) {
      std::snprintf(name, sizeof name, "/%05d.png", i);
      files.push_back(images + name);
    }
    auto report = db.insert_image_files(enc, files);
    std::cout << "inserted " << report.inserted << " images, " << report.failed << " failed\n";

    // Query by image: the query's class and its 5 nearest stored images.
    std::ifstream in(files[7], std::ios::binary);
    std::vector<uint8_t> query((std::istreambuf_iterator<char>(in)), {});
    auto res = db.search_image(enc, query, 5);
    auto pred = *res.prediction();
    std::cout << "query " << files[7] << ": class " << enc.class_name(pred.class_id) << " (p = "
              << pred.probability << ")\n";
    for (const auto& hit : res.to_vector())
      std::cout << "  id " << hit.id << " at " << hit.distance << " bits, class "
                << enc.class_name(hit.label.value_or(0)) << ", "
                << std::string(hit.payload.begin(), hit.payload.end()) << "\n";

    // Query by code: the same search from the code the encoder gives.
    auto [code, p] = enc.classify(query);
    auto by_code = db.search(code, 5, p.class_id);  // only items of the predicted class
    std::cout << "by code, class " << p.class_id << " only: " << by_code.size()
              << " hits, nearest id " << by_code[0].id << "\n";
    std::cout << "within 4 bits: " << db.search_radius(code, 4).size() << " images\n";

    // Errors carry the status code.
    try {
      db.search(std::vector<uint8_t>{1, 2, 3}, 5);
    } catch (const hamdb::Error& e) {
      std::cout << "expected error: status " << e.status() << ", " << e.message() << "\n";
    }
  } catch (const hamdb::Error& e) {
    std::cerr << "hamdb error " << e.status() << ": " << e.what() << "\n";
    return 1;
  }
  std::remove(path.c_str());
  return 0;
}
