/* Reads as JSON from C: a block, its receipts, and accounts paged in address order. Prints one
 * JSON document per line ("block ...", "receipts ...", "page ...") for the Rust test to check,
 * then the result codes of bad calls ("codes a b c d"). */
#include <stdio.h>
#include <stdlib.h>

#include "batara.h"

#define CHECK(call)                                                                   \
  do {                                                                                \
    batara_result rc_ = (call);                                                       \
    if (rc_ != BATARA_RESULT_OK) {                                                    \
      fprintf(stderr, "%s failed (%d): %s\n", #call, (int)rc_, batara_last_error_message()); \
      exit(1);                                                                        \
    }                                                                                 \
  } while (0)

static void print_json(const char *label, batara_bytes *b) {
  printf("%s %.*s\n", label, (int)batara_bytes_len(b), (const char *)batara_bytes_data(b));
  batara_bytes_free(b);
}

int main(void) {
  batara_dev_options opts = batara_dev_options_default();
  opts.accounts = 3;
  batara_node *node = NULL;
  CHECK(batara_node_start_dev(&opts, &node));
  batara_keypair *alice = NULL, *bob = NULL;
  CHECK(batara_dev_account(0, &alice));
  CHECK(batara_dev_account(1, &bob));
  char bob_addr[64];
  CHECK(batara_keypair_address(bob, bob_addr, sizeof bob_addr, NULL));
  uint8_t hash[32];
  CHECK(batara_node_transfer(node, alice, bob_addr, "77", "3", true, hash));

  batara_bytes *out = NULL;
  CHECK(batara_node_block_json(node, BATARA_LATEST, &out));
  print_json("block", out);
  CHECK(batara_node_receipts_json(node, BATARA_LATEST, &out));
  print_json("receipts", out);
  CHECK(batara_node_account_page_json(node, NULL, 2, &out));
  print_json("page", out);
  CHECK(batara_node_info_json(node, &out));
  print_json("info", out);
  /* The second page starts after the first page's last address (known from the test: bob's
   * address is one of the accounts; page after it instead to exercise `after`). */
  CHECK(batara_node_account_page_json(node, bob_addr, 10, &out));
  print_json("after", out);

  int not_found = batara_node_receipts_json(node, 99, &out);
  int bad_limit = batara_node_account_page_json(node, NULL, 0, &out);
  int bad_after = batara_node_account_page_json(node, "bat1nope", 5, &out);
  int null_out = batara_node_block_json(node, 0, NULL);
  printf("codes %d %d %d %d\n", not_found, bad_limit, bad_after, null_out);

  batara_keypair_free(alice);
  batara_keypair_free(bob);
  CHECK(batara_node_stop(node));
  batara_node_free(node);
  return 0;
}
