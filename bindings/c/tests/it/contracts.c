/* Contracts from C: uploads the module at argv[1] (the example counter, compiled by the Rust
 * test), instantiates it (code hash argv[2], so its address is argv[3]), calls `increment`
 * twice with transactions signed from JSON kinds, and reads back. Prints "estimate", "receipts",
 * "query", "contract", "storage", "code", "trace" JSON lines for the Rust test, then
 * "codes a b c d". */
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

static void print_json(const char *label, batara_bytes *b) {
  printf("%s %.*s\n", label, (int)batara_bytes_len(b), (const char *)batara_bytes_data(b));
  batara_bytes_free(b);
}

/* The hash of the last transaction `send` sent, as 0x-hex. */
static char last_hash[67];

/* Signs `kind` with the next nonce, submits it and waits for its block. */
static void send(batara_node *node, batara_keypair *key, const char *chain, uint64_t nonce,
                 const char *kind) {
  batara_bytes *tx = NULL;
  uint8_t hash[32];
  CHECK(batara_tx_sign_json(key, chain, nonce, kind, "0", &tx, hash));
  CHECK(batara_node_submit(node, batara_bytes_data(tx), batara_bytes_len(tx), hash));
  batara_bytes_free(tx);
  CHECK(batara_node_wait_tx(node, hash, 10000));
  sprintf(last_hash, "0x");
  for (int i = 0; i < 32; i++) sprintf(last_hash + 2 + 2 * i, "%02x", hash[i]);
}

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  FILE *f = fopen(argv[1], "rb");
  if (!f) return 2;
  static unsigned char code[65536];
  size_t len = fread(code, 1, sizeof code, f);
  fclose(f);

  batara_dev_options opts = batara_dev_options_default();
  opts.accounts = 1;
  batara_node *node = NULL;
  CHECK(batara_node_start_dev(&opts, &node));
  batara_keypair *alice = NULL;
  CHECK(batara_dev_account(0, &alice));
  char alice_addr[64], chain[80];
  CHECK(batara_keypair_address(alice, alice_addr, sizeof alice_addr, NULL));
  CHECK(batara_node_chain_id(node, chain, sizeof chain, NULL));

  char *kind = malloc(2 * len + 256);
  int n = sprintf(kind, "{\"type\":\"upload\",\"code\":\"0x");
  for (size_t i = 0; i < len; i++) n += sprintf(kind + n, "%02x", code[i]);
  sprintf(kind + n, "\",\"gas_limit\":\"5000000\",\"gas_price\":\"0\"}");
  send(node, alice, chain, 0, kind);

  sprintf(kind, "{\"type\":\"instantiate\",\"code_hash\":\"%s\",\"args\":\"0x\",\"salt\":\"0x\","
                "\"value\":\"0\",\"gas_limit\":\"5000000\",\"gas_price\":\"0\"}", argv[2]);
  send(node, alice, chain, 1, kind);

  sprintf(kind, "{\"type\":\"call\",\"contract\":\"%s\",\"method\":\"increment\",\"args\":\"0x\","
                "\"value\":\"0\",\"gas_limit\":\"1\",\"gas_price\":\"0\"}", argv[3]);
  batara_bytes *out = NULL;
  CHECK(batara_node_estimate_gas_json(node, alice_addr, kind, &out));
  print_json("estimate", out);
  sprintf(kind, "{\"type\":\"call\",\"contract\":\"%s\",\"method\":\"increment\",\"args\":\"0x\","
                "\"value\":\"0\",\"gas_limit\":\"1000000\",\"gas_price\":\"0\"}", argv[3]);
  send(node, alice, chain, 2, kind);
  send(node, alice, chain, 3, kind);
  CHECK(batara_node_receipts_json(node, BATARA_LATEST, &out));
  print_json("receipts", out);

  CHECK(batara_node_query_json(node, argv[3], "get", NULL, 0, 0, &out));
  print_json("query", out);
  CHECK(batara_node_contract_json(node, argv[3], BATARA_LATEST, &out));
  print_json("contract", out);
  CHECK(batara_node_storage_json(node, argv[3], (const uint8_t *)"count", 5, BATARA_LATEST, true, &out));
  print_json("storage", out);
  CHECK(batara_node_code_json(node, argv[2], &out));
  print_json("code", out);
  CHECK(batara_node_trace_json(node, last_hash, &out));
  print_json("trace", out);

  int not_found = batara_node_contract_json(node, alice_addr, BATARA_LATEST, &out);
  int null_arg = batara_node_storage_json(node, NULL, NULL, 0, BATARA_LATEST, false, &out);
  int bad_kind = batara_node_estimate_gas_json(node, alice_addr, "{\"type\":\"nope\"}", &out);
  int no_trace = batara_node_trace_json(
      node, "0x0000000000000000000000000000000000000000000000000000000000000000", &out);
  printf("codes %d %d %d %d\n", not_found, null_arg, bad_kind, no_trace);

  free(kind);
  batara_keypair_free(alice);
  CHECK(batara_node_stop(node));
  batara_node_free(node);
  return 0;
}
