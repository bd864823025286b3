/* Starts a node from a home directory (argv[1]), prints its chain id and height, makes a
 * transfer, a block and a backup (its JSON, one line), stops it.
 * With a missing home it must fail with BATARA_RESULT_CONFIG and a message. */
#include <stdio.h>

#include "batara.h"

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  batara_node *node = NULL;
  batara_result rc = batara_node_start_home(argv[1], &node);
  if (rc != BATARA_RESULT_OK) {
    printf("error %d: %s\n", (int)rc, batara_last_error_message());
    return 1;
  }
  char chain[64];
  uint64_t height = 99;
  if (batara_node_chain_id(node, chain, sizeof chain, NULL) != BATARA_RESULT_OK ||
      batara_node_height(node, &height) != BATARA_RESULT_OK) {
    return 3;
  }
  printf("chain %s height %llu\n", chain, (unsigned long long)height);
  /* A transfer without a fee pays the node's minimum; one below it is rejected. */
  batara_keypair *alice = NULL;
  if (batara_dev_account(0, &alice) != BATARA_RESULT_OK) return 4;
  char to[64];
  if (batara_keypair_address(alice, to, sizeof to, NULL) != BATARA_RESULT_OK) return 5;
  batara_result t_default = batara_node_transfer(node, alice, to, "1", NULL, false, NULL);
  batara_result t_cheap = batara_node_transfer(node, alice, to, "1", "1", false, NULL);
  printf("transfer %d %d\n", (int)t_default, (int)t_cheap);
  batara_keypair_free(alice);
  /* A dev control: a block on a dev chain, BATARA_RESULT_NOT_DEV on any other. */
  rc = batara_node_mine(node, 1);
  printf("mine %d %s\n", (int)rc, rc == BATARA_RESULT_OK ? "ok" : batara_last_error_message());
  /* A backup into <home>/backup while the node runs; the same directory again is refused, and
   * NULL (the node's backup_dir, unset here) too. */
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/backup", argv[1]);
  batara_bytes *json = NULL;
  rc = batara_node_backup_json(node, dir, &json);
  if (rc != BATARA_RESULT_OK) {
    printf("backup error %d: %s\n", (int)rc, batara_last_error_message());
    return 6;
  }
  printf("backup %.*s\n", (int)batara_bytes_len(json), (const char *)batara_bytes_data(json));
  batara_bytes_free(json);
  rc = batara_node_backup_json(node, dir, &json);
  printf("backup again %d\n", (int)rc);
  rc = batara_node_backup_json(node, NULL, &json);
  printf("backup to backup_dir %d %s\n", (int)rc, batara_last_error_message());
  /* Evidence with signatures that do not verify: refused, naming why (or, on a dev chain,
   * that the dev engine takes none). */
  char ev[1024];
  snprintf(ev, sizeof ev,
           "{\"vote_a\":{\"kind\":\"prevote\",\"height\":\"1\",\"round\":0,\"block_hash\":\"0x%064d\","
           "\"validator\":\"%s\",\"signature\":\"0x%0128d\"},"
           "\"vote_b\":{\"kind\":\"prevote\",\"height\":\"1\",\"round\":0,\"block_hash\":\"0x%064d\","
           "\"validator\":\"%s\",\"signature\":\"0x%0128d\"}}",
           1, to, 0, 2, to, 0);
  uint8_t hash[32];
  rc = batara_node_submit_evidence_json(node, ev, hash);
  printf("evidence %d %s\n", (int)rc, batara_last_error_message());
  batara_node_free(node);
  return 0;
}
