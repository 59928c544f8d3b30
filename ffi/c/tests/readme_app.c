/*
 * The README's C snippet as a program, built as a user builds one against an installed prefix:
 *   cc readme_app.c $(pkg-config --cflags --libs hamdb)
 * and run WITHOUT LD_LIBRARY_PATH (hamdb.pc's Libs carry -Wl,-rpath,${libdir}); make
 * test-install does both. Usage: readme_app DB_PATH (the file must not exist). Exit 0 iff the
 * one inserted item is found again.
 */
#include <hamdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: readme_app DB_PATH\n");
    return 2;
  }
  unlink(argv[1]);
  /* ---- from README.md ---- */
  hamdb_db *db = NULL;
  hamdb_batch *b = NULL;
  hamdb_results *res = NULL;
  uint8_t code[6] = {0xf0, 0x0d, 0xfe, 0xed, 0xbe, 0xef};
  if (hamdb_db_create(argv[1], 48, NULL, 0, 0, &db) != HAMDB_OK) {
    fprintf(stderr, "%s\n", hamdb_last_error_message()); /* thread-local detail */
    return 1;
  }
  hamdb_batch_new(&b);
  hamdb_batch_insert(b, 1, code, sizeof code, 3, (const uint8_t *)"images/1.png", 12);
  hamdb_db_commit(db, b, NULL); /* atomic, durable */
  hamdb_db_search(db, code, sizeof code, 10, HAMDB_ANY_CLASS, &res);
  int found = 0;
  for (size_t i = 0; i < hamdb_results_len(res); i++) {
    hamdb_hit hit;
    hamdb_results_get(res, i, &hit); /* id, distance, label, payload */
    found += hit.id == 1 && hit.distance == 0 && hit.label == 3 && hit.payload_len == 12 &&
             memcmp(hit.payload, "images/1.png", 12) == 0;
  }
  hamdb_results_free(res);
  hamdb_batch_free(b);
  hamdb_db_free(db);
  /* ---- end ---- */
  unlink(argv[1]);
  if (found != 1 || hamdb_abi_version() != HAMDB_ABI_VERSION) {
    fprintf(stderr, "readme_app: the inserted item was not found (%d)\n", found);
    return 1;
  }
  printf("readme_app: hamdb %s, found the item\n", hamdb_version());
  return 0;
}
