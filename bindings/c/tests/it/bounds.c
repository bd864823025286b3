/* Out-of-range inputs from C are results, never an abort (the header's promise): fixed cases
 * first ("case NAME CODE" lines), then a small fuzz over the numeric entry points with a fixed
 * seed ("fuzz N CODES": how many calls were made and which result codes they gave). The Rust
 * test checks each code. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "batara.h"

static uint64_t state = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) { /* xorshift64* */
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545f4914f6cdd1dull;
}

int main(void) {
  batara_node *node = NULL;
  batara_dev_options opts = batara_dev_options_default();
  opts.accounts = UINT32_MAX;
  printf("case accounts_max %d\n", batara_node_start_dev(&opts, &node));
  opts.accounts = 10001;
  printf("case accounts_10001 %d\n", batara_node_start_dev(&opts, &node));
  opts = batara_dev_options_default();
  opts.mode = 7;
  printf("case bad_mode %d\n", batara_node_start_dev(&opts, &node));

  opts = batara_dev_options_default();
  opts.accounts = 2;
  opts.mode = BATARA_DEV_MODE_MANUAL;
  int rc = batara_node_start_dev(&opts, &node);
  if (rc != BATARA_RESULT_OK) {
    fprintf(stderr, "start failed (%d): %s\n", rc, batara_last_error_message());
    return 1;
  }
  printf("case mine_0 %d\n", batara_node_mine(node, 0));
  printf("case mine_max %d\n", batara_node_mine(node, UINT32_MAX));
  printf("case mine_10001 %d\n", batara_node_mine(node, 10001));
  printf("case mine_2 %d\n", batara_node_mine(node, 2));
  uint8_t unknown[32] = {1};
  printf("case wait_forever_unknown %d\n", batara_node_wait_tx(node, unknown, UINT64_MAX));
  batara_bytes *out = NULL;
  printf("case block_far %d\n", batara_node_block_json(node, UINT64_MAX - 1, &out));
  printf("case page_max %d\n", batara_node_account_page_json(node, NULL, UINT32_MAX, &out));

  /* Fuzz: every call must return one of the documented results. */
  int seen[BATARA_RESULT_PANIC + 2] = {0};
  int calls = 0;
  for (int i = 0; i < 300; i++) {
    uint64_t r = next();
    int code;
    switch (i % 5) {
      case 0: { /* accounts above the cap: refused before anything starts */
        batara_dev_options o = batara_dev_options_default();
        o.accounts = 10001 + (uint32_t)(r % (UINT32_MAX - 10001u));
        batara_node *n = NULL;
        code = batara_node_start_dev(&o, &n);
        if (code == BATARA_RESULT_OK) batara_node_free(n);
        break;
      }
      case 1: /* block counts: mostly out of range, sometimes a few blocks */
        code = batara_node_mine(node, (r & 1) ? (uint32_t)(r >> 1) : (uint32_t)(r % 3));
        break;
      case 2:
        code = batara_node_block_json(node, r % 4 ? r : r % 8, &out);
        if (code == BATARA_RESULT_OK) batara_bytes_free(out);
        break;
      case 3:
        code = batara_node_account_page_json(node, NULL, (uint32_t)r, &out);
        if (code == BATARA_RESULT_OK) batara_bytes_free(out);
        break;
      default: {
        batara_keypair *k = NULL;
        code = batara_dev_account((uint32_t)r, &k);
        if (code == BATARA_RESULT_OK) batara_keypair_free(k);
        break;
      }
    }
    calls++;
    seen[(code >= 0 && code <= BATARA_RESULT_PANIC) ? code : BATARA_RESULT_PANIC + 1]++;
  }
  printf("fuzz %d", calls);
  for (int c = 0; c <= BATARA_RESULT_PANIC + 1; c++)
    if (seen[c]) printf(" %d:%d", c, seen[c]);
  printf("\n");
  batara_node_free(node);
  return 0;
}
