/* Reads as JSON from C: a block, its receipts, accounts paged in address order, and — after bob
 * delegates to the validator named by argv[1], signed through the JSON kind — delegations,
 * delegators, rewards and the community pool; then a proposal and a vote (also through the JSON
 * kinds), the proposal, its votes, the governance parameters and, after `skip_to_voting_end`, the
 * rejected proposals. First the balances of bob, the validator and alice, one by one and in one
 * call ("balances ..."), and the codes of bad balance calls ("balance_codes ...").
 * Prints one JSON document per line ("block ...",
 * "receipts ...", "page ...", "delegations ...") for the Rust test to check, then the result
 * codes of bad calls ("codes a b c d e f"). */
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

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: reads VALIDATOR_ADDRESS\n");
    return 2;
  }
  const char *validator = argv[1];
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

  /* Balances: one, and several in one call (in order; the validator's address has no account). */
  char alice_addr[64];
  CHECK(batara_keypair_address(alice, alice_addr, sizeof alice_addr, NULL));
  char one[40];
  CHECK(batara_node_balance(node, bob_addr, one));
  const char *asked[3] = {bob_addr, validator, alice_addr};
  char many[3][40];
  CHECK(batara_node_balances(node, asked, 3, many));
  printf("balances %s %s %s %s\n", one, many[0], many[1], many[2]);
  const char *bad[2] = {bob_addr, "bat1nope"};
  int bad_one = batara_node_balance(node, "bat1nope", one);
  int bad_many = batara_node_balances(node, bad, 2, many);
  int null_many = batara_node_balances(node, NULL, 2, many);
  int none = batara_node_balances(node, NULL, 0, NULL);
  printf("balance_codes %d %d %d %d\n", bad_one, bad_many, null_many, none);

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

  char kind[160];
  snprintf(kind, sizeof kind, "{\"type\":\"delegate\",\"validator\":\"%s\",\"amount\":\"3000\"}", validator);
  batara_bytes *tx = NULL;
  uint8_t tx_hash[32];
  CHECK(batara_tx_sign_json(bob, "batara-dev", 0, kind, "1", &tx, tx_hash));
  CHECK(batara_node_submit(node, batara_bytes_data(tx), batara_bytes_len(tx), NULL));
  batara_bytes_free(tx);
  CHECK(batara_node_wait_tx(node, tx_hash, 30000));

  /* Governance through the JSON kinds: bob proposes (10 coins) and votes with his delegation;
   * then the dev chain skips to the end of the vote and mines the block that ends it. */
  const char *propose =
      "{\"type\":\"propose\",\"title\":\"from C\",\"content\":{\"kind\":\"text\"},"
      "\"deposit\":\"10000000000000000000\"}";
  CHECK(batara_tx_sign_json(bob, "batara-dev", 1, propose, "1", &tx, tx_hash));
  CHECK(batara_node_submit(node, batara_bytes_data(tx), batara_bytes_len(tx), NULL));
  batara_bytes_free(tx);
  CHECK(batara_node_wait_tx(node, tx_hash, 30000));
  const char *vote =
      "{\"type\":\"vote\",\"proposal\":\"1\",\"options\":[{\"option\":\"yes\",\"weight_ppm\":1000000}]}";
  CHECK(batara_tx_sign_json(bob, "batara-dev", 2, vote, "1", &tx, tx_hash));
  CHECK(batara_node_submit(node, batara_bytes_data(tx), batara_bytes_len(tx), NULL));
  batara_bytes_free(tx);
  CHECK(batara_node_wait_tx(node, tx_hash, 30000));
  CHECK(batara_node_proposal_json(node, 1, &out));
  print_json("proposal", out);
  CHECK(batara_node_votes_json(node, 1, NULL, 10, &out));
  print_json("votes", out);
  CHECK(batara_node_gov_params_json(node, &out));
  print_json("gov_params", out);
  CHECK(batara_node_skip_to_voting_end(node, 1));
  CHECK(batara_node_mine(node, 1));
  CHECK(batara_node_proposals_json(node, "rejected", 0, 10, &out));
  print_json("rejected", out);
  int no_proposal = batara_node_proposal_json(node, 99, &out);
  int bad_status = batara_node_proposals_json(node, "open", 0, 10, &out);
  int closed = batara_node_skip_to_voting_end(node, 1);
  printf("gov_codes %d %d %d\n", no_proposal, bad_status, closed);
  CHECK(batara_node_wait_tx(node, tx_hash, 30000));
  CHECK(batara_node_delegations_json(node, bob_addr, &out));
  print_json("delegations", out);
  CHECK(batara_node_delegators_json(node, validator, NULL, 1, &out));
  print_json("delegators", out);
  CHECK(batara_node_rewards_json(node, bob_addr, &out));
  print_json("rewards", out);
  CHECK(batara_node_community_pool_json(node, &out));
  print_json("pool", out);

  int not_found = batara_node_receipts_json(node, 99, &out);
  int bad_limit = batara_node_account_page_json(node, NULL, 0, &out);
  int bad_after = batara_node_account_page_json(node, "bat1nope", 5, &out);
  int null_out = batara_node_block_json(node, 0, NULL);
  int no_validator = batara_node_delegators_json(node, bob_addr, NULL, 5, &out);
  int bad_delegator = batara_node_delegations_json(node, "bat1nope", &out);
  printf("codes %d %d %d %d %d %d\n", not_found, bad_limit, bad_after, null_out, no_validator,
         bad_delegator);

  batara_keypair_free(alice);
  batara_keypair_free(bob);
  CHECK(batara_node_stop(node));
  batara_node_free(node);
  return 0;
}
