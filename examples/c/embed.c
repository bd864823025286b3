/* Embeds a Batara dev chain in a C program: start it, make transfers, read balances, stop.
 *
 *   cc -I include examples/c/embed.c -L target/debug -lbatara -Wl,-rpath,$PWD/target/debug -o embed
 *   ./embed
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batara.h"

#define CHECK(call)                                                                   \
  do {                                                                                \
    batara_result rc_ = (call);                                                       \
    if (rc_ != BATARA_RESULT_OK) {                                                    \
      fprintf(stderr, "%s failed (%d): %s\n", #call, (int)rc_, batara_last_error_message()); \
      exit(1);                                                                        \
    }                                                                                 \
  } while (0)

static void on_block(uint64_t height, const uint8_t *hash32, uint32_t tx_count, void *user) {
  (void)hash32;
  unsigned *blocks = (unsigned *)user;
  *blocks += 1;
  printf("block %llu with %u tx\n", (unsigned long long)height, tx_count);
}

int main(void) {
  batara_dev_options opts = batara_dev_options_default();
  opts.accounts = 3;
  batara_node *node = NULL;
  CHECK(batara_node_start_dev(&opts, &node));
  unsigned blocks = 0;
  CHECK(batara_node_on_block(node, on_block, &blocks));

  batara_keypair *alice = NULL, *bob = NULL;
  CHECK(batara_dev_account(0, &alice));
  CHECK(batara_dev_account(1, &bob));
  char bob_addr[64];
  CHECK(batara_keypair_address(bob, bob_addr, sizeof bob_addr, NULL));

  /* 1. The convenient way: build, sign with the next nonce, submit, wait for the block. */
  uint8_t hash[32];
  CHECK(batara_node_transfer(node, alice, bob_addr, "1000", "1", true, hash));

  /* 2. Sign it yourself (any kind of transaction, given as JSON) and submit the bytes. */
  char chain_id[64], kind[160];
  CHECK(batara_node_chain_id(node, chain_id, sizeof chain_id, NULL));
  snprintf(kind, sizeof kind, "{\"type\":\"transfer\",\"to\":\"%s\",\"amount\":\"234\"}", bob_addr);
  batara_bytes *tx = NULL;
  CHECK(batara_tx_sign_json(alice, chain_id, 1, kind, "2", &tx, hash));
  CHECK(batara_node_submit(node, batara_bytes_data(tx), batara_bytes_len(tx), NULL));
  CHECK(batara_node_wait_tx(node, hash, 10000));
  batara_bytes_free(tx);

  /* Bad input is an error code, never a crash. */
  if (batara_node_transfer(node, alice, "bat1notanaddress", "1", "0", false, NULL) != BATARA_RESULT_INVALID_INPUT) {
    fprintf(stderr, "expected INVALID_INPUT\n");
    return 1;
  }
  printf("rejected as expected: %s\n", batara_last_error_message());
  batara_dev_options bad = batara_dev_options_default();
  bad.mode = 7; /* not a batara_dev_mode */
  batara_node *never = NULL;
  if (batara_node_start_dev(&bad, &never) != BATARA_RESULT_INVALID_INPUT || never != NULL) {
    fprintf(stderr, "expected INVALID_INPUT for a bad mode\n");
    return 1;
  }
  if (batara_node_transfer(node, NULL, bob_addr, "1", "0", false, NULL) != BATARA_RESULT_NULL_ARGUMENT) {
    fprintf(stderr, "expected NULL_ARGUMENT\n");
    return 1;
  }

  batara_account acct;
  CHECK(batara_node_account(node, bob_addr, &acct));
  printf("bob balance %s nonce %llu\n", acct.balance, (unsigned long long)acct.nonce);
  if (strcmp(acct.balance, "1000000000000000000001234") != 0) {
    fprintf(stderr, "unexpected balance\n");
    return 1;
  }
  uint64_t height = 0;
  CHECK(batara_node_height(node, &height));
  printf("height %llu\n", (unsigned long long)height);

  CHECK(batara_node_stop(node));
  batara_node_free(node); /* joins the callback thread */
  printf("callbacks saw %u blocks\n", blocks);
  batara_keypair_free(alice);
  batara_keypair_free(bob);
  return blocks == height ? 0 : 1;
}
